// OpenAI's Realtime API: `GET /v1/realtime` upgraded to a WebSocket and
// relayed to the provider (realtime/session.ts), and
// `POST /v1/realtime/client_secrets`, which mints a short-lived secret a
// browser connects with instead of a key: a Sluice token bound to the
// calling key, so the session still runs through Sluice and is metered.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { issueKeyToken } from "../auth/sluice-token.ts";
import type { GatewayEnv } from "../context.ts";
import { modelName } from "../formats/fields.ts";
import { GatewayError } from "../http/errors.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { realtimeSession } from "../realtime/session.ts";
import * as z from "../zod.ts";
import { countsAsRequest, endpoint } from "./endpoint.ts";

export const realtimeRoutes = new Hono<GatewayEnv>();

/** OpenAI's bounds on a client secret's life, and its default. */
const MIN_SECONDS = 10;
const MAX_SECONDS = 7200;
const DEFAULT_SECONDS = 600;

const clientSecretSchema = z.looseObject({
  expires_after: z.optional(
    z.looseObject({
      anchor: z.optional(z.literal("created_at", { message: "must be created_at" })),
      seconds: z
        .number({ message: "must be a number" })
        .check(
          z.int({ message: "must be a whole number" }),
          z.gte(MIN_SECONDS, { message: `must be at least ${MIN_SECONDS}` }),
          z.lte(MAX_SECONDS, { message: `must be at most ${MAX_SECONDS}` }),
        ),
    }),
  ),
  session: z.optional(z.looseObject({ type: z.optional(z.string()), model: z.optional(modelName) })),
});

realtimeRoutes.get(
  "/v1/realtime",
  endpoint({ errors: "openai", gated: true, protocolCredential: true }),
  doc(
    DESCRIBE && {
      summary: "A realtime voice session: a WebSocket relayed to OpenAI's Realtime API, metered from its usage events",
      response: { description: "101 Switching Protocols, then the Realtime API's events both ways" },
    },
  ),
  async (c) => await realtimeSession(c),
);

realtimeRoutes.post(
  "/v1/realtime/client_secrets",
  endpoint({ errors: "openai", gated: false }),
  countsAsRequest,
  doc(
    DESCRIBE && {
      summary: "A short-lived secret for a browser's realtime session, bound to the calling key",
      body: clientSecretSchema,
    },
  ),
  async (c) => {
    const body = await parseJsonBody(c, clientSecretSchema);
    const principal = c.get("principal");
    if (principal.type !== "key" || principal.via !== "key") {
      throw new GatewayError(403, "permission", "Only a virtual key can mint a client secret.", { code: "key_required" });
    }
    const now = Date.now();
    const seconds = body.expires_after?.seconds ?? DEFAULT_SECONDS;
    const expiresAt = Math.min(now + seconds * 1000, principal.expiresAt ?? Number.POSITIVE_INFINITY);
    const value = await issueKeyToken(c.get("config").adminKey, principal.keyId, expiresAt);
    return c.json({
      value,
      expires_at: Math.floor(expiresAt / 1000),
      session: { type: "realtime", ...body.session, model: body.session?.model ?? "gpt-realtime" },
    });
  },
);
