// Reads and validates a JSON body against a zod schema, as a GatewayError on failure.
import type { z } from "zod";
import type { GatewayContext } from "../context.ts";
import { readJsonBodyText } from "./body.ts";
import { rememberBodyText } from "./body-text.ts";
import { badRequest } from "./errors.ts";

export async function parseJsonBody<T extends z.ZodType>(c: GatewayContext, schema: T): Promise<z.output<T>> {
  const { value, text } = await readJsonBodyText(c.req.raw, c.get("config").maxBodyBytes);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.join(".") || undefined;
    throw badRequest(param ? `Invalid \`${param}\`: ${issue?.message}` : `Invalid request: ${issue?.message}`, param);
  }
  // Its text stays beside it: a body forwarded as sent goes up as these bytes, only what changed rewritten.
  rememberBodyText(parsed.data, text);
  return parsed.data;
}
