// What a route's rule tree may say, checked when an admin saves it: a tree of
// nodes, each leading to a model (a leaf) or choosing among branches: a
// weighted split, a match on the request and the caller, a switch on the
// caller's budget, or the fastest of equivalent models.
import { withoutControl } from "../../formats/fields.ts";
import * as z from "../../zod.ts";

/** Route and arm names go into a response header and the ledger: short, plain. */
export const ROUTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const name = z.string().check(z.regex(ROUTE_NAME, { message: "must be 1-64 letters, digits, `.`, `_`, `:` or `-`" }));
const modelName = withoutControl(z.string().check(z.minLength(1), z.maxLength(256)));

/** Fields a condition may test, and what kind of value each holds. */
export const CONDITION_FIELDS = {
  principal: "string",
  user: "string",
  team: "string",
  key: "string",
  tier: "string",
  country: "string",
  continent: "string",
  stream: "boolean",
  tools: "boolean",
  input_tokens: "number",
  hour: "number",
} as const;
/** Fields with a name after the dot: `header.x-region`, `key.metadata.plan`. */
const NAMED_FIELD = /^(header|key\.metadata)\.([A-Za-z0-9_-]{1,64})$/;
/**
 * The end user's JWT claims: `claims.plan`, a nested one by its path (`claims.org.plan`), or a namespaced
 * one by its whole name (`claims.https://example.com/plan`).
 */
const CLAIM_FIELD = /^claims\.([A-Za-z0-9_:/.-]{1,200})$/;

export type FieldKind = "string" | "number" | "boolean" | "any";

/** The kind of value a field holds; undefined for a field there is no such thing as. */
export function fieldKind(field: string): FieldKind | undefined {
  if (Object.hasOwn(CONDITION_FIELDS, field)) return CONDITION_FIELDS[field as keyof typeof CONDITION_FIELDS];
  if (CLAIM_FIELD.test(field)) return "any";
  const named = NAMED_FIELD.exec(field);
  if (!named) return undefined;
  return named[1] === "header" ? "string" : "any";
}

export const OPERATORS = ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "absent"] as const;
export type Operator = (typeof OPERATORS)[number];

const scalar = z.union([z.string().check(z.maxLength(256)), z.number(), z.boolean()]);

export const conditionSchema = z
  .strictObject({
    field: z.string().check(z.maxLength(100)),
    op: z.enum(OPERATORS),
    value: z.optional(z.union([scalar, z.array(scalar).check(z.minLength(1), z.maxLength(100))])),
  })
  .check(
    z.superRefine((condition, context) => {
      const kind = fieldKind(condition.field);
      const fail = (message: string, path: string) => context.addIssue({ code: "custom", path: [path], message });
      if (!kind) {
        fail(
          `\`${condition.field}\` is not a field a condition can test: one of ${Object.keys(CONDITION_FIELDS).join(", ")}, header.<name>, key.metadata.<name>, claims.<path>`,
          "field",
        );
        return;
      }
      const { op, value } = condition;
      if (op === "exists" || op === "absent") {
        if (value !== undefined) fail(`takes no value with \`${op}\``, "value");
        return;
      }
      if (value === undefined) return fail(`is needed with \`${op}\``, "value");
      const listed = op === "in" || op === "not_in";
      if (listed !== Array.isArray(value)) return fail(listed ? `must be a list with \`${op}\`` : "must be one value", "value");
      const values = Array.isArray(value) ? value : [value];
      const ordered = op === "gt" || op === "gte" || op === "lt" || op === "lte";
      if (ordered && kind !== "number" && kind !== "any")
        return fail(`\`${op}\` compares numbers; \`${condition.field}\` is not one`, "op");
      if (kind !== "any" && values.some((v) => typeof v !== kind))
        fail(`must be a ${kind}, as \`${condition.field}\` is`, "value");
      if (kind === "any" && ordered && values.some((v) => typeof v !== "number"))
        fail(`must be a number with \`${op}\``, "value");
    }),
  );
export type Condition = z.infer<typeof conditionSchema>;

export type RuleNode =
  | { type: "model"; model: string }
  | { type: "split"; by?: "request" | "user" | "key" | "header"; header?: string; arms: SplitArm[] }
  | { type: "match"; cases: MatchCase[]; default: RuleNode }
  | { type: "budget"; threshold: number; over: RuleNode; under: RuleNode }
  | { type: "fastest"; models: string[]; explore?: number }
  | { type: "provider_spend"; provider: string; usd_per_month: number; over: RuleNode; under: RuleNode };
export interface SplitArm {
  name: string;
  weight: number;
  route: RuleNode;
}
export interface MatchCase {
  name: string;
  when: Condition[];
  route: RuleNode;
}

/** Weights are percentages: an arm's share of the traffic that reaches the split. */
const WEIGHT_TOTAL = 100;

export const ruleSchema: z.ZodMiniType<RuleNode> = z
  .lazy(() =>
    z.discriminatedUnion("type", [
      z.strictObject({ type: z.literal("model"), model: modelName }),
      z
        .strictObject({
          type: z.literal("split"),
          by: z.optional(z.enum(["request", "user", "key", "header"])),
          header: z.optional(z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/))),
          arms: z
            .array(z.strictObject({ name, weight: z.number().check(z.positive(), z.lte(WEIGHT_TOTAL)), route: ruleSchema }))
            .check(z.minLength(2), z.maxLength(20)),
        })
        .check(
          z.superRefine((split, context) => {
            const total = split.arms.reduce((sum, arm) => sum + arm.weight, 0);
            if (Math.abs(total - WEIGHT_TOTAL) > 1e-9) {
              context.addIssue({ code: "custom", path: ["arms"], message: `weights add up to ${total}, not ${WEIGHT_TOTAL}` });
            }
            if ((split.by === "header") !== (split.header !== undefined)) {
              context.addIssue({
                code: "custom",
                path: ["header"],
                message: "names the header to split by, with `by: header` only",
              });
            }
            uniqueNames(split.arms, context, "arms");
          }),
        ),
      z
        .strictObject({
          type: z.literal("match"),
          cases: z
            .array(
              z.strictObject({
                name,
                when: z.array(conditionSchema).check(z.minLength(1), z.maxLength(20)),
                route: ruleSchema,
              }),
            )
            .check(z.minLength(1), z.maxLength(20)),
          default: ruleSchema,
        })
        .check(
          z.superRefine((match, context) => {
            uniqueNames(match.cases, context, "cases");
            // A case whose conditions an earlier case already took can never be reached.
            const seen = new Map<string, string>();
            for (const [i, item] of match.cases.entries()) {
              const key = JSON.stringify([...item.when].map((c) => JSON.stringify(c)).sort());
              const earlier = seen.get(key);
              if (earlier !== undefined) {
                context.addIssue({
                  code: "custom",
                  path: ["cases", i, "when"],
                  message: `is never reached: case \`${earlier}\` matches first`,
                });
              }
              seen.set(key, item.name);
            }
          }),
        ),
      z.strictObject({
        type: z.literal("budget"),
        /** The share of the caller's tightest budget or quota used at which `over` takes the traffic. */
        threshold: z.number().check(z.gt(0), z.lte(1)),
        over: ruleSchema,
        under: ruleSchema,
      }),
      z.strictObject({
        type: z.literal("provider_spend"),
        /** A provider id, as the ledger names it (`openai`, or one added through /admin/providers). */
        provider: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: "must be a provider id" })),
        /** What the provider may cost this calendar month (UTC) before `over` takes the traffic. */
        usd_per_month: z.number().check(z.positive(), z.lte(1e9)),
        over: ruleSchema,
        under: ruleSchema,
      }),
      z
        .strictObject({
          type: z.literal("fastest"),
          models: z.array(modelName).check(z.minLength(2), z.maxLength(10)),
          /** The share of requests sent to a random one of them, to keep measuring the others. */
          explore: z.optional(z.number().check(z.gte(0), z.lte(0.5))),
        })
        .check(
          z.superRefine((fastest, context) => {
            if (new Set(fastest.models).size !== fastest.models.length) {
              context.addIssue({ code: "custom", path: ["models"], message: "names a model twice" });
            }
          }),
        ),
    ]),
  )
  .check(z.meta({ id: "route_rule" }));

function uniqueNames(items: { name: string }[], context: z.core.$RefinementCtx, path: string): void {
  const seen = new Set<string>();
  for (const [i, item] of items.entries()) {
    if (seen.has(item.name))
      context.addIssue({ code: "custom", path: [path, i, "name"], message: `\`${item.name}\` is named twice` });
    seen.add(item.name);
  }
}

/** The models a tree can lead to, each with where the tree names it (`rule.arms.1.route.model`). */
export function modelsOf(node: RuleNode, at = "rule"): { model: string; path: string }[] {
  switch (node.type) {
    case "model":
      return [{ model: node.model, path: `${at}.model` }];
    case "fastest":
      return node.models.map((model, i) => ({ model, path: `${at}.models.${i}` }));
    case "split":
      return node.arms.flatMap((arm, i) => modelsOf(arm.route, `${at}.arms.${i}.route`));
    case "match":
      return [
        ...node.cases.flatMap((c, i) => modelsOf(c.route, `${at}.cases.${i}.route`)),
        ...modelsOf(node.default, `${at}.default`),
      ];
    case "budget":
    case "provider_spend":
      return [...modelsOf(node.over, `${at}.over`), ...modelsOf(node.under, `${at}.under`)];
  }
}

export const routeSchema = z.strictObject({
  name: z.optional(name),
  description: z.optional(z.nullable(withoutControl(z.string().check(z.maxLength(500))))),
  rule: z.optional(ruleSchema),
  /** Public model names tried, in order, after the chosen model's own fallbacks. */
  fallbacks: z.optional(z.array(modelName).check(z.maxLength(10))),
  enabled: z.optional(z.boolean()),
});
export type RouteInput = z.infer<typeof routeSchema>;

/** A route as the catalog holds it. */
export interface RouteDefinition {
  name: string;
  rule: RuleNode;
  fallbacks: string[];
}
