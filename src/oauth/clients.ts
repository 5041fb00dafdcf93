// Dynamic client registration (RFC 7591) without a table: the client id is
// the registration itself, sealed (a JWE only this gateway opens, keyed from
// the admin key), so any isolate reads a client's redirect URIs from its id
// and rotating the admin key forgets every client. Clients are public (PKCE,
// no secret); redirect URIs are HTTPS, or HTTP on the loopback interface.
import { seal, unseal } from "../auth/sealed.ts";
import { hasControl } from "../formats/fields.ts";
import * as z from "../zod.ts";
import { invalidClient, invalidClientMetadata } from "./errors.ts";

const CLIENT_PURPOSE = "sluice oauth client v1";
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export const registrationSchema = z.looseObject({
  redirect_uris: z.array(z.string().check(z.maxLength(2000))).check(z.minLength(1), z.maxLength(10)),
  client_name: z.optional(z.string().check(z.maxLength(200))),
  scope: z.optional(z.string().check(z.maxLength(1000))),
});

export interface OAuthClient {
  redirectUris: string[];
  name: string | null;
}

const isLoopback = (url: URL) => url.protocol === "http:" && LOOPBACK.has(url.hostname);

/** A redirect URI a client may register: absolute HTTPS, or HTTP on loopback; no fragment, nothing hidden. */
function checkedRedirectUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidClientMetadata(`\`${uri.slice(0, 100)}\` is not an absolute URL.`, "invalid_redirect_uri");
  }
  if (url.hash || url.username || url.password || hasControl(uri) || !(url.protocol === "https:" || isLoopback(url))) {
    throw invalidClientMetadata(
      "Redirect URIs must be https:// URLs, or http:// on 127.0.0.1, localhost or [::1], without a fragment or credentials.",
      "invalid_redirect_uri",
    );
  }
  return uri;
}

/** Registers a client: its id holds its redirect URIs and name. */
export async function registerClient(
  adminKey: string,
  input: z.infer<typeof registrationSchema>,
): Promise<{ clientId: string; client: OAuthClient }> {
  const client: OAuthClient = { redirectUris: input.redirect_uris.map(checkedRedirectUri), name: input.client_name ?? null };
  // A client id never expires: a client registers once and keeps it.
  const clientId = await seal(adminKey, CLIENT_PURPOSE, { ru: client.redirectUris, cn: client.name });
  return { clientId, client };
}

const clientSchema = z.object({ ru: z.array(z.string()).check(z.minLength(1)), cn: z.nullable(z.string()) });

/** The client an id stands for; `invalid_client` for one this gateway did not issue. */
export async function openClient(adminKey: string, clientId: string): Promise<OAuthClient> {
  try {
    const { ru, cn } = clientSchema.parse(await unseal(adminKey, CLIENT_PURPOSE, clientId, { expiring: false }));
    return { redirectUris: ru, name: cn };
  } catch {
    throw invalidClient("Unknown client_id: register at /oauth/register.");
  }
}

/**
 * Whether a redirect URI is one the client registered: exactly, or for a
 * loopback one on any port, as native apps pick a free port each time (RFC 8252 §7.3).
 */
export function isRegisteredRedirect(client: OAuthClient, uri: string): boolean {
  if (client.redirectUris.includes(uri)) return true;
  let given: URL;
  try {
    given = new URL(uri);
  } catch {
    return false;
  }
  if (!isLoopback(given)) return false;
  return client.redirectUris.some((registered) => {
    const url = new URL(registered);
    return isLoopback(url) && url.hostname === given.hostname && url.pathname === given.pathname && url.search === given.search;
  });
}
