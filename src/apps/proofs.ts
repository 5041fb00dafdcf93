// Proofs that a request comes from the app itself, not a script that copied
// its publishable key: a Cloudflare Turnstile token (web), checked with
// Turnstile's siteverify, or a Firebase App Check token (iOS through App
// Attest or DeviceCheck, Android through Play Integrity, web through
// reCAPTCHA), a JWT checked against Firebase's public keys. Each is a
// verifier behind one interface; another proof is one more entry.
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { Config } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";
import { reason } from "../log.ts";
import type { AppProof, CachedApp } from "./registry.ts";

export interface ProofCheck {
  config: Config;
  app: CachedApp;
  token: string;
  /** The client's address, which Turnstile may compare with the one that solved the challenge. */
  clientAddress: string;
}

export interface ProofVerifier {
  /** Resolves when the proof holds; throws a 401 that says why it does not, or a 503 when its verifier cannot be reached. */
  verify(check: ProofCheck): Promise<void>;
}

const refused = (proof: string, why: string) =>
  new GatewayError(401, "authentication", `The ${proof} token was refused: ${why}.`, { code: "proof_refused", param: "proof" });

const TURNSTILE_ERRORS: Record<string, string> = {
  "timeout-or-duplicate": "it has expired or was already used",
  "invalid-input-response": "it is invalid",
  "missing-input-response": "it is empty",
  "invalid-input-secret": "the gateway's Turnstile secret is wrong",
};

const turnstile: ProofVerifier = {
  async verify({ config, app, token, clientAddress }) {
    const { secret, verifyUrl } = config.apps.turnstile;
    if (!secret) {
      throw new GatewayError(503, "unavailable", "Turnstile is not configured on this gateway (TURNSTILE_SECRET_KEY).", {
        code: "proof_unavailable",
      });
    }
    const form = new URLSearchParams({ secret, response: token });
    if (clientAddress !== "unknown") form.set("remoteip", clientAddress);
    let answer: { success?: boolean; hostname?: string; "error-codes"?: string[] };
    try {
      const response = await fetch(verifyUrl, { method: "POST", body: form, signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`siteverify answered ${response.status}`);
      answer = await response.json();
    } catch (error) {
      console.warn(`sluice: apps: Turnstile siteverify failed (${reason(error)})`);
      throw new GatewayError(503, "unavailable", "Turnstile could not be reached to check the token; try again shortly.", {
        code: "proof_unavailable",
        headers: { "retry-after": "2" },
      });
    }
    if (!answer.success) {
      const code = answer["error-codes"]?.[0] ?? "invalid-input-response";
      throw refused("Turnstile", TURNSTILE_ERRORS[code] ?? `Turnstile says ${code}`);
    }
    const hostnames = app.origins.map(hostnameOf);
    if (!answer.hostname || !hostnames.includes(answer.hostname)) {
      throw refused("Turnstile", "it was solved on a page this app does not list among its origins");
    }
  },
};

function hostnameOf(origin: string): string | undefined {
  try {
    return new URL(origin).hostname;
  } catch {
    return undefined;
  }
}

const keySets = new IsolateCache<JWTVerifyGetKey>(4, Number.POSITIVE_INFINITY);

function appCheckKeys(url: string): JWTVerifyGetKey {
  let set = keySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 6 * 3_600_000 });
    keySets.set(url, set);
  }
  return set;
}

function appCheckRefusal(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof errors.JWTExpired) return refused("App Check", "it has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return refused("App Check", "it is for another Firebase project");
    if (error.claim === "iss") return refused("App Check", "it has the wrong issuer");
    return refused("App Check", `its \`${error.claim}\` claim is invalid`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return refused("App Check", "its signature is invalid");
  if (error instanceof errors.JWKSNoMatchingKey) return refused("App Check", "it is signed with an unknown key");
  if (error instanceof errors.JOSEAlgNotAllowed) return refused("App Check", "its algorithm is not allowed");
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new GatewayError(503, "unavailable", "Firebase App Check's keys could not be fetched; try again shortly.", {
      code: "proof_unavailable",
    });
  }
  return refused("App Check", "it is malformed");
}

const appCheck: ProofVerifier = {
  async verify({ config, app, token }) {
    const project = app.appCheck.project;
    if (!project) throw refused("App Check", "this app names no Firebase project");
    try {
      const { payload } = await jwtVerify(token, appCheckKeys(config.apps.appCheck.jwksUrl), {
        issuer: `${config.apps.appCheck.issuer}/${project}`,
        audience: `projects/${project}`,
        algorithms: ["RS256"],
        requiredClaims: ["exp", "sub"],
        clockTolerance: 30,
      });
      if (!app.appCheck.appIds.includes(String(payload.sub))) {
        throw refused("App Check", "it was issued to a Firebase app this app does not list");
      }
    } catch (error) {
      throw appCheckRefusal(error);
    }
  },
};

export const PROOF_VERIFIERS: Record<AppProof, ProofVerifier> = { turnstile, app_check: appCheck };

/** Checks the proof the exchange carries against what the app requires; none required, none checked. */
export async function checkProof(
  check: Omit<ProofCheck, "token">,
  proof: { type: AppProof; token: string } | undefined,
): Promise<void> {
  const required = check.app.proofs;
  if (required.length === 0) return;
  const names = required.map((p) => `\`${p}\``).join(" or ");
  if (!proof) {
    throw new GatewayError(401, "authentication", `This app requires a proof of the app in \`proof\`: ${names}.`, {
      code: "proof_required",
      param: "proof",
    });
  }
  if (!required.includes(proof.type)) {
    throw new GatewayError(401, "authentication", `This app does not take a \`${proof.type}\` proof: ${names}.`, {
      code: "proof_required",
      param: "proof.type",
    });
  }
  await PROOF_VERIFIERS[proof.type].verify({ ...check, token: proof.token });
}
