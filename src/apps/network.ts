// The client's network, as the guest limits and the ledger see it: an IPv4
// address, or an IPv6 /64 (what one subscriber is usually handed, so a
// client cannot walk through its own prefix to get fresh limits), hashed
// with a salt so the raw address is kept nowhere.
import { IsolateCache } from "../isolate-cache.ts";

/** The address Cloudflare saw; tests and local runs without one count as one network. */
export function clientAddress(request: Request): string {
  return request.headers.get("cf-connecting-ip")?.trim() || "unknown";
}

/** An IPv6 address cut to its /64; anything else as it is. */
export function networkOf(address: string): string {
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

const saltKeys = new IsolateCache<Promise<CryptoKey>>(4, Number.POSITIVE_INFINITY);

function saltKey(salt: string): Promise<CryptoKey> {
  let key = saltKeys.get(salt);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(salt), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    saltKeys.set(salt, key);
  }
  return key;
}

/** A salted hash of the request's network: 24 hex characters, stable for a salt. */
export async function networkHash(request: Request, salt: string): Promise<string> {
  const network = networkOf(clientAddress(request));
  const mac = await crypto.subtle.sign("HMAC", await saltKey(salt), new TextEncoder().encode(network));
  return [...new Uint8Array(mac).slice(0, 12)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
