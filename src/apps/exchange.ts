// `POST /auth/attest`: an app's publishable key, and a proof of the app where
// it requires one, exchanged for a guest token of a few minutes, bound to the
// app and a device. The route is public, so it is limited per client network
// and per device before it reads anything, exactly across isolates.
import type { Config } from "../config/index.ts";
import type { GatewayContext } from "../context.ts";
import { withoutControl } from "../formats/fields.ts";
import { GatewayError, unauthorized } from "../http/errors.ts";
import { limiterFor } from "../limits/reservation.ts";
import * as z from "../zod.ts";
import { appDisabled, checkOrigin } from "./guest.ts";
import { issueGuestToken } from "./guest-token.ts";
import { clientAddress, networkHash } from "./network.ts";
import { checkProof } from "./proofs.ts";
import { type CachedApp, findAppByKey } from "./registry.ts";

export const attestSchema = z.strictObject({
  /** The app's publishable key; `Authorization: Bearer pk_…` works as well. */
  publishable_key: z.optional(withoutControl(z.string().check(z.maxLength(200)))),
  /** The device's own id, kept across exchanges so its usage stays together; one is made up when absent. */
  device_id: z.optional(
    z.string().check(z.regex(/^[\w.-]{8,128}$/, { message: "must be 8 to 128 letters, digits, `_`, `-` or `.`" })),
  ),
  /** A native app's iOS bundle id or Android package name; a call without an `Origin` must name one of the app's. */
  bundle_id: z.optional(withoutControl(z.string().check(z.maxLength(255)))),
  /** A proof that the call comes from the app. */
  proof: z.optional(
    z.strictObject({
      type: z.enum(["turnstile", "app_check"], { message: "must be turnstile or app_check" }),
      token: z.string().check(z.minLength(1), z.maxLength(8192)),
    }),
  ),
});
export type AttestInput = z.infer<typeof attestSchema>;

function tooMany(what: string, reset: number): GatewayError {
  const seconds = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
  return new GatewayError(429, "rate_limit", `Too many exchanges from this ${what}; try again in ${seconds}s.`, {
    code: "rate_limit_exceeded",
    headers: { "retry-after": String(seconds) },
  });
}

/** PUBLIC_RATE_LIMIT exchanges a minute per network, and as many per device id, in one pipelined round trip. */
async function limitPublicCalls(c: GatewayContext, network: string, deviceId: string | undefined): Promise<void> {
  const limit = c.get("config").apps.publicRateLimit;
  if (limit === null) return;
  const limiter = limiterFor(c.get("services").redis, "rpm", limit);
  const [byNetwork, byDevice] = await Promise.all([
    limiter.limit(`attest:network:${network}`),
    deviceId === undefined ? undefined : limiter.limit(`attest:device:${deviceId}`),
  ]);
  if (!byNetwork.success) throw tooMany("network", byNetwork.reset);
  if (byDevice && !byDevice.success) throw tooMany("device", byDevice.reset);
}

/** Where the call comes from must be the app's: its web origin, or, without one, a bundle id it lists. */
function checkCaller(app: CachedApp, origin: string | undefined, bundleId: string | undefined): void {
  if (origin !== undefined) {
    checkOrigin(app, origin);
    return;
  }
  const bundles = [...app.iosBundleIds, ...app.androidPackages];
  if (bundles.length === 0) {
    throw new GatewayError(403, "permission", "This app is for browsers: a call without an `Origin` is refused.", {
      code: "origin_not_allowed",
    });
  }
  if (bundleId === undefined || !bundles.includes(bundleId)) {
    throw new GatewayError(
      403,
      "permission",
      "A call without an `Origin` must name one of the app's bundle ids in `bundle_id`.",
      {
        code: "bundle_not_allowed",
        param: "bundle_id",
      },
    );
  }
}

function publishableKeyOf(c: GatewayContext, input: AttestInput): string {
  const bearer = /^Bearer\s+(pk_\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
  const key = input.publishable_key ?? bearer;
  if (!key) throw unauthorized("No publishable key: send `publishable_key`, or `Authorization: Bearer pk_…`.");
  if (!key.startsWith("pk_")) throw unauthorized("Invalid publishable key: it starts with `pk_`.");
  return key;
}

export async function exchange(c: GatewayContext, input: AttestInput) {
  const config: Config = c.get("config");
  const network = await networkHash(c.req.raw, config.apps.ipHashSalt);
  await limitPublicCalls(c, network, input.device_id);
  const app = await findAppByKey(c.get("services").db, publishableKeyOf(c, input));
  if (!app) throw unauthorized("Invalid publishable key.");
  if (app.disabled) throw appDisabled();
  checkCaller(app, c.req.header("origin"), input.bundle_id);
  await checkProof({ config, app, clientAddress: clientAddress(c.req.raw) }, input.proof);

  const deviceId = input.device_id ?? `dev_${crypto.randomUUID().replaceAll("-", "")}`;
  const now = Date.now();
  const expiresAt = now + config.apps.tokenTtlSeconds * 1000;
  return {
    access_token: await issueGuestToken(config.adminKey, { appId: app.id, deviceId }, expiresAt),
    token_type: "Bearer",
    expires_in: Math.floor((expiresAt - now) / 1000),
    expires_at: new Date(expiresAt).toISOString(),
    app_id: app.id,
    device_id: deviceId,
    models: app.models,
  };
}
