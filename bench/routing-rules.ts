// `npm run bench:routing-rules`: the CPU a route adds to a request, measured
// on the evaluator alone (a plain model pays one lookup in an empty map and
// nothing else). A four-level tree: a match on the caller and the request, a
// budget switch, a sticky split, and `fastest` on the canary arm.
import { evaluateRoute, type RouteFacts } from "../src/routing/rules/evaluate.ts";
import { ModelLatency } from "../src/routing/rules/latency.ts";
import type { RouteDefinition } from "../src/routing/rules/schema.ts";

const DECISIONS = 200_000;
const ROUNDS = 5;

const route: RouteDefinition = {
  name: "chat-default",
  fallbacks: [],
  rule: {
    type: "match",
    cases: [
      { name: "eu", when: [{ field: "continent", op: "eq", value: "EU" }], route: { type: "model", model: "eu" } },
      {
        name: "pro",
        when: [
          { field: "key.metadata.plan", op: "eq", value: "pro" },
          { field: "stream", op: "eq", value: true },
        ],
        route: { type: "model", model: "big" },
      },
    ],
    default: {
      type: "budget",
      threshold: 0.8,
      over: { type: "model", model: "cheap" },
      under: {
        type: "split",
        by: "user",
        arms: [
          { name: "control", weight: 95, route: { type: "model", model: "a" } },
          { name: "canary", weight: 5, route: { type: "fastest", models: ["a", "b"] } },
        ],
      },
    },
  },
};

const latency = new ModelLatency();
latency.recordSuccess("a", 100);
latency.recordSuccess("b", 120);
const options = { health: (model: string) => latency.health(model), random: Math.random };

const factsFor = (i: number): RouteFacts => ({
  requestId: `req-${i}`,
  principal: "key",
  user: `user-${i}`,
  team: null,
  key: "key-1",
  tier: null,
  keyMetadata: { plan: "free" },
  claims: {},
  header: () => undefined,
  stream: false,
  tools: false,
  inputTokens: 100,
  country: "US",
  continent: "NA",
  hour: 3,
  usedShare: 0.4,
});

let served = 0;
const perRound: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const started = performance.now();
  for (let i = 0; i < DECISIONS; i++) served += evaluateRoute(route, factsFor(i), options).model.length > 0 ? 1 : 0;
  perRound.push(((performance.now() - started) / DECISIONS) * 1000);
}
const best = Math.min(...perRound);
console.log(
  `routing rules: ${served} decisions; per decision ${perRound.map((us) => us.toFixed(2)).join(", ")} µs (best ${best.toFixed(2)} µs)`,
);
