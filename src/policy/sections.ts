// The settings that apply to callers, section by section: what each takes,
// and how a narrower level (team, then user, then key) combines with the
// wider one (global). A narrower level adds to the wider and never loosens
// it, so each section's merge says what "adding" means for it: a switch
// that any level may turn on, a list that grows, an allowlist that only
// shrinks. A feature that applies to callers adds its section here.
import { requestLimitsSection } from "../guardrails/request-limits.ts";
import { REGION_NAME } from "../providers/regions.ts";
import * as z from "../zod.ts";

export interface PolicySection<T> {
  /** What an admin may set at one level; undefined at a level means it says nothing. */
  readonly schema: z.ZodMiniType<T>;
  /** The wider level's value and the narrower's; the result is at least as strict as each. */
  merge(wider: T, narrower: T): T;
}

/** A switch that any level may turn on, and none may turn off once a wider one has. */
export const anyOn: PolicySection<boolean> = {
  schema: z.boolean({ message: "must be true or false" }),
  merge: (wider, narrower) => wider || narrower,
};

/** Names that accumulate: each level adds its own to the wider levels'. */
export const union = (schema: z.ZodMiniType<string[]>): PolicySection<string[]> => ({
  schema,
  merge: (wider, narrower) => [...new Set([...wider, ...narrower])],
});

/** An allowlist each level can only shrink: what passes must pass every level's list. */
export const intersection = (schema: z.ZodMiniType<string[]>): PolicySection<string[]> => ({
  schema,
  merge: (wider, narrower) => wider.filter((item) => narrower.includes(item)),
});

const providerIds = z
  .array(z.string().check(z.minLength(1), z.maxLength(100)), { message: "must be a list of provider ids" })
  .check(z.maxLength(100, { message: "may list at most 100 providers" }));
/** The lower of two numeric limits: a narrower level may tighten a limit, never raise it. */
export const lowest = (schema: z.ZodMiniType<number>): PolicySection<number> => ({
  schema,
  merge: (wider, narrower) => Math.min(wider, narrower),
});

/**
 * Name patterns (`*` matches any run of characters, `!` excludes) that each
 * level applies in turn: a name passes when it passes every level's list. The
 * merged value keeps each level's list, joined by `LEVEL_BREAK`, which no
 * admin can write (the schema refuses it).
 */
export const LEVEL_BREAK = "&";
export const everyLevel = (schema: z.ZodMiniType<string[]>): PolicySection<string[]> => ({
  schema,
  merge: (wider, narrower) => [...wider, LEVEL_BREAK, ...narrower],
});

const regionList = z
  .array(z.string().check(z.regex(REGION_NAME, { message: "must be a region (eu-west-1) or a jurisdiction (eu, us, global)" })), {
    message: "must be a list of regions or jurisdictions",
  })
  .check(z.maxLength(100, { message: "may list at most 100 regions" }));

const NAME_PATTERN = /^!?[A-Za-z0-9_.*-]{1,200}$/;
const namePatterns = z
  .array(
    z.string().check(z.regex(NAME_PATTERN, { message: "must be a name or pattern (letters, digits, `_ . - *`, a leading `!`)" })),
  )
  .check(z.maxLength(500));

export const POLICY_SECTIONS = {
  /** The caller's prompts and answers are never kept: no request log, no response cache, whatever a wider level says. */
  zero_retention: anyOn,
  /** The only providers (ids) the caller's traffic may reach, in routing and failover: each level can only narrow it. */
  allowed_providers: intersection(providerIds),
  /** Providers the caller's traffic must never reach: each level adds its own. */
  denied_providers: union(providerIds),
  /** The only regions (`eu-west-1`) or jurisdictions (`eu`) the caller's traffic may reach: a target passes every level's list. */
  allowed_regions: everyLevel(regionList),
  /** Guardrail policies (ids under /admin/guardrails) that check the caller's prompts and answers: each level adds its own. */
  guardrails: union(
    z
      .array(z.string().check(z.minLength(1), z.maxLength(100)), { message: "must be a list of guardrail ids" })
      .check(z.maxLength(50, { message: "may list at most 50 guardrails" })),
  ),
  /** How much one request may send and ask for: messages, prompt size, tools, output; each level may only tighten it. */
  request_limits: requestLimitsSection,
  /** The caller's prompts and answers are kept in the request log (REQUEST_LOGS), unless zero_retention applies. */
  request_logs: anyOn,
  /** The MCP servers the caller may reach through `/mcp`, by name; each level can only shrink the list. */
  mcp_servers: intersection(
    z.array(z.string().check(z.regex(/^[a-z][a-z0-9-]{0,62}$/, { message: "must be an MCP server's name" }))),
  ),
  /** The MCP tools the caller may list and call, by namespaced name (`github__*`, `!github__delete_*`). */
  mcp_tools: everyLevel(namePatterns),
  /** Tool calls per minute through `/mcp`; the lowest level's number applies. */
  mcp_calls_per_minute: lowest(z.number().check(z.int(), z.gte(0), z.lte(1_000_000))),
  /** Tool calls per day (UTC) through `/mcp`; the lowest level's number applies. */
  mcp_calls_per_day: lowest(z.number().check(z.int(), z.gte(0), z.lte(100_000_000))),
} satisfies Record<string, PolicySection<unknown>>;
