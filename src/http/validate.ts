// Reads and validates a JSON body against a zod schema, as a GatewayError on failure.
import type { z } from "zod";
import type { GatewayContext } from "../context.ts";
import { readJsonBody } from "./body.ts";
import { badRequest } from "./errors.ts";

export async function parseJsonBody<T extends z.ZodType>(c: GatewayContext, schema: T): Promise<z.output<T>> {
  const raw = await readJsonBody(c.req.raw, c.get("config").maxBodyBytes);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.join(".") || undefined;
    throw badRequest(param ? `Invalid \`${param}\`: ${issue?.message}` : `Invalid request: ${issue?.message}`, param);
  }
  return parsed.data;
}
