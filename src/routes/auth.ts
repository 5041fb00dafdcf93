// `POST /auth/token`: a virtual key in, a short-lived Sluice JWT out.
import { Hono } from "hono";
import { issueKeyToken } from "../auth/sluice-token.ts";
import type { GatewayEnv } from "../context.ts";
import { GatewayError } from "../http/errors.ts";
import { doc } from "../openapi/doc.ts";
import { countsAsRequest, endpoint } from "./endpoint.ts";

export const authRoutes = new Hono<GatewayEnv>();

authRoutes.use(endpoint({ errors: "openai", gated: false }));

authRoutes.post("/token", countsAsRequest, doc({ summary: "A virtual key in, a short-lived Sluice token out" }), async (c) => {
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
});
