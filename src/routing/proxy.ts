// The one proxy every client format goes through. For each target of the
// route it picks the way there: the provider takes the client's dialect, so
// the body goes up as sent (passthrough); or it does not, so the request goes
// through the canonical form into the provider's first dialect (translated).
// A fallback chain may mix the two.

import { principalPolicy } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import type { CanonicalRequest } from "../formats/canonical.ts";
import { checkedName, providerName } from "../formats/fields.ts";
import { errorStreamEvent } from "../formats/index.ts";
import type { ClientFormat, Dialect, RequestFacts, RouteFacts } from "../formats/types.ts";
import { checkRequestLimits } from "../guardrails/request-limits.ts";
import type { GuardedRequest } from "../guardrails/stage.ts";
import { clientJson, sourceFor } from "../http/body-text.ts";
import { GatewayError } from "../http/errors.ts";
import { reservationBinds, spendsDollars } from "../limits/binding.ts";
import { estimateInputTokens, mediaRulesFor } from "../limits/estimate.ts";
import type { MediaRules } from "../limits/media.ts";
import type { Endpoint } from "../providers/types.ts";
import { type AnswerFilter, type Exchange, passthroughExchange, translatedExchange } from "./exchanges.ts";
import { type GuardRun, guardrailsOver } from "./guard-stage.ts";
import type { Target } from "./resolve.ts";
import { routeCall } from "./route-call.ts";

const nativeEndpoint = (target: Target, dialect: Dialect): Endpoint | undefined =>
  target.descriptor.endpoints(target.upstreamModel).find((endpoint) => endpoint.dialect === dialect);

/** `openai-embeddings` → "embeddings". */
const apiName = (format: { name: string }) => format.name.replace(/^openai-/, "");

const untranslatable = (format: { name: string }, target: Target) =>
  new GatewayError(
    400,
    "invalid_request",
    `The ${apiName(format)} API is served only by providers that speak it natively; \`${target.provider}\` does not.`,
    { param: "model", code: `${apiName(format)}_unsupported` },
  );

/** The provider a caller picked by header, held to the rule the body's `provider` field is. */
export function pickedProvider(c: GatewayContext): string | undefined {
  const header = c.req.header("x-sluice-provider");
  return header === undefined ? undefined : checkedName(providerName, header, "x-sluice-provider");
}

/**
 * Routes `await` it (`async (c) => await proxy(…)`): a refusal it throws
 * before its first await is then handled at once, where returning the
 * promise from an async handler would leave it unhandled for a moment.
 */
export async function proxy<Body extends Record<string, unknown>>(
  c: GatewayContext,
  format: ClientFormat<Body>,
  body: Body,
  route: RouteFacts = {},
): Promise<Response> {
  const facts: RequestFacts = format.facts(body, route);
  c.set("requestBody", body);
  const source = sourceFor(body, c.get("bodySource"));
  const policy = principalPolicy(c.get("principal"));
  const output = format.output;
  const ownCap = output?.of(body);
  const shapeLimits = policy?.request_limits;
  /** The prompt's size is read once per set of media rules, however many stages ask: a long prompt is dear to walk. */
  const inputTokens = new Map<MediaRules, number>();
  const estimatedInput = (rules: MediaRules) => {
    let tokens = inputTokens.get(rules);
    if (tokens === undefined) {
      tokens = estimateInputTokens(format.prompt(body), rules, (part) => clientJson(source, part));
      inputTokens.set(rules, tokens);
    }
    return tokens;
  };
  const tooBig = shapeLimits
    ? checkRequestLimits(body, shapeLimits, {
        inputTokens: () => estimatedInput(mediaRulesFor("openai", facts.model)),
        outputCap: ownCap,
      })
    : undefined;
  /** The body bound upstream: the caller's, or with what a guardrail redacted taken out. */
  let sent = body;
  /** What the answer goes through on its way back, when the guardrails stage says it must. */
  let answer: AnswerFilter | undefined;
  const finishGuard = (guarded: GuardedRequest<Body>) => {
    if (guarded.blocked) return guarded;
    sent = guarded.body;
    if (guarded.answer) answer = { guard: guarded.answer, errorEvent: (error) => errorStreamEvent(c.get("format"), error) };
    return guarded;
  };
  // A request past its shape limits is refused as a guardrail refuses it: before admission, with a ledger row.
  const guard: GuardRun | undefined = tooBig
    ? () => ({ verdicts: [tooBig.verdict], blocked: tooBig.error })
    : guardrailsOver(c, { body, model: facts.model }, finishGuard);
  const maxOutput = c.get("config").limits.defaultMaxOutputTokens;
  const streamUsage = c.get("config").routing.streamUsage;
  /** The request for a target of another dialect, read once per provider; undefined where the format has no canonical form. */
  const canonical = new Map<string, CanonicalRequest>();
  const canonicalOf = (target: Target) => {
    if (!format.toCanonical) return undefined;
    const known = canonical.get(target.provider);
    if (known) return known;
    const request = format.toCanonical(sent, facts, target);
    canonical.set(target.provider, request);
    return request;
  };
  /** Top-level fields the canonical form does not carry: named in `x-sluice-dropped`, never refused. */
  const dropped = format.translated ? Object.keys(body).filter((field) => !format.translated?.has(field)) : [];
  const call = { stream: facts.stream, requestId: c.get("requestId"), clientHeaders: c.req.raw.headers };
  const outputLimit = shapeLimits?.max_output_tokens;
  /** Output tokens reserved per answer: the client's cap, else the API's own default, else the gateway's (never past the caller's limit). */
  const cap = Math.min(ownCap ?? output?.default ?? maxOutput, outputLimit ?? Number.POSITIVE_INFINITY);
  // A caller whose limits count tokens or dollars, or whose output is limited, has the upstream held to the cap when it set none.
  const hold =
    output !== undefined && ownCap === undefined && (outputLimit !== undefined || reservationBinds(c.get("principal")));
  // Where each format keeps it: the top level, Gemini's generationConfig, Converse's inferenceConfig.
  const { generationConfig: generation, inferenceConfig: inference } = body as {
    generationConfig?: { temperature?: unknown };
    inferenceConfig?: { temperature?: unknown };
  };
  const temperature = body.temperature ?? generation?.temperature ?? inference?.temperature;
  const alt = c.req.query("alt");
  const picked = pickedProvider(c);
  return await routeCall(c, {
    cache: {
      body,
      temperature: typeof temperature === "number" ? temperature : undefined,
      path: alt ? `${c.req.path}?alt=${alt}` : c.req.path,
      // The cap the upstream is held to is part of what it answers: a capped answer is not an uncapped caller's.
      upstreamChanges: hold ? { heldOutputCap: cap } : undefined,
    },
    model: facts.model,
    providerOverride: picked ?? facts.provider,
    providerParam: picked === undefined ? "provider" : "x-sluice-provider",
    streamed: facts.stream,
    modality: format.dialect === "openai-embeddings" ? "embedding" : undefined,
    guard,
    requestFacts: () => ({
      tools: Array.isArray(body.tools) && body.tools.length > 0,
      inputTokens: estimatedInput(mediaRulesFor("openai", facts.model)),
    }),
    estimate(first) {
      const rules = mediaRulesFor(first.descriptor.kind, first.upstreamModel);
      return {
        inputTokens: estimatedInput(rules),
        outputTokens: output ? cap * (output.choices?.(body) ?? 1) : 0,
      };
    },
    exchange(target, settings): Exchange {
      const upstream = { ...call, settings, upstreamModel: target.upstreamModel };
      const native = nativeEndpoint(target, format.dialect);
      // A stream whose text a guardrail rewrites goes through the canonical form, where its text is its own events.
      if (native && !(answer && facts.stream && format.toCanonical)) {
        format.forwardable?.(sent, {
          provider: target.provider,
          toolFees: target.toolFees,
          spendsDollars: spendsDollars(c.get("principal")),
        });
        const forwarded = format.forwarded(sent);
        return passthroughExchange({
          endpoint: native,
          call: upstream,
          body: hold && output ? output.set(forwarded, cap, target.descriptor.kind) : forwarded,
          source,
          hidden: format.hidden?.(body, streamUsage),
          answer,
        });
      }
      const endpoint = target.descriptor.endpoints(target.upstreamModel)[0];
      const canonical = endpoint && format.encoder ? canonicalOf(target) : undefined;
      if (!endpoint || !canonical || !format.encoder) throw untranslatable(format, target);
      const request = hold ? { ...canonical, maxTokens: canonical.maxTokens ?? cap } : canonical;
      const left = request.dropped?.length ? [...dropped, ...request.dropped] : dropped;
      return translatedExchange({
        endpoint,
        call: upstream,
        request,
        encoder: format.encoder(body, streamUsage),
        dropped: left,
        answer,
      });
    },
  });
}
