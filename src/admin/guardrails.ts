// Guardrail policies through the admin API. Every change drops this isolate's
// catalog; other isolates re-read it within CATALOG_REFRESH.
import { asc, eq } from "drizzle-orm";
import { guardrails } from "../db/schema.ts";
import type { CreateGuardrailInput, UpdateGuardrailInput } from "../guardrails/definitions.ts";
import { GatewayError } from "../http/errors.ts";
import { forgetCatalog } from "../routing/catalog.ts";
import type { Services } from "../services.ts";

type GuardrailRow = typeof guardrails.$inferSelect;

export function guardrailView(row: GuardrailRow) {
  return {
    id: row.id,
    name: row.name,
    phase: row.phase,
    mode: row.mode,
    kinds: row.kinds,
    options: row.options,
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const notFound = (id: string) => new GatewayError(404, "not_found", `No guardrail \`${id}\`.`, { code: "guardrail_not_found" });

export async function listGuardrails(services: Services) {
  return (await services.db.select().from(guardrails).orderBy(asc(guardrails.id))).map(guardrailView);
}

export async function getGuardrail(services: Services, id: string) {
  const [row] = await services.db.select().from(guardrails).where(eq(guardrails.id, id));
  if (!row) throw notFound(id);
  return guardrailView(row);
}

export async function createGuardrail(services: Services, input: CreateGuardrailInput) {
  const [row] = await services.db
    .insert(guardrails)
    .values({
      id: input.id,
      name: input.name,
      phase: input.phase,
      mode: input.mode,
      kinds: input.kinds ?? [],
      options: input.options ?? {},
      enabled: input.enabled ?? true,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new GatewayError(409, "invalid_request", `Guardrail \`${input.id}\` exists.`, { code: "guardrail_exists" });
  forgetCatalog(services);
  return guardrailView(row);
}

export async function updateGuardrail(services: Services, id: string, input: UpdateGuardrailInput) {
  const [row] = await services.db
    .update(guardrails)
    .set({ ...input, updatedAt: new Date() })
    .where(eq(guardrails.id, id))
    .returning();
  if (!row) throw notFound(id);
  forgetCatalog(services);
  return guardrailView(row);
}

/** Deletes a policy; settings that still name it name nothing, and it stops applying. */
export async function deleteGuardrail(services: Services, id: string) {
  const [row] = await services.db.delete(guardrails).where(eq(guardrails.id, id)).returning();
  if (!row) throw notFound(id);
  forgetCatalog(services);
  return { id, deleted: true };
}
