// The route evaluator and the rule schema, without a gateway around them:
// weighted splits over many callers, stickiness, what a weight change moves,
// every condition operator, the budget threshold, and `fastest` losing and
// winning back a model's share as its health changes.
import { describe, expect, it } from "vitest";
import {
  conditionHolds,
  type EvaluateOptions,
  evaluateRoute,
  type ModelHealth,
  type RouteFacts,
} from "../../src/routing/rules/evaluate.ts";
import { ModelLatency } from "../../src/routing/rules/latency.ts";
import { watchedProviders } from "../../src/routing/rules/provider-spend.ts";
import { type Condition, type RuleNode, routeSchema, ruleSchema } from "../../src/routing/rules/schema.ts";

const facts = (extra: Partial<RouteFacts> = {}, headers: Record<string, string> = {}): RouteFacts => ({
  requestId: "req-1",
  principal: "key",
  user: null,
  team: null,
  key: "key-1",
  tier: null,
  keyMetadata: {},
  claims: {},
  header: (name) => headers[name],
  stream: false,
  tools: false,
  inputTokens: 100,
  country: null,
  continent: null,
  hour: 12,
  usedShare: undefined,
  ...extra,
});

/** A seeded generator (mulberry32): the same dice every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const options = (health: Record<string, ModelHealth> = {}, seed = 7): EvaluateOptions => ({
  health: (model) => health[model],
  random: seeded(seed),
});

const model = (name: string): RuleNode => ({ type: "model", model: name });
const split = (weights: [string, number][], by?: "request" | "user" | "key"): RuleNode => ({
  type: "split",
  ...(by && { by }),
  arms: weights.map(([name, weight]) => ({ name, weight, route: model(`m-${name}`) })),
});
const route = (rule: RuleNode) => ({ name: "chat-default", rule, fallbacks: [] });

describe("a weighted split", () => {
  it("puts 10,000 simulated users on each arm within ±2% of its weight", () => {
    const weights: [string, number][] = [
      ["control", 70],
      ["canary", 20],
      ["beta", 10],
    ];
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const decision = evaluateRoute(route(split(weights, "user")), facts({ user: `user-${i}` }), options());
      counts.set(decision.arm, (counts.get(decision.arm) ?? 0) + 1);
    }
    for (const [arm, weight] of weights) {
      expect(Math.abs((counts.get(arm) ?? 0) / 100 - weight)).toBeLessThanOrEqual(2);
    }
  });

  it("keeps one user on one arm, and by request id spreads one user's requests", () => {
    const tree = route(
      split(
        [
          ["a", 50],
          ["b", 50],
        ],
        "user",
      ),
    );
    const arms = new Set(
      Array.from({ length: 50 }, (_, i) => evaluateRoute(tree, facts({ user: "u-7", requestId: `r-${i}` }), options()).arm),
    );
    expect(arms.size).toBe(1);
    const byRequest = route(
      split([
        ["a", 50],
        ["b", 50],
      ]),
    );
    const spread = new Set(
      Array.from({ length: 50 }, (_, i) => evaluateRoute(byRequest, facts({ user: "u-7", requestId: `r-${i}` }), options()).arm),
    );
    expect(spread).toEqual(new Set(["a", "b"]));
  });

  it("moves only the users a weight change must: 95/5 → 90/10 moves about 5% of them, all to the canary", () => {
    const before = route(
      split(
        [
          ["control", 95],
          ["canary", 5],
        ],
        "user",
      ),
    );
    const after = route(
      split(
        [
          ["control", 90],
          ["canary", 10],
        ],
        "user",
      ),
    );
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const who = facts({ user: `user-${i}` });
      const [was, now] = [evaluateRoute(before, who, options()).arm, evaluateRoute(after, who, options()).arm];
      if (was !== now) {
        moved++;
        expect([was, now]).toEqual(["control", "canary"]);
      }
    }
    expect(Math.abs(moved / 100 - 5)).toBeLessThanOrEqual(1);
  });

  it("splits by a header, falling back to the request id without it", () => {
    const tree = route({
      type: "split",
      by: "header",
      header: "x-session",
      arms: [
        { name: "a", weight: 50, route: model("m-a") },
        { name: "b", weight: 50, route: model("m-b") },
      ],
    });
    const arm = (i: number) => evaluateRoute(tree, facts({ requestId: `r-${i}` }, { "x-session": "s-1" }), options()).arm;
    expect(new Set(Array.from({ length: 20 }, (_, i) => arm(i))).size).toBe(1);
    expect(evaluateRoute(tree, facts(), options()).steps[0]?.reason).toContain("split by request");
  });
});

describe("conditions", () => {
  const cases: [Condition, Partial<RouteFacts>, Record<string, string>, boolean][] = [
    [{ field: "tier", op: "eq", value: "pro" }, { tier: "pro" }, {}, true],
    [{ field: "tier", op: "eq", value: "pro" }, { tier: "free" }, {}, false],
    [{ field: "tier", op: "ne", value: "pro" }, { tier: null }, {}, true],
    [{ field: "team", op: "in", value: ["a", "b"] }, { team: "b" }, {}, true],
    [{ field: "team", op: "not_in", value: ["a", "b"] }, { team: "c" }, {}, true],
    [{ field: "team", op: "in", value: ["a"] }, { team: null }, {}, false],
    [{ field: "principal", op: "eq", value: "user" }, { principal: "user" }, {}, true],
    [{ field: "user", op: "exists" }, { user: "u" }, {}, true],
    [{ field: "user", op: "absent" }, { user: "u" }, {}, false],
    [{ field: "key", op: "eq", value: "key-1" }, {}, {}, true],
    [{ field: "country", op: "in", value: ["DE", "FR"] }, { country: "FR" }, {}, true],
    [{ field: "continent", op: "eq", value: "EU" }, { continent: "NA" }, {}, false],
    [{ field: "stream", op: "eq", value: true }, { stream: true }, {}, true],
    [{ field: "tools", op: "eq", value: true }, { tools: false }, {}, false],
    [{ field: "input_tokens", op: "gt", value: 1000 }, { inputTokens: 1001 }, {}, true],
    [{ field: "input_tokens", op: "gte", value: 1000 }, { inputTokens: 1000 }, {}, true],
    [{ field: "input_tokens", op: "lt", value: 1000 }, { inputTokens: 1000 }, {}, false],
    [{ field: "hour", op: "lte", value: 8 }, { hour: 8 }, {}, true],
    [{ field: "header.x-region", op: "eq", value: "eu" }, {}, { "x-region": "eu" }, true],
    [{ field: "header.x-region", op: "absent" }, {}, {}, true],
    [{ field: "key.metadata.plan", op: "eq", value: "pro" }, { keyMetadata: { plan: "pro" } }, {}, true],
    [{ field: "key.metadata.seats", op: "gte", value: 10 }, { keyMetadata: { seats: 12 } }, {}, true],
    [{ field: "key.metadata.seats", op: "gte", value: 10 }, { keyMetadata: { seats: "12" } }, {}, false],
    [{ field: "claims.plan", op: "eq", value: "pro" }, { claims: { plan: "pro" } }, {}, true],
    [{ field: "claims.plan", op: "eq", value: "pro" }, { claims: { plan: "free" } }, {}, false],
    [{ field: "claims.plan", op: "eq", value: "pro" }, {}, {}, false],
    [{ field: "claims.plan", op: "ne", value: "pro" }, {}, {}, true],
    [{ field: "claims.org.plan", op: "in", value: ["pro", "team"] }, { claims: { org: { plan: "team" } } }, {}, true],
    [{ field: "claims.org.plan", op: "exists" }, { claims: { org: "acme" } }, {}, false],
    [
      { field: "claims.https://example.com/plan", op: "eq", value: "pro" },
      { claims: { "https://example.com/plan": "pro" } },
      {},
      true,
    ],
    [{ field: "claims.seats", op: "gte", value: 10 }, { claims: { seats: 10 } }, {}, true],
    [{ field: "claims.email_verified", op: "eq", value: true }, { claims: { email_verified: true } }, {}, true],
    [{ field: "claims.roles", op: "eq", value: "admin" }, { claims: { roles: ["user", "admin"] } }, {}, true],
    [{ field: "claims.roles", op: "in", value: ["beta", "staff"] }, { claims: { roles: ["user"] } }, {}, false],
    [{ field: "claims.roles", op: "not_in", value: ["banned"] }, { claims: { roles: ["user"] } }, {}, true],
    [{ field: "claims.roles", op: "ne", value: "admin" }, { claims: { roles: ["admin"] } }, {}, false],
    [{ field: "claims.toString", op: "exists" }, { claims: {} }, {}, false],
  ];
  it.each(cases)("%j on %j %j → %s", (condition, extra, headers, holds) => {
    expect(
      ruleSchema.safeParse({ type: "match", cases: [{ name: "c", when: [condition], route: model("x") }], default: model("y") })
        .success,
    ).toBe(true);
    expect(conditionHolds(condition, facts(extra, headers))).toBe(holds);
  });

  it("take the first case whose conditions all hold, else the default, and say which", () => {
    const tree = route({
      type: "match",
      cases: [
        {
          name: "pro-eu",
          when: [
            { field: "tier", op: "eq", value: "pro" },
            { field: "continent", op: "eq", value: "EU" },
          ],
          route: model("eu-big"),
        },
        { name: "pro", when: [{ field: "tier", op: "eq", value: "pro" }], route: model("big") },
      ],
      default: model("small"),
    });
    expect(evaluateRoute(tree, facts({ tier: "pro", continent: "EU" }), options())).toMatchObject({
      arm: "pro-eu",
      model: "eu-big",
    });
    expect(evaluateRoute(tree, facts({ tier: "pro", continent: "NA" }), options())).toMatchObject({ arm: "pro", model: "big" });
    const fallthrough = evaluateRoute(tree, facts({ tier: "free" }), options());
    expect(fallthrough).toMatchObject({ arm: "default", model: "small" });
    expect(fallthrough.steps[0]?.reason).toBe("no case matched");
  });
});

describe("the budget switch", () => {
  const tree = route({ type: "budget", threshold: 0.8, over: model("cheap"), under: model("best") });
  it("takes the cheaper arm at the threshold exactly, and not a hair below", () => {
    expect(evaluateRoute(tree, facts({ usedShare: 0.8 }), options())).toMatchObject({ arm: "over", model: "cheap" });
    expect(evaluateRoute(tree, facts({ usedShare: 0.8 - 1e-9 }), options())).toMatchObject({ arm: "under", model: "best" });
    expect(evaluateRoute(tree, facts({ usedShare: 1 }), options()).model).toBe("cheap");
  });
  it("stays under when the caller's use is unknown or it has no such limit, and says so", () => {
    const decision = evaluateRoute(tree, facts({ usedShare: undefined }), options());
    expect(decision).toMatchObject({ arm: "under", model: "best" });
    expect(decision.steps[0]?.reason).toContain("unknown");
  });
});

describe("the provider spend switch", () => {
  const tree = route({
    type: "provider_spend",
    provider: "openai",
    usd_per_month: 500,
    over: model("cheap"),
    under: model("big"),
  });
  it.each([
    [undefined, "under", "openai spend unknown, under $500.00"],
    [499.99, "under", "openai spent $499.99 this month, under $500.00"],
    [500, "over", "openai spent $500.00 this month, at or over $500.00"],
    [0.004, "under", "openai spent $0.004 this month, under $500.00"],
  ])("at %s USD takes %s", (spent, arm, reason) => {
    const decision = evaluateRoute(tree, facts({ providerSpend: (p) => (p === "openai" ? spent : undefined) }), options());
    expect(decision).toMatchObject({ arm, model: arm === "over" ? "cheap" : "big", steps: [{ node: "provider_spend", reason }] });
  });
  it("names the providers a tree watches, at any depth", () => {
    const nested: RuleNode = {
      type: "match",
      cases: [{ name: "c", when: [{ field: "tier", op: "eq", value: "pro" }], route: tree.rule }],
      default: { type: "provider_spend", provider: "anthropic", usd_per_month: 1, over: model("a"), under: model("b") },
    };
    expect([...watchedProviders(nested)].sort()).toEqual(["anthropic", "openai"]);
    expect(watchedProviders(model("x")).size).toBe(0);
  });
});

describe("fastest of equivalent models", () => {
  const tree = route({ type: "fastest", models: ["a", "b", "c"], explore: 0.05 });
  const share = (health: Record<string, ModelHealth>, target: string, n = 2000) => {
    const dice = options(health, 11);
    let hits = 0;
    for (let i = 0; i < n; i++) if (evaluateRoute(tree, facts(), dice).model === target) hits++;
    return hits / n;
  };
  const well = { latencyMs: 100, errorRate: 0, samples: 50 };

  it("sends a slow or failing model only the exploring share and what two-choice leaves it", () => {
    expect(share({ a: well, b: well, c: { latencyMs: 2000, errorRate: 0, samples: 50 } }, "c")).toBeLessThan(0.05);
    expect(share({ a: well, b: well, c: { latencyMs: 100, errorRate: 0.9, samples: 50 } }, "c")).toBeLessThan(0.05);
    // Equals split the traffic.
    expect(share({ a: well, b: well, c: well }, "c")).toBeGreaterThan(0.25);
  });

  it("loses a failing model's share within a few failures, and gives it back once it answers well again", () => {
    const latency = new ModelLatency();
    for (const name of ["a", "b", "c"]) for (let i = 0; i < 5; i++) latency.recordSuccess(name, 100);
    const live = (seed: number) => ({ health: (m: string) => latency.health(m), random: seeded(seed) });
    const runs = (seed: number, n: number, fail: boolean) => {
      let toC = 0;
      const dice = live(seed);
      for (let i = 0; i < n; i++) {
        const picked = evaluateRoute(tree, facts(), dice).model;
        if (picked !== "c") latency.recordSuccess(picked, 100);
        else if (fail) latency.recordFailure("c");
        else latency.recordSuccess("c", 100);
        if (picked === "c") toC++;
      }
      return toC / n;
    };
    runs(1, 50, true);
    // Failing: after the first 50 requests, c gets little more than the exploring share.
    expect(runs(2, 500, true)).toBeLessThan(0.06);
    // Healed: its error rate halves with each good answer the exploring share brings, and its share comes back.
    runs(3, 300, false);
    expect(runs(4, 500, false)).toBeGreaterThan(0.25);
  });
});

describe("the rule schema refuses, naming the problem", () => {
  const issue = (rule: unknown) => {
    const parsed = routeSchema.safeParse({ name: "r", rule });
    return parsed.success ? undefined : `${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`;
  };
  it.each([
    [
      split([
        ["a", 60],
        ["b", 30],
      ]),
      "weights add up to 90, not 100",
    ],
    [
      {
        type: "split",
        arms: [
          { name: "a", weight: 100, route: model("x") },
          { name: "a", weight: 0, route: model("y") },
        ],
      },
      "rule.arms",
    ],
    [
      {
        type: "match",
        cases: [{ name: "c", when: [{ field: "planet", op: "eq", value: "x" }], route: model("x") }],
        default: model("y"),
      },
      "`planet` is not a field",
    ],
    [
      {
        type: "match",
        cases: [{ name: "c", when: [{ field: "stream", op: "eq", value: "yes" }], route: model("x") }],
        default: model("y"),
      },
      "must be a boolean",
    ],
    [
      {
        type: "match",
        cases: [{ name: "c", when: [{ field: "tier", op: "gt", value: 3 }], route: model("x") }],
        default: model("y"),
      },
      "compares numbers",
    ],
    [
      {
        type: "match",
        cases: [{ name: "c", when: [{ field: "team", op: "in", value: "a" }], route: model("x") }],
        default: model("y"),
      },
      "must be a list",
    ],
    [
      {
        type: "match",
        cases: [
          { name: "first", when: [{ field: "tier", op: "eq", value: "pro" }], route: model("x") },
          { name: "again", when: [{ field: "tier", op: "eq", value: "pro" }], route: model("y") },
        ],
        default: model("z"),
      },
      "never reached: case `first`",
    ],
    [{ type: "budget", threshold: 1.5, over: model("x"), under: model("y") }, "rule.threshold"],
    [{ type: "fastest", models: ["a", "a"] }, "names a model twice"],
    [{ type: "teleport" }, "rule.type"],
  ])("%j", (rule, problem) => {
    expect(issue(rule)).toContain(problem);
  });
});
