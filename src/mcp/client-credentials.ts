// The gateway's own token at a server registered with OAuth client
// credentials: asked for with the client credentials grant (RFC 6749 §4.4,
// the client authenticated with HTTP Basic as §2.3.1 prefers), kept in the
// isolate's token cache (providers/token-cache.ts) until shortly before it
// expires, asked for once however many calls need it at the same time, and
// dropped when the server refuses it.
import { GatewayError } from "../http/errors.ts";
import { type AccessToken, cachedToken, RENEW_BEFORE_MS, reasonCode, tokens } from "../providers/token-cache.ts";

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  audience: string | null;
}

/** The server a token is for, as far as asking for it goes. */
interface TokenServer {
  name: string;
  timeoutMs: number;
  clientCredentials: ClientCredentials;
}

/** A token without `expires_in` is taken to live this long. */
const DEFAULT_LIFETIME_S = 3600;

/** The cache key: everything the token depends on, the secret included, so a changed client gets a new token. */
const keyOf = (server: TokenServer) => {
  const { tokenUrl, clientId, clientSecret, scopes, audience } = server.clientCredentials;
  return JSON.stringify(["mcp_client_credentials", server.name, tokenUrl, clientId, clientSecret, scopes, audience]);
};

const refused = (server: TokenServer, detail: string, cause?: unknown) =>
  new GatewayError(502, "upstream", `MCP server \`${server.name}\` could not be given a token: its token endpoint ${detail}`, {
    code: "mcp_upstream_error",
    cause,
  });

/** RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined. */
const basic = (id: string, secret: string) => {
  const encode = (value: string) => encodeURIComponent(value).replaceAll("%20", "+");
  return `Basic ${btoa(`${encode(id)}:${encode(secret)}`)}`;
};

const errorCodeOf = (body: unknown) => {
  const code = reasonCode((body as { error?: unknown } | null)?.error);
  return code ? ` (${code})` : "";
};

async function requestToken(server: TokenServer): Promise<AccessToken> {
  const client = server.clientCredentials;
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (client.scopes) form.set("scope", client.scopes);
  if (client.audience) form.set("audience", client.audience);
  let response: Response;
  try {
    response = await fetch(client.tokenUrl, {
      method: "POST",
      headers: {
        authorization: basic(client.clientId, client.clientSecret),
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: form.toString(),
      signal: AbortSignal.timeout(server.timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === "TimeoutError";
    throw refused(server, timedOut ? `did not answer within ${server.timeoutMs} ms.` : "cannot be reached.", error);
  }
  const body = (await response.json().catch(() => null)) as { access_token?: unknown; expires_in?: unknown } | null;
  if (!response.ok) throw refused(server, `answered HTTP ${response.status}${errorCodeOf(body)}.`);
  if (typeof body?.access_token !== "string" || body.access_token === "") {
    throw refused(server, "answered without an access token.");
  }
  const lifetimeS = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : DEFAULT_LIFETIME_S;
  const lifetimeMs = lifetimeS * 1000;
  // The cache renews a token five minutes early; one that lives less than twice that is kept for the first half of its life.
  const keptMs = lifetimeMs > 2 * RENEW_BEFORE_MS ? lifetimeMs : RENEW_BEFORE_MS + lifetimeMs / 2;
  return { value: body.access_token, expiresAt: Date.now() + keptMs };
}

/** The gateway's token for the server: this isolate's while it lasts, or one asked for now (once for all who wait). */
export const serviceToken = (server: TokenServer): Promise<string> => cachedToken(keyOf(server), () => requestToken(server));

/** The server refused the token (HTTP 401): it is dropped, unless another call already replaced it. */
export function forgetServiceToken(server: TokenServer, token: string): void {
  const key = keyOf(server);
  if (tokens.get(key)?.value === token) tokens.delete(key);
}
