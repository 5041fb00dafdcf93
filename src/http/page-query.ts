// Query parameters, validated with @hono/zod-validator: admin listings' paging, and any route's own schema.
import { zValidator } from "@hono/zod-validator";
import * as z from "../zod.ts";
import { badRequest, firstIssue, type SchemaIssues } from "./errors.ts";

export const pageSchema = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000)), 100),
  offset: z._default(z.coerce.number().check(z.int(), z.gte(0)), 0),
  user_id: z.optional(z.string().check(z.minLength(1))),
  team_id: z.optional(z.string().check(z.minLength(1))),
});

/** The first problem of a failed parse as a 400 naming the parameter, by the caller's name for it where that differs. */
function refusal(error: SchemaIssues, names: Record<string, string> = {}) {
  const { param: path, message } = firstIssue(error);
  const param = path === undefined ? undefined : (names[path] ?? path);
  return badRequest(`Invalid query parameter \`${param}\`: ${message}`, param);
}

/** Query parameters checked against a schema; the first bad one is a 400 that names it. */
export const validQuery = <T extends z.ZodMiniType>(schema: T) =>
  zValidator("query", schema, (result) => {
    if (!result.success) throw refusal(result.error);
  });

/** Parameters under other names (another API's), mapped onto a schema's: parsed, or a 400 naming the caller's parameter. */
export function parseQuery<T extends z.ZodMiniType>(
  schema: T,
  input: Record<string, unknown>,
  names: Record<string, string>,
): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw refusal(parsed.error, names);
  return parsed.data;
}

export const pageQuery = validQuery(pageSchema);
