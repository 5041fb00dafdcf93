// Reads and validates a JSON body against a zod schema, as a GatewayError on failure.
import type { GatewayContext } from "../context.ts";
import type { z } from "../zod.ts";
import { readJsonBodyText } from "./body.ts";
import { bodySourceOf } from "./body-text.ts";
import { badRequest, firstIssue } from "./errors.ts";

/**
 * A cheaper check for the bodies a quick look shows the full schema passes
 * as they are (a conversation of plain text turns, most of a large prompt):
 * `schema` then reads only the rest, and means what the full one would.
 */
export interface QuickSchema<T extends z.ZodMiniType> {
  applies(value: unknown): boolean;
  schema: z.ZodMiniType<z.output<T>>;
}

export async function parseJsonBody<T extends z.ZodMiniType>(
  c: GatewayContext,
  schema: T,
  quick?: QuickSchema<T>,
): Promise<z.output<T>> {
  const { value, text, bytes } = await readJsonBodyText(c.req.raw, c.get("config").maxBodyBytes);
  const parsed = (quick?.applies(value) ? quick.schema : schema).safeParse(value);
  if (!parsed.success) {
    const { param, message } = firstIssue(parsed.error);
    throw badRequest(param ? `Invalid \`${param}\`: ${message}` : `Invalid request: ${message}`, param);
  }
  // Its text stays beside it, for the request: a body forwarded as sent goes up as these bytes, only what changed rewritten.
  c.set("bodySource", bodySourceOf(parsed.data, text, bytes));
  return parsed.data;
}
