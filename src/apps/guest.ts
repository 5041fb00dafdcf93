// A guest token in, a guest principal out: the app read (cached), the call's
// origin checked against the app's, the device and network it counts under.
import type { Principal } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import { GatewayError, unauthorized } from "../http/errors.ts";
import { verifyGuestToken } from "./guest-token.ts";
import { networkHash } from "./network.ts";
import { type CachedApp, findAppById } from "./registry.ts";

export const appDisabled = () => new GatewayError(403, "permission", "This app is disabled.", { code: "app_disabled" });

/** A browser's call from a page the app does not list is refused: its token was taken elsewhere. */
export function checkOrigin(app: CachedApp, origin: string | undefined): void {
  if (origin === undefined || app.origins.includes(origin)) return;
  throw new GatewayError(403, "permission", `The origin ${JSON.stringify(origin.slice(0, 200))} is not one of this app's.`, {
    code: "origin_not_allowed",
  });
}

export async function guestPrincipal(c: GatewayContext, token: string): Promise<Principal> {
  const config = c.get("config");
  const claims = await verifyGuestToken(config.adminKey, token);
  const app = await findAppById(c.get("services").db, claims.appId);
  if (!app) throw unauthorized("The app this guest token was issued for no longer exists.");
  if (app.disabled) throw appDisabled();
  checkOrigin(app, c.req.header("origin"));
  return {
    type: "guest",
    id: `${app.id}:${claims.deviceId}`,
    appId: app.id,
    deviceId: claims.deviceId,
    ipHash: await networkHash(c.req.raw, config.apps.ipHashSalt),
    userId: null,
    teamId: null,
    models: app.models,
    limits: app.deviceLimits,
    ipLimits: app.ipLimits,
    appLimits: app.appLimits,
    origins: app.origins,
    policy: app.policy,
    loadedAt: app.loadedAt,
  };
}
