// Walks a route's rule tree for one request: which model serves it, by which
// arms, and why at each step. Pure: the request and the caller come in as
// facts, the isolate's latency view and the dice as arguments, so the same
// inputs always give the same answer (what explain relies on).
import type { PrincipalType } from "../../auth/principal.ts";
import type { Condition, RouteDefinition, RuleNode } from "./schema.ts";

/** What conditions, splits and budget switches read about one request and its caller. */
export interface RouteFacts {
  requestId: string;
  principal: PrincipalType;
  user: string | null;
  team: string | null;
  key: string | null;
  tier: string | null;
  keyMetadata: Record<string, unknown>;
  /** The end user's verified JWT claims; empty for any other caller. */
  claims: Readonly<Record<string, unknown>>;
  /** A request header, by lower-case name. */
  header(name: string): string | undefined;
  stream: boolean;
  tools: boolean;
  inputTokens: number;
  country: string | null;
  continent: string | null;
  /** The hour of the day, UTC, 0-23. */
  hour: number;
  /** The share of the caller's tightest budget or quota used, as this isolate last saw it; undefined when unknown. */
  usedShare: number | undefined;
  /** What a provider has cost this month (USD), as the catalog last read it; undefined when unknown. */
  providerSpend?(provider: string): number | undefined;
}

/** Recent latency and error rate of a model, as this isolate measured them. */
export interface ModelHealth {
  latencyMs: number;
  errorRate: number;
  samples: number;
}

export interface EvaluateOptions {
  health(model: string): ModelHealth | undefined;
  /** A number in [0, 1): the dice for exploring and for the two choices of `fastest`. */
  random(): number;
}

export interface RouteStep {
  /** The node's type. */
  node: RuleNode["type"];
  /** The branch it took. */
  arm: string;
  reason: string;
}

export interface RouteDecision {
  route: string;
  /** The branches taken, joined by `/`. */
  arm: string;
  model: string;
  /** The route's own fallbacks, tried after the model's. */
  fallbacks: string[];
  steps: RouteStep[];
}

/** A 32-bit FNV-1a hash, its bits mixed (murmur3's finalizer), as a point in [0, 1). */
export function hashPoint(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 0x1_0000_0000;
}

/** The value a field names, for this request; undefined when it has none. */
export function fieldValue(facts: RouteFacts, field: string): unknown {
  switch (field) {
    case "principal":
      return facts.principal;
    case "user":
    case "team":
    case "key":
    case "tier":
    case "country":
    case "continent":
      return facts[field] ?? undefined;
    case "stream":
    case "tools":
    case "hour":
      return facts[field];
    case "input_tokens":
      return facts.inputTokens;
  }
  if (field.startsWith("header.")) return facts.header(field.slice("header.".length).toLowerCase());
  if (field.startsWith("key.metadata.")) return facts.keyMetadata[field.slice("key.metadata.".length)];
  if (field.startsWith("claims.")) return claimAt(facts.claims, field.slice("claims.".length));
  return undefined;
}

/** A claim by its whole name (`https://example.com/plan`), else by its path of names (`org.plan`). */
function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const name of path.split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, name)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

export function conditionHolds(condition: Condition, facts: RouteFacts): boolean {
  const actual = fieldValue(facts, condition.field);
  const { op, value } = condition;
  if (op === "exists") return actual !== undefined && actual !== null;
  if (op === "absent") return actual === undefined || actual === null;
  if (actual === undefined || actual === null) return op === "ne" || op === "not_in";
  // A list (a `roles` or `groups` claim) equals a value it holds, and is in a list it shares one with.
  if (Array.isArray(actual)) {
    const wanted = Array.isArray(value) ? value : [value];
    const shared = actual.some((item) => wanted.includes(item as string));
    if (op === "eq" || op === "in") return shared;
    if (op === "ne" || op === "not_in") return !shared;
    return false;
  }
  if (op === "in" || op === "not_in") return (Array.isArray(value) && value.includes(actual as string)) === (op === "in");
  if (op === "eq") return actual === value;
  if (op === "ne") return actual !== value;
  if (typeof actual !== "number" || typeof value !== "number") return false;
  if (op === "gt") return actual > value;
  if (op === "gte") return actual >= value;
  if (op === "lt") return actual < value;
  return actual <= value;
}

export const describeCondition = (c: Condition) =>
  c.value === undefined ? `${c.field} ${c.op}` : `${c.field} ${c.op} ${JSON.stringify(c.value)}`;

/** The value a split hashes, so one user (key, header value) stays on one arm; the request id otherwise. */
function stickyValue(node: Extract<RuleNode, { type: "split" }>, facts: RouteFacts): { by: string; value: string } {
  const by = node.by ?? "request";
  const value =
    by === "user"
      ? (facts.user ?? facts.key)
      : by === "key"
        ? (facts.key ?? facts.user)
        : by === "header" && node.header
          ? facts.header(node.header.toLowerCase())
          : undefined;
  return value ? { by, value } : { by: "request", value: facts.requestId };
}

/** A model's score for `fastest`: its recent latency, made worse by its recent errors; unmeasured ones first. */
const LATENCY_FLOOR_MS = 50;
export const healthScore = (health: ModelHealth | undefined) =>
  health ? (health.latencyMs + LATENCY_FLOOR_MS) * (1 + 4 * health.errorRate) : 0;
/** Scores within this share of each other are a tie, broken at random. */
const TIE = 0.1;
const DEFAULT_EXPLORE = 0.05;

function pickFastest(node: Extract<RuleNode, { type: "fastest" }>, options: EvaluateOptions): RouteStep & { model: string } {
  const models = node.models;
  const explore = node.explore ?? DEFAULT_EXPLORE;
  const at = (point: number) => models[Math.min(models.length - 1, Math.floor(point * models.length))] as string;
  if (options.random() < explore) {
    const model = at(options.random());
    return { node: "fastest", arm: model, model, reason: `exploring: ${model} picked at random (${explore * 100}% of requests)` };
  }
  // The power of two choices: two at random, the better of them; one bad model cannot take all.
  const first = Math.floor(options.random() * models.length) % models.length;
  const second = (first + 1 + Math.floor(options.random() * (models.length - 1))) % models.length;
  const [a, b] = [models[first] as string, models[second] as string];
  const [scoreA, scoreB] = [healthScore(options.health(a)), healthScore(options.health(b))];
  const tie = Math.abs(scoreA - scoreB) <= TIE * Math.max(scoreA, scoreB);
  const model = tie ? (options.random() < 0.5 ? a : b) : scoreA < scoreB ? a : b;
  const show = (m: string) => {
    const h = options.health(m);
    return h ? `${m} ${Math.round(h.latencyMs)} ms, ${Math.round(h.errorRate * 100)}% errors` : `${m} unmeasured`;
  };
  return { node: "fastest", arm: model, model, reason: `${tie ? "even" : "faster"}: ${show(a)} vs ${show(b)}` };
}

const dollars = (usd: number) => (usd >= 1 || usd === 0 ? `$${usd.toFixed(2)}` : `$${Number(usd.toPrecision(2))}`);
const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

/** The way one request goes through a route. */
export function evaluateRoute(route: RouteDefinition, facts: RouteFacts, options: EvaluateOptions): RouteDecision {
  const steps: RouteStep[] = [];
  let node = route.rule;
  for (;;) {
    switch (node.type) {
      case "model":
        return {
          route: route.name,
          arm: steps.map((s) => s.arm).join("/"),
          model: node.model,
          fallbacks: route.fallbacks,
          steps,
        };
      case "fastest": {
        const picked = pickFastest(node, options);
        steps.push({ node: picked.node, arm: picked.arm, reason: picked.reason });
        return {
          route: route.name,
          arm: steps.map((s) => s.arm).join("/"),
          model: picked.model,
          fallbacks: route.fallbacks,
          steps,
        };
      }
      case "split": {
        const sticky = stickyValue(node, facts);
        // The path so far is in the hash, so nested splits do not put the same users on the same side.
        const point = hashPoint(`${route.name}/${steps.map((s) => s.arm).join("/")}:${sticky.value}`) * 100;
        let edge = 0;
        let arm = node.arms[node.arms.length - 1] as (typeof node.arms)[number];
        for (const candidate of node.arms) {
          edge += candidate.weight;
          if (point < edge) {
            arm = candidate;
            break;
          }
        }
        steps.push({ node: "split", arm: arm.name, reason: `split by ${sticky.by}: ${arm.name} holds ${arm.weight}%` });
        node = arm.route;
        break;
      }
      case "match": {
        const matched = node.cases.find((c) => c.when.every((condition) => conditionHolds(condition, facts)));
        if (matched) {
          steps.push({ node: "match", arm: matched.name, reason: matched.when.map(describeCondition).join(" and ") });
          node = matched.route;
        } else {
          steps.push({ node: "match", arm: "default", reason: "no case matched" });
          node = node.default;
        }
        break;
      }
      case "budget": {
        const used = facts.usedShare;
        const over = used !== undefined && used >= node.threshold;
        const seen = used === undefined ? "budget use unknown" : `budget ${percent(used)} used`;
        steps.push({
          node: "budget",
          arm: over ? "over" : "under",
          reason: `${seen}, ${over ? "at or over" : "under"} ${percent(node.threshold)}`,
        });
        node = over ? node.over : node.under;
        break;
      }
      case "provider_spend": {
        const spent = facts.providerSpend?.(node.provider);
        const over = spent !== undefined && spent >= node.usd_per_month;
        const seen =
          spent === undefined ? `${node.provider} spend unknown` : `${node.provider} spent ${dollars(spent)} this month`;
        steps.push({
          node: "provider_spend",
          arm: over ? "over" : "under",
          reason: `${seen}, ${over ? "at or over" : "under"} ${dollars(node.usd_per_month)}`,
        });
        node = over ? node.over : node.under;
        break;
      }
    }
  }
}
