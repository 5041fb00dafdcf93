// One resolver for the settings that apply to callers: the global level, then
// the team, the user and the key, each section merged by its own rule (narrower
// adds, never loosens). Settings are stored beside each level's quota (a
// `settings` document on its quota policy row), read in the same query as the
// limits, and resolved once when the caller is loaded, so a warm request pays
// nothing for them.
import * as z from "../zod.ts";
import { POLICY_SECTIONS } from "./sections.ts";

type Sections = typeof POLICY_SECTIONS;
type ValueOf<K extends keyof Sections> = z.output<Sections[K]["schema"]>;

/** What one level says: any section, or none. */
export type Settings = { [K in keyof Sections]?: ValueOf<K> };

/** What applies to a caller: every level merged; a section no level sets is absent. */
export type CallerPolicy = Readonly<Settings>;

/** The policy of a caller no level says anything about: shared, so checking it costs a property read. */
export const NO_POLICY: CallerPolicy = Object.freeze({});

const sectionShape = Object.fromEntries(
  Object.entries(POLICY_SECTIONS).map(([name, section]) => [name, z.optional(z.nullable(section.schema))]),
) as { [K in keyof Sections]: z.ZodMiniOptional<z.ZodMiniNullable<Sections[K]["schema"]>> };

/**
 * The `settings` an admin writes at one level: each section named is set,
 * `null` clears it, and a section not named is left as it was.
 */
export const settingsSchema = z.strictObject(sectionShape);
export type SettingsInput = z.infer<typeof settingsSchema>;

/** A level's stored settings with an admin's change applied. */
export function applySettings(stored: Settings, change: SettingsInput): Settings {
  const next: Record<string, unknown> = { ...stored };
  for (const [name, value] of Object.entries(change)) {
    if (value === null) delete next[name];
    else if (value !== undefined) next[name] = value;
  }
  return next as Settings;
}

/** Reads a stored document, keeping only the sections this version knows and whose values still parse. */
export function storedSettings(value: unknown): Settings {
  if (!value || typeof value !== "object") return {};
  const kept: Record<string, unknown> = {};
  for (const [name, section] of Object.entries(POLICY_SECTIONS)) {
    const parsed = section.schema.safeParse((value as Record<string, unknown>)[name]);
    if (parsed.success && parsed.data !== undefined) kept[name] = parsed.data;
  }
  return kept as Settings;
}

/** The levels that apply, widest first (global, team, user, key), merged section by section. */
export function resolvePolicy(levels: Settings[]): CallerPolicy {
  const merged: Record<string, unknown> = {};
  for (const level of levels) {
    for (const [name, value] of Object.entries(level)) {
      if (value === undefined) continue;
      const section = POLICY_SECTIONS[name as keyof Sections] as { merge(wider: unknown, narrower: unknown): unknown };
      merged[name] = name in merged ? section.merge(merged[name], value) : value;
    }
  }
  return Object.keys(merged).length === 0 ? NO_POLICY : Object.freeze(merged as Settings);
}
