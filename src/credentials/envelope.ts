// Provider keys at rest: each is sealed under its own random data key
// (AES-256-GCM), and the data key under the key-encryption key (KEK) from a
// Worker secret. Rotating the KEK rewraps data keys; ciphertexts stay put.
// Each ciphertext is bound to its row (additional data), so one row's sealed
// key cannot be copied into another's.
import type { EncryptionKey } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";

export interface Sealed {
  ciphertext: string;
  iv: string;
  /** The data key: 12 bytes of IV, then its AES-GCM ciphertext under the KEK. */
  wrappedKey: string;
  kekVersion: number;
}

export interface Keyring {
  current?: EncryptionKey;
  all: EncryptionKey[];
}

const text = new TextEncoder();

const toBase64 = (bytes: ArrayBuffer | Uint8Array) => {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary);
};

const fromBase64 = (value: string) =>
  Uint8Array.from(atob(value.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

/** By key version: the current key and the few older ones still named in rows. */
export const kekCache = new IsolateCache<Promise<CryptoKey>>(16, Number.POSITIVE_INFINITY);

function importKek(key: EncryptionKey): Promise<CryptoKey> {
  const cacheKey = `${key.version}:${key.secret}`;
  let imported = kekCache.get(cacheKey);
  if (!imported) {
    imported = crypto.subtle.importKey("raw", fromBase64(key.secret), "AES-GCM", false, ["encrypt", "decrypt"]);
    kekCache.set(cacheKey, imported);
  }
  return imported;
}

const noKey = () =>
  new GatewayError(503, "unavailable", "Stored provider keys need ENCRYPTION_KEY, which is not set.", {
    code: "encryption_unconfigured",
  });

function kekOf(keyring: Keyring, version: number): EncryptionKey {
  const key = keyring.all.find((k) => k.version === version);
  if (!key) throw new Error(`no key-encryption key of version ${version} is configured`);
  return key;
}

async function wrap(dataKey: Uint8Array, kek: EncryptionKey): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: text.encode(`kek:v${kek.version}`) },
    await importKek(kek),
    dataKey,
  );
  const out = new Uint8Array(12 + wrapped.byteLength);
  out.set(iv);
  out.set(new Uint8Array(wrapped), 12);
  return toBase64(out);
}

async function unwrap(sealed: Sealed, keyring: Keyring): Promise<Uint8Array> {
  const kek = kekOf(keyring, sealed.kekVersion);
  const bytes = fromBase64(sealed.wrappedKey);
  const dataKey = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: text.encode(`kek:v${kek.version}`) },
    await importKek(kek),
    bytes.slice(12),
  );
  return new Uint8Array(dataKey);
}

/** Seals a secret for one row; `context` names the row and must be given again to open it. */
export async function seal(secret: string, context: string, keyring: Keyring): Promise<Sealed> {
  if (!keyring.current) throw noKey();
  const dataKey = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await crypto.subtle.importKey("raw", dataKey, "AES-GCM", false, ["encrypt"]);
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: text.encode(context) },
    key,
    text.encode(secret),
  );
  return {
    ciphertext: toBase64(ciphertext),
    iv: toBase64(iv),
    wrappedKey: await wrap(dataKey, keyring.current),
    kekVersion: keyring.current.version,
  };
}

export async function open(sealed: Sealed, context: string, keyring: Keyring): Promise<string> {
  if (keyring.all.length === 0) throw noKey();
  const key = await crypto.subtle.importKey("raw", await unwrap(sealed, keyring), "AES-GCM", false, ["decrypt"]);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(sealed.iv), additionalData: text.encode(context) },
    key,
    fromBase64(sealed.ciphertext),
  );
  return new TextDecoder().decode(plain);
}

/** The same sealed secret with its data key wrapped under the current KEK. */
export async function rewrap(sealed: Sealed, keyring: Keyring): Promise<Sealed> {
  if (!keyring.current) throw noKey();
  if (sealed.kekVersion === keyring.current.version) return sealed;
  return {
    ...sealed,
    wrappedKey: await wrap(await unwrap(sealed, keyring), keyring.current),
    kekVersion: keyring.current.version,
  };
}
