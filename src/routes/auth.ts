// `POST /auth/token`: a virtual key in, a short-lived Sluice JWT out.
// `POST /auth/attest`: an app's publishable key (and proof) in, a guest token out; public, limited per network.
// `POST /auth/attest/link`: a signed-in user takes their device's guest usage as theirs.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { attestSchema, exchange } from "../apps/exchange.ts";
import { linkGuestUsage, linkSchema } from "../apps/link.ts";
import { issueKeyToken } from "../auth/sluice-token.ts";
import type { GatewayEnv } from "../context.ts";
import { GatewayError } from "../http/errors.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { countsAsRequest, endpoint } from "./endpoint.ts";

export const authRoutes = new Hono<GatewayEnv>();

authRoutes.post(
  "/attest",
  doc(DESCRIBE && { summary: "An app's publishable key and proof in, a short-lived guest token out", body: attestSchema }),
  async (c) => c.json(await exchange(c, await parseJsonBody(c, attestSchema))),
);

authRoutes.post(
  "/attest/link",
  endpoint({ errors: "openai", gated: false }),
  countsAsRequest,
  doc(DESCRIBE && { summary: "A signed-in user takes their device's usage as a guest as theirs", body: linkSchema }),
  async (c) => {
    const { guest_token: guestToken } = await parseJsonBody(c, linkSchema);
    return c.json(await linkGuestUsage(c, c.get("principal"), guestToken));
  },
);

authRoutes.post(
  "/token",
  endpoint({ errors: "openai", gated: false }),
  countsAsRequest,
  doc(DESCRIBE && { summary: "A virtual key in, a short-lived Sluice token out" }),
  async (c) => {
    const principal = c.get("principal");
    if (principal.type !== "key" || principal.via !== "key") {
      throw new GatewayError(403, "permission", "Only a virtual key can be exchanged for a token.", { code: "key_required" });
    }
    const now = Date.now();
    const expiresAt = Math.min(now + c.get("config").tokenTtlSeconds * 1000, principal.expiresAt ?? Number.POSITIVE_INFINITY);
    const token = await issueKeyToken(c.get("config").adminKey, principal.keyId, expiresAt);
    return c.json({
      access_token: token,
      token_type: "Bearer",
      expires_in: Math.floor((expiresAt - now) / 1000),
      expires_at: new Date(expiresAt).toISOString(),
    });
  },
);
