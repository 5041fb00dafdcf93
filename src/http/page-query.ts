// Query parameters, validated with @hono/zod-validator: admin listings' paging, and any route's own schema.
import { zValidator } from "@hono/zod-validator";
import * as z from "zod";
import { badRequest } from "./errors.ts";

export const pageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  user_id: z.string().min(1).optional(),
  team_id: z.string().min(1).optional(),
});

/** Query parameters checked against a schema; the first bad one is a 400 that names it. */
export const validQuery = <T extends z.ZodType>(schema: T) =>
  zValidator("query", schema, (result) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    const param = issue?.path.join(".") || undefined;
    throw badRequest(`Invalid query parameter \`${param}\`: ${issue?.message}`, param);
  });

export const pageQuery = validQuery(pageSchema);
