// The small encodings the sign-in and OAuth flows share: random values, and SHA-256 as base64url (PKCE's S256).
const encoder = new TextEncoder();

export const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

export const randomText = (size: number) => base64url(crypto.getRandomValues(new Uint8Array(size)));

export const sha256 = async (text: string) =>
  base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
