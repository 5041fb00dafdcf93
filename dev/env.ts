// Reading and writing `.dev.vars`, the local env file wrangler loads.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const DEV_VARS_PATH = fileURLToPath(new URL("../.dev.vars", import.meta.url));

/** Parses KEY=value lines; quotes around a value are removed. */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    const [, key = "", raw = ""] = match;
    vars[key] = /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return vars;
}

export function readDevVars(path = DEV_VARS_PATH): Record<string, string> {
  return existsSync(path) ? parseEnvFile(readFileSync(path, "utf8")) : {};
}

/** A value as dotenv reads it back: single quotes (taken literally) for JSON and other text with double quotes in it. */
const envValue = (value: string) => (value.includes('"') && !/['\n]/.test(value) ? `'${value}'` : JSON.stringify(value));

export function formatEnvFile(vars: Record<string, string>): string {
  return `${Object.entries(vars)
    .map(([key, value]) => `${key}=${envValue(value)}`)
    .join("\n")}\n`;
}

/** Adds keys that are missing from `.dev.vars`, leaving the rest of the file as the user wrote it. */
export function appendDevVars(additions: Record<string, string>, path = DEV_VARS_PATH): void {
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  const separator = current && !current.endsWith("\n") ? "\n" : "";
  writeFileSync(path, current + separator + formatEnvFile(additions), { mode: 0o600 });
}
