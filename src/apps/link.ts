// A guest who signs in: their device's usage as a guest, linked to their user.
// The caller proves the device is theirs with its guest token (a fresh one is
// an exchange away, since the device id is the app's to keep).
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import { usageEvents } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import * as z from "../zod.ts";
import { verifyGuestToken } from "./guest-token.ts";

export const linkSchema = z.strictObject({
  /** A guest token of the device whose usage becomes the user's. */
  guest_token: z.string().check(z.minLength(1), z.maxLength(4096)),
});

export async function linkGuestUsage(c: GatewayContext, principal: Principal, guestToken: string) {
  if (principal.type !== "user") {
    throw new GatewayError(403, "permission", "Only a signed-in user (JWT) can take a guest's usage as theirs.", {
      code: "user_required",
    });
  }
  const { appId, deviceId } = await verifyGuestToken(c.get("config").adminKey, guestToken);
  const linked = await c
    .get("services")
    .db.update(usageEvents)
    .set({ userId: principal.userId, teamId: principal.teamId })
    .where(and(eq(usageEvents.appId, appId), eq(usageEvents.deviceId, deviceId), isNull(usageEvents.userId)))
    .returning({
      id: usageEvents.id,
      costUsd: usageEvents.costUsd,
      tokens: sql<number>`${usageEvents.promptTokens} + ${usageEvents.completionTokens}`,
    });
  return {
    app_id: appId,
    device_id: deviceId,
    user_id: principal.userId,
    linked_requests: linked.length,
    linked_tokens: linked.reduce((sum, row) => sum + Number(row.tokens), 0),
    linked_usd: linked.reduce((sum, row) => sum + row.costUsd, 0),
  };
}
