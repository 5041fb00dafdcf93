// Runs Sluice's Lua scripts by SHA, falling back to sending the script when
// Redis has not seen it. The SHA is computed once per isolate, so a warm call
// is issued synchronously and joins the request's auto-pipelined round trip.
import type { Redis } from "@upstash/redis/cloudflare";

const shas = new Map<string, string>();

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Computes the SHAs of scripts not seen yet; a no-op once warm. */
export async function prepareScripts(scripts: string[]): Promise<void> {
  for (const script of scripts) if (!shas.has(script)) shas.set(script, await sha1(script));
}

export function runScript<T>(redis: Redis, script: string, keys: string[], args: (string | number)[]): Promise<T> {
  const sha = shas.get(script);
  const send = () => redis.eval<(string | number)[], T>(script, keys, args);
  if (!sha) return send();
  return redis.evalsha<(string | number)[], T>(sha, keys, args).catch((error: unknown) => {
    if (error instanceof Error && error.message.toLowerCase().includes("noscript")) return send();
    throw error;
  });
}
