// A realtime voice session: the caller's WebSocket to Sluice, relayed to a
// WebSocket Sluice opens to the provider with the provider's key (which the
// caller never sees). A caller whose `request_limits` refuse audio or text
// is refused the session. Events go both ways as they come; the provider's
// `response.done` events and its input transcriptions are read for usage
// (realtime/usage.ts) and charged to the caller's limits as each is done; a
// session whose caller can no longer cover what it used (a quota or budget
// spent, by this session or by others, a key revoked or blocked) is ended
// with an error event. When either side closes the other is closed with the
// same code, and the session is billed and the rest of it settled.
import { assertDeploymentAllowed, reauthenticate, reloadCaller } from "../auth/index.ts";
import { KEY_CACHE_TTL_MS } from "../auth/keys.ts";
import type { GatewayContext } from "../context.ts";
import { credentialsFor, ownedCredentials } from "../credentials/pool.ts";
import { checkedName, modelName } from "../formats/fields.ts";
import { errorBody } from "../formats/index.ts";
import { GatewayError } from "../http/errors.ts";
import { spendsDollars, unpricedRefusal } from "../limits/binding.ts";
import { admit } from "../limits/index.ts";
import { reason } from "../log.ts";
import { catalogFor } from "../routing/catalog.ts";
import { assertTargetAllowed } from "../routing/data-controls.ts";
import { guardStage, refuseUnguardable } from "../routing/guard-stage.ts";
import { pickedProvider } from "../routing/proxy.ts";
import { naturalProvider, planRoute, resolveTarget } from "../routing/resolve.ts";
import { UsageMeter } from "../usage/meter.ts";
import type { Price } from "../usage/prices.ts";
import { writeUsage } from "../usage/writer.ts";
import { sessionLimitRefusal } from "./request-limits.ts";
import {
  addResponseUsage,
  addTranscription,
  emptyUsage,
  readsEvent,
  sessionRecord,
  spent,
  transcriberOf,
  transcriptionUsage,
} from "./usage.ts";

/** OpenAI's own default for a session that names no model. */
const DEFAULT_MODEL = "gpt-realtime";
/** The subprotocol browsers send with their credential (`openai-insecure-api-key.<credential>`), answered as accepted. */
export const REALTIME_PROTOCOL = "realtime";

/**
 * A refusal that ends a running session: a quota or budget that cannot
 * cover what it used, a caller revoked or blocked since it opened. A
 * per-minute window, or a limits store that cannot be reached, does not: the
 * usage is then settled when the session closes.
 */
const endsSession = (error: unknown): error is GatewayError =>
  error instanceof GatewayError &&
  (error.status === 401 || error.status === 403 || (error.status === 429 && error.code !== "rate_limit_exceeded"));

/** The close code a session ended by Sluice's own policy gets (RFC 6455's policy violation). */
const POLICY_CLOSE = 1008;

const unsupported = (provider: string) =>
  new GatewayError(
    400,
    "invalid_request",
    `Realtime sessions are served by OpenAI's realtime models; \`${provider}\` has no realtime API Sluice can reach.`,
    { param: "model", code: "realtime_unsupported" },
  );

/** A close code the caller may be sent: the reserved ones (1005, 1006, 1015) become 1011 or 1000. */
const sendableCode = (code: number) =>
  code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006)
    ? code
    : 1000;

export async function realtimeSession(c: GatewayContext): Promise<Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new GatewayError(426, "invalid_request", "`/v1/realtime` is a WebSocket: connect with `Upgrade: websocket`.", {
      code: "upgrade_required",
    });
  }
  const config = c.get("config");
  const services = c.get("services");
  const principal = c.get("principal");
  const defer = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const model = checkedName(modelName, c.req.query("model") ?? DEFAULT_MODEL, "model");
  const picked = pickedProvider(c);
  const catalog = await catalogFor(c);
  await refuseUnguardable(c, "a realtime session", catalog);
  const [target] = planRoute({ config, catalog, model, providerOverride: picked, providerParam: "x-sluice-provider" });
  if (!target) throw unsupported(model);
  const natural = naturalProvider(config, catalog, model, picked, target);
  assertDeploymentAllowed(principal, target, natural);
  assertTargetAllowed(principal, target);
  if (spendsDollars(principal) && !target.price) throw unpricedRefusal(target);
  // Refused as a guardrail refuses a request: before anything is admitted or sent, with a ledger row.
  const tooBig = sessionLimitRefusal(principal);
  if (tooBig) {
    const run = () => ({ verdicts: [tooBig.verdict], blocked: tooBig.error });
    await guardStage(c, { run, catalog, first: target, model, streamed: true });
  }
  const realtime = target.descriptor.realtime;
  if (!realtime) throw unsupported(target.provider);
  const [credential] = credentialsFor(target.provider, await ownedCredentials(c), target.credentials, config.encryption);
  if (!credential) {
    throw new GatewayError(
      404,
      "not_found",
      `The model \`${model}\` needs provider \`${target.provider}\`, which is not configured here.`,
      {
        code: "model_not_found",
        param: "model",
      },
    );
  }
  // A session's length is unknown: nothing is reserved, but a caller already over a limit is refused here.
  const admission = admit({
    config,
    services,
    principal,
    estimate: { inputTokens: 0, outputTokens: 0 },
    price: target.price,
    defer,
    refresh: async () => assertDeploymentAllowed(await reauthenticate(c), target, natural),
  });
  const limitHeaders = await admission.ready;
  const secret = await credential.secret();
  const settings = { ...target.settings, ...credential.settings, secret };
  const upstream = await fetch(realtime.request(settings, target.upstreamModel));
  const provider = upstream.webSocket;
  if (!provider) {
    defer(admission.settle({ tokens: 0, usd: 0 }));
    // The provider's refusal, by its status only: its body can quote the key.
    throw new GatewayError(502, "upstream", `${target.provider} refused the realtime session (HTTP ${upstream.status}).`, {
      code: "upstream_error",
    });
  }
  provider.accept();
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();

  const meter = new UsageMeter({
    requestId: c.get("requestId"),
    principal,
    provider: target.provider,
    model,
    upstreamModel: target.upstreamModel,
    clientFormat: c.get("format"),
    streamed: true,
    startedAt: c.get("startedAt"),
    price: target.price,
    toolFees: undefined,
    estimatedPromptTokens: 0,
  });
  meter.flags.modality = "realtime";
  meter.markFirstByte();
  const usage = emptyUsage();
  /** The model transcribing the session's input, as the provider last named it, priced as a request for it on this provider would be. */
  let transcriber: { model: string; price: Price | undefined } | undefined;
  const transcriberPrice = (name: string) => {
    try {
      return resolveTarget(config, catalog, name, target.provider).price;
    } catch {
      return undefined;
    }
  };
  let ended: (() => void) | undefined;
  const closed = new Promise<void>((resolve) => {
    ended = resolve;
  });
  let open = true;
  /** The caller as the session's charges see it: read again by identity, so a change made since it opened applies. */
  const caller = { principal, loadedAt: Date.now() };
  const reload = async () => {
    const fresh = await reloadCaller(c, caller.principal);
    assertDeploymentAllowed(fresh, target, natural);
    assertTargetAllowed(fresh, target);
    Object.assign(caller, { principal: fresh, loadedAt: Date.now() });
  };
  /** What has been charged to the caller's limits while the session ran; the rest is settled when it closes. */
  let charged = { tokens: 0, usd: 0 };
  /** Charges run one after another, and the close settles after the last of them. */
  let charging = Promise.resolve();
  const end = (from: "client" | "provider" | "sluice", code: number, reason: string) => {
    if (!open) return;
    open = false;
    // The other side is closed with the same code; the closing side gets its close answered.
    for (const socket of from === "client" ? [provider, server] : [server, provider]) {
      try {
        socket.close(sendableCode(code), reason.slice(0, 120));
      } catch {
        // already closed
      }
    }
    const record = sessionRecord(meter, usage);
    ended?.();
    const { tokens } = spent(usage, target.price);
    // The counters take what no charge took; the per-minute tokens windows, which charges leave alone, take it all.
    const rest = charging.then(() =>
      admission.settle({ tokens: tokens - charged.tokens, usd: record.costUsd - charged.usd, rateTokens: tokens }),
    );
    defer(Promise.all([writeUsage(services, record), rest]));
  };
  /** Ends the session for a refusal: the caller is told why, in OpenAI's realtime error event, and both sides are closed. */
  const cut = (refusal: GatewayError) => {
    if (!open) return;
    const { error } = errorBody("openai", refusal) as { error: Record<string, unknown> };
    try {
      server.send(JSON.stringify({ type: "error", event_id: `event_sluice_${crypto.randomUUID()}`, error }));
    } catch {
      // the caller is gone: the close below is all that is left
    }
    end("sluice", POLICY_CLOSE, refusal.code ?? "limit");
  };
  /**
   * Charges what the session used since the last charge to the caller's
   * quota and budget counters, checked as a request's reservation would be:
   * the caller's other requests see it at once, and a caller that cannot
   * cover it ends the session.
   */
  const charge = async () => {
    const used = spent(usage, target.price);
    const delta = { tokens: used.tokens - charged.tokens, usd: used.usd - charged.usd };
    if (delta.tokens <= 0 && delta.usd <= 0) return;
    try {
      // The caller read again as often as a request's would be; by who they are, since the credential may have expired.
      if (Date.now() - caller.loadedAt > KEY_CACHE_TTL_MS) await reload();
      const step = admit({
        config,
        services,
        principal: caller.principal,
        estimate: { inputTokens: delta.tokens, outputTokens: 0, usd: delta.usd },
        price: target.price,
        defer,
        refresh: reload,
        only: "spend",
      });
      await step.ready;
      // Limits that could not be reached took nothing: the close settles it with the rest.
      if (!step.reserved) return;
      charged = used;
      await step.settle(delta);
    } catch (error) {
      // Not charged: the close settles it with the rest.
      if (endsSession(error)) cut(error);
      else if (!(error instanceof GatewayError)) console.error(`sluice: ${c.get("requestId")} realtime charge: ${reason(error)}`);
    }
  };
  server.addEventListener("message", (event) => {
    if (open) provider.send(event.data);
  });
  /** Reads one of the provider's events: usage is added and charged, a named transcription model noted and priced. */
  const read = (event: unknown) => {
    const type = (event as { type?: unknown }).type;
    if (type === "response.done") {
      addResponseUsage(usage, event);
    } else if (type === "conversation.item.input_audio_transcription.completed") {
      const used = transcriptionUsage(event);
      if (!used) return;
      addTranscription(usage, used, transcriber?.price);
      // Dollars bind only what has a price: a caller they bind may not run an unpriced transcription (recorded at $0).
      if (!transcriber?.price && spendsDollars(caller.principal)) {
        const refusal = unpricedRefusal({ model: transcriber?.model ?? "(unnamed)", provider: target.provider });
        charging = charging.then(() => cut(refusal)).catch(() => undefined);
        return;
      }
    } else {
      const named = transcriberOf(event);
      if (named === null) transcriber = undefined;
      else if (named !== undefined && named !== transcriber?.model) {
        transcriber = { model: named, price: transcriberPrice(named) };
      }
      return;
    }
    charging = charging.then(charge).catch(() => undefined);
  };
  provider.addEventListener("message", (event) => {
    // After the close the session's record is written: a late event is relayed to nobody and counted nowhere.
    if (open && typeof event.data === "string" && readsEvent(event.data)) {
      try {
        read(JSON.parse(event.data));
      } catch {
        // not JSON: relayed as it came
      }
    }
    if (open) server.send(event.data);
  });
  server.addEventListener("close", (event) => end("client", event.code, event.reason));
  provider.addEventListener("close", (event) => end("provider", event.code, event.reason));
  server.addEventListener("error", () => end("client", 1011, "client connection failed"));
  provider.addEventListener("error", () => end("provider", 1011, "provider connection failed"));
  // The session's record is deferred work of this request: written when it closes.
  defer(closed);
  const protocols = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((name) => name.trim());
  return new Response(null, {
    status: 101,
    webSocket: client,
    headers: {
      ...limitHeaders,
      "x-sluice-provider": target.provider,
      ...(protocols.includes(REALTIME_PROTOCOL) && { "sec-websocket-protocol": REALTIME_PROTOCOL }),
    },
  });
}
