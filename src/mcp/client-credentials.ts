// The gateway's own token at a server registered with OAuth client
// credentials: asked for with the client credentials grant (RFC 6749 §4.4,
// the client authenticated with HTTP Basic as §2.3.1 prefers), kept per
// isolate until shortly before it expires, asked for once however many calls
// need it at the same time, and dropped when the server refuses it.
import { GatewayError } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";

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

const MAX_SERVERS = 256;
/** A token without `expires_in` is kept this long. */
const DEFAULT_LIFETIME_S = 300;
/** Tokens are dropped this long before they expire, so none is sent as it runs out. */
const MARGIN_S = 60;

/** Access tokens (or the request for one under way), by server and client. */
const serviceTokens = new IsolateCache<Promise<string>>(MAX_SERVERS, Number.POSITIVE_INFINITY);

const keyOf = (server: TokenServer) => {
  const { tokenUrl, clientId, clientSecret, scopes, audience } = server.clientCredentials;
  return JSON.stringify([server.name, tokenUrl, clientId, clientSecret, scopes, audience]);
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

/** Only an OAuth error code is repeated to the caller: the body could hold anything. */
const errorCodeOf = (body: unknown) => {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === "string" && /^[a-z_]{1,64}$/.test(error) ? ` (${error})` : "";
};

async function requestToken(server: TokenServer): Promise<{ token: string; lifetimeS: number }> {
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
  return { token: body.access_token, lifetimeS };
}

/** The gateway's token for the server: this isolate's while it lasts, or one asked for now (once for all who wait). */
export function serviceToken(server: TokenServer): Promise<string> {
  const key = keyOf(server);
  const held = serviceTokens.get(key);
  if (held) return held;
  const asked = requestToken(server);
  const token = asked.then(({ token }) => token);
  // Until it is answered, the request itself is shared; then the token is kept for its lifetime.
  serviceTokens.set(key, token, server.timeoutMs);
  asked.then(
    ({ lifetimeS }) => {
      const keepS = lifetimeS > 2 * MARGIN_S ? lifetimeS - MARGIN_S : lifetimeS / 2;
      if (serviceTokens.get(key) === token) serviceTokens.set(key, token, keepS * 1000);
    },
    () => {
      if (serviceTokens.get(key) === token) serviceTokens.delete(key);
    },
  );
  return token;
}

/** The server refused the token (HTTP 401): it is dropped, unless another call already replaced it. */
export async function forgetServiceToken(server: TokenServer, token: string): Promise<void> {
  const key = keyOf(server);
  const held = serviceTokens.get(key);
  if (!held) return;
  const current = await held.catch(() => undefined);
  if (current === token && serviceTokens.get(key) === held) serviceTokens.delete(key);
}
