// Listing parameters for admin routes, validated with @hono/zod-validator.
import { zValidator } from "@hono/zod-validator";
import * as z from "zod";
import { badRequest } from "./errors.ts";

const pageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  user_id: z.string().min(1).optional(),
  team_id: z.string().min(1).optional(),
});

export const pageQuery = zValidator("query", pageSchema, (result) => {
  if (result.success) return;
  const issue = result.error.issues[0];
  const param = issue?.path.join(".") || undefined;
  throw badRequest(`Invalid query parameter \`${param}\`: ${issue?.message}`, param);
});
