// Decides who is calling. For now the admin key is the only credential.
import type { Config } from "../config/index.ts";
import { unauthorized } from "../http/errors.ts";
import { secretsEqual } from "./constant-time.ts";
import { readCredential } from "./credentials.ts";
import type { Principal } from "./principal.ts";

export function authenticate(request: Request, config: Config): Principal {
  const credential = readCredential(request);
  if (credential === undefined) {
    throw unauthorized("No credential: send `Authorization: Bearer <key>`, `x-api-key` or `x-goog-api-key`.");
  }
  if (credential === "") throw unauthorized("Malformed Authorization header: expected `Bearer <key>`.");
  if (secretsEqual(credential, config.adminKey)) return { type: "admin", id: "admin" };
  throw unauthorized("Invalid API key.");
}
