// The gateway's `Mcp-Session-Id` carries the session itself, so no isolate
// holds it and any isolate can serve the next request: the caller it belongs
// to, the protocol version agreed, and each upstream server's own session id,
// sealed (AES-GCM under a key derived from the admin key) so the client can
// neither read nor alter them. Rotating the admin key ends every session.
import { IsolateCache } from "../isolate-cache.ts";
import type { UpstreamSession } from "./upstream.ts";

export interface GatewaySession {
  /** `type:id` of the caller that started it; another caller cannot use it. */
  caller: string;
  /** The route it was started on: `*` for `/mcp`, a server's name for `/mcp/{server}`. */
  scope: string;
  protocolVersion: string;
  /** The upstream servers that took part when it started, by name. */
  upstream: Record<string, UpstreamSession>;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const SESSION_LIFETIME_MS = 24 * 60 * 60 * 1000;
const PREFIX = "mcp1.";
const text = new TextEncoder();
const keys = new IsolateCache<Promise<CryptoKey>>(4, Number.POSITIVE_INFINITY);

function sessionKey(adminKey: string): Promise<CryptoKey> {
  let key = keys.get(adminKey);
  if (!key) {
    key = (async () => {
      const hmac = await crypto.subtle.importKey("raw", text.encode(adminKey), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
      ]);
      const raw = await crypto.subtle.sign("HMAC", hmac, text.encode("sluice mcp session v1"));
      return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    })();
    keys.set(adminKey, key);
  }
  return key;
}

const toBase64Url = (bytes: Uint8Array) => {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
};
const fromBase64Url = (value: string) =>
  Uint8Array.from(atob(value.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

export async function sealSession(
  adminKey: string,
  session: Omit<GatewaySession, "expiresAt">,
  now = Date.now(),
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = text.encode(JSON.stringify({ ...session, expiresAt: now + SESSION_LIFETIME_MS }));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await sessionKey(adminKey), plain));
  const out = new Uint8Array(12 + sealed.byteLength);
  out.set(iv);
  out.set(sealed, 12);
  return PREFIX + toBase64Url(out);
}

/** The session a header stands for; undefined when it is not one this gateway sealed, or has expired. */
export async function openSession(adminKey: string, header: string, now = Date.now()): Promise<GatewaySession | undefined> {
  if (!header.startsWith(PREFIX) || header.length > 16_384) return undefined;
  try {
    const bytes = fromBase64Url(header.slice(PREFIX.length));
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, 12) },
      await sessionKey(adminKey),
      bytes.slice(12),
    );
    const session = JSON.parse(new TextDecoder().decode(plain)) as GatewaySession;
    return session.expiresAt > now ? session : undefined;
  } catch {
    return undefined;
  }
}
