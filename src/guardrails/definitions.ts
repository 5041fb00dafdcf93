// A guardrail policy as the admin API takes it, and as the isolate holds it:
// its detectors built once when the catalog is read, so a request only runs them.
import { withoutControl } from "../formats/fields.ts";
import * as z from "../zod.ts";
import { builtInDetector, DETECTOR_KINDS, type Detector, type DetectorKind, regexDetector, wordsDetector } from "./detectors.ts";
import type { JudgeCheck } from "./judge.ts";
import { backtrackingRisk } from "./regex-safety.ts";
import type { WebhookCheck } from "./webhook.ts";

export const GUARDRAIL_PHASES = ["input", "output", "both"] as const;
export const GUARDRAIL_MODES = ["block", "redact", "flag"] as const;
export type GuardrailPhase = (typeof GUARDRAIL_PHASES)[number];
export type GuardrailMode = (typeof GUARDRAIL_MODES)[number];

/** A category goes into placeholders (`[TICKET_1]`) and the ledger: letters, digits and underscores. */
const category = z
  .string()
  .check(z.regex(/^[a-z][a-z0-9_]{0,39}$/, { message: "must be lower-case letters, digits or _, 40 at most" }));

const compiles = (source: string, flags = "") => {
  try {
    new RegExp(source, `${flags}g`);
    return true;
  } catch {
    return false;
  }
};

const storedPatternSchema = z
  .strictObject({
    /** The category its matches are recorded under. */
    name: category,
    regex: z.string().check(z.minLength(1), z.maxLength(1000)),
    /** `i`, `m`, `s`, `u` (the search is always global). */
    flags: z.optional(z.string().check(z.regex(/^[imsu]*$/, { message: "may use i, m, s and u" }))),
  })
  .check(z.refine((p) => compiles(p.regex, p.flags), { message: "is not a valid regular expression", path: ["regex"] }));

/** A pattern as an admin writes it: one that could backtrack catastrophically is refused, saying where. */
const patternSchema = storedPatternSchema.check(
  z.superRefine((p, ctx) => {
    if (!compiles(p.regex, p.flags)) return;
    const risk = backtrackingRisk(p.regex, p.flags);
    if (risk) ctx.addIssue({ code: "custom", message: `could take exponential time on some texts: ${risk}`, path: ["regex"] });
  }),
);

const webhookSchema = z.strictObject({
  /** The checker's URL; it is sent the prompt's texts and answers a verdict. */
  url: z
    .url({ message: "must be an http(s) URL" })
    .check(z.refine((url) => /^https?:/.test(url), { message: "must be an http(s) URL" })),
  /** How long its verdict is waited for (default 2 s). */
  timeout_ms: z.optional(z.number().check(z.int(), z.gte(50), z.lte(30_000))),
  /** What a missing verdict means: `block` (default), a 503 with Retry-After; `allow`, the request goes on. */
  on_error: z.optional(z.enum(["allow", "block"], { message: "must be allow or block" })),
  /** On input: the upstream call starts at once and the answer is held until the verdict passes. */
  parallel: z.optional(z.boolean()),
});

const judgeSchema = z.strictObject({
  /** A model the catalog serves: a moderation model, or a chat model (a Llama Guard deployment…). */
  model: withoutControl(z.string().check(z.minLength(1), z.maxLength(200))),
  /** `moderation` (default): `/v1/moderations`; `chat`: the chat API, with `prompt` as the policy. */
  kind: z.optional(z.enum(["moderation", "chat"], { message: "must be moderation or chat" })),
  /** The categories that block; unset, any the judge names. */
  categories: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.maxLength(50))),
  /** Moderation: a category whose score is at least this blocks. */
  threshold: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** Chat: the system prompt stating the policy; the judge answers `safe`, or `unsafe` and categories. */
  prompt: z.optional(z.string().check(z.minLength(1), z.maxLength(20_000))),
  timeout_ms: z.optional(z.number().check(z.int(), z.gte(50), z.lte(30_000))),
  on_error: z.optional(z.enum(["allow", "block"], { message: "must be allow or block" })),
  parallel: z.optional(z.boolean()),
});

const optionsShape = {
  /** A model that gives the verdict. */
  judge: z.optional(judgeSchema),
  /** An external checker that gives the verdict. */
  webhook: z.optional(webhookSchema),
  /** Regular expressions of the policy's own, each found under its name. */
  patterns: z.optional(z.array(patternSchema).check(z.maxLength(50))),
  /** Words and phrases, found whole and in any case, under the category `word`. */
  words: z.optional(z.array(withoutControl(z.string().check(z.minLength(1), z.maxLength(200)))).check(z.maxLength(1000))),
};

export const guardrailOptionsSchema = z.strictObject(optionsShape);
export type GuardrailOptions = z.infer<typeof guardrailOptionsSchema>;

/**
 * Options as stored: patterns written before the backtracking check are
 * still read (and run over bounded windows, detectors.ts), so a policy
 * does not silently stop applying; the admin API refuses them on change.
 */
const storedOptionsSchema = z.strictObject({
  ...optionsShape,
  patterns: z.optional(z.array(storedPatternSchema).check(z.maxLength(50))),
});

const guardrailFields = {
  name: withoutControl(z.string().check(z.minLength(1), z.maxLength(200))),
  phase: z.enum(GUARDRAIL_PHASES, { message: `must be one of ${GUARDRAIL_PHASES.join(", ")}` }),
  mode: z.enum(GUARDRAIL_MODES, { message: `must be one of ${GUARDRAIL_MODES.join(", ")}` }),
  kinds: z.array(z.enum(DETECTOR_KINDS as [DetectorKind, ...DetectorKind[]])).check(z.maxLength(DETECTOR_KINDS.length)),
  options: guardrailOptionsSchema,
  enabled: z.boolean(),
};

const detectsSomething = (g: { kinds?: unknown[]; options?: GuardrailOptions }) =>
  (g.kinds?.length ?? 0) > 0 ||
  (g.options?.patterns?.length ?? 0) > 0 ||
  (g.options?.words?.length ?? 0) > 0 ||
  g.options?.webhook !== undefined ||
  g.options?.judge !== undefined;

/** A webhook or judge guardrail gives the verdict alone (no detectors beside it). */
const webhookFits = (g: { kinds?: unknown[]; options?: GuardrailOptions }) =>
  (!g.options?.webhook && !g.options?.judge) ||
  (!(g.options.webhook && g.options.judge) &&
    (g.kinds?.length ?? 0) === 0 &&
    !g.options.patterns?.length &&
    !g.options.words?.length);

/** A checker that runs beside the upstream call cannot change what is sent to it. */
const parallelFits = (g: { mode?: GuardrailMode; options?: GuardrailOptions }) =>
  g.mode !== "redact" || !(g.options?.webhook?.parallel || g.options?.judge?.parallel);

export const createGuardrailSchema = z
  .strictObject({
    id: withoutControl(
      z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: "must be letters, digits, ., _ or -" })),
    ),
    ...guardrailFields,
    kinds: z.optional(guardrailFields.kinds),
    options: z.optional(guardrailFields.options),
    enabled: z.optional(guardrailFields.enabled),
  })
  .check(
    z.refine(detectsSomething, { message: "a guardrail needs kinds, patterns, words or a webhook", path: ["kinds"] }),
    z.refine(webhookFits, {
      message: "a webhook or judge guardrail has one of the two, and no kinds, patterns or words of its own",
      path: ["options", "webhook"],
    }),
    z.refine(parallelFits, {
      message: "a parallel webhook or judge cannot redact: the upstream has the prompt before its verdict",
      path: ["mode"],
    }),
  );
export type CreateGuardrailInput = z.infer<typeof createGuardrailSchema>;

export const updateGuardrailSchema = z.partial(z.strictObject(guardrailFields));
export type UpdateGuardrailInput = z.infer<typeof updateGuardrailSchema>;

/** A guardrail ready to run. */
export interface Guardrail {
  id: string;
  name: string;
  phase: GuardrailPhase;
  mode: GuardrailMode;
  detectors: readonly Detector[];
  /** An external checker that gives the verdict instead of detectors. */
  webhook?: WebhookCheck;
  /** A model that gives the verdict instead of detectors. */
  judge?: JudgeCheck;
}

export const checksInput = (g: Guardrail) => g.phase !== "output";
export const checksOutput = (g: Guardrail) => g.phase !== "input";
/** A webhook or a judge: its verdict is awaited, not computed here. */
export const asksRemotely = (g: Guardrail) => g.webhook !== undefined || g.judge !== undefined;
/** On input, a checker whose verdict is awaited beside the upstream call: asked to, or one that only flags. */
export const runsAlongside = (g: Guardrail) => (g.webhook ?? g.judge)?.parallel === true || g.mode === "flag";

/** A stored row as it runs; undefined for one whose stored definition no longer parses. */
export function compileGuardrail(row: {
  id: string;
  name: string;
  phase: GuardrailPhase;
  mode: GuardrailMode;
  kinds: string[];
  options: unknown;
}): Guardrail | undefined {
  const options = storedOptionsSchema.safeParse(row.options);
  if (!options.success) return undefined;
  const kinds = row.kinds.filter((kind): kind is DetectorKind => (DETECTOR_KINDS as string[]).includes(kind));
  const detectors: Detector[] = kinds.map(builtInDetector);
  for (const pattern of options.data.patterns ?? []) detectors.push(regexDetector(pattern.name, pattern.regex, pattern.flags));
  if (options.data.words?.length) detectors.push(wordsDetector("word", options.data.words));
  const webhook = options.data.webhook;
  const judge = options.data.judge;
  return {
    id: row.id,
    name: row.name,
    phase: row.phase,
    mode: row.mode,
    detectors: webhook || judge ? [] : detectors,
    ...(webhook && {
      webhook: {
        url: webhook.url,
        timeoutMs: webhook.timeout_ms ?? 2000,
        onError: webhook.on_error ?? "block",
        parallel: webhook.parallel === true && row.mode !== "redact",
      },
    }),
    ...(judge &&
      !webhook && {
        judge: {
          model: judge.model,
          kind: judge.kind ?? "moderation",
          categories: judge.categories,
          threshold: judge.threshold,
          prompt: judge.prompt,
          timeoutMs: judge.timeout_ms ?? 5000,
          onError: judge.on_error ?? "block",
          parallel: judge.parallel === true && row.mode !== "redact",
        },
      }),
  };
}
