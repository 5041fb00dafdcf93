// Remote guardrails (webhooks, judges) as the stage runs them: which run
// before the upstream call and which beside it, a refusal beside it heard
// as soon as it comes, and a stream's closing events held for the review
// of its whole text.
import { describe, expect, it } from "vitest";
import { compileGuardrail, type Guardrail } from "../../src/guardrails/definitions.ts";
import type { Verdict } from "../../src/guardrails/input.ts";
import { Placeholders, StreamRestorer } from "../../src/guardrails/placeholders.ts";
import type { RemoteContext } from "../../src/guardrails/remote.ts";
import { guardRequest } from "../../src/guardrails/stage.ts";
import type { WebhookAnswer } from "../../src/guardrails/webhook.ts";
import { guardedEvents } from "../../src/routing/answer-review.ts";

const judged = (id: string, mode: Guardrail["mode"], judge: Record<string, unknown>, phase: Guardrail["phase"] = "input") =>
  compileGuardrail({
    id,
    name: `${id} policy`,
    phase,
    mode,
    kinds: [],
    options: { judge: { model: "m", ...judge } },
  }) as Guardrail;

/** A judge whose answers the test gives, one per guardrail id, when it likes. */
function scriptedJudges() {
  const waiting = new Map<string, (answer: WebhookAnswer | Error) => void>();
  const asked: string[] = [];
  const context: RemoteContext = {
    requestId: "req_test",
    model: "m",
    judge: (check) =>
      new Promise((resolve, reject) => {
        asked.push(check.model);
        waiting.set(check.model, (answer) => (answer instanceof Error ? reject(answer) : resolve(answer)));
      }),
  };
  const answer = (model: string, verdict: WebhookAnswer | Error) => waiting.get(model)?.(verdict);
  return { context, asked, answer };
}

const body = { model: "x", messages: [{ role: "user", content: "hello" }] };

describe("remote guardrails on a prompt", () => {
  it("start a parallel judge and a flag beside the call, and run the others before it", async () => {
    const { context, asked, answer } = scriptedJudges();
    const before = judged("before", "block", { model: "before" });
    const beside = judged("beside", "block", { model: "beside", parallel: true });
    const flag = judged("flag", "flag", { model: "flag" });
    const guarded = guardRequest(body, [before, beside, flag], context);
    expect(guarded).toBeInstanceOf(Promise);
    // Only the sequential judge is asked until it answers.
    await Promise.resolve();
    expect(asked).toEqual(["before"]);
    answer("before", { action: "allow" });
    const started = await guarded;
    expect(asked).toEqual(["before", "beside", "flag"]);
    expect(started.blocked).toBeUndefined();
    expect(started.pending).toBeInstanceOf(Promise);
    answer("flag", { action: "flag", categories: ["odd"] });
    answer("beside", { action: "allow" });
    await started.pending;
    expect(started.verdicts).toEqual<Verdict[]>([
      { guardrail: "before", phase: "input", verdict: "passed" },
      { guardrail: "flag", phase: "input", verdict: "flagged", categories: ["odd"] },
      { guardrail: "beside", phase: "input", verdict: "passed" },
    ]);
  });

  it("hears a refusal beside the call as soon as it comes, whatever the others still ask", async () => {
    const { context, answer } = scriptedJudges();
    const slow = judged("slow", "block", { model: "slow", parallel: true });
    const quick = judged("quick", "block", { model: "quick", parallel: true });
    const started = guardRequest(body, [slow, quick], context);
    if (started instanceof Promise) throw new Error("nothing runs before the call");
    answer("quick", { action: "block", categories: ["jailbreak"] });
    await expect(started.pending).rejects.toMatchObject({ status: 400, code: "guardrail_blocked" });
    // A judge that fails closed refuses with a 503; one that fails open passes, recorded.
    const closed = guardRequest(body, [judged("c", "block", { model: "c", parallel: true })], context);
    const open = guardRequest(body, [judged("o", "block", { model: "o", parallel: true, on_error: "allow" })], context);
    answer("c", new Error("timed out"));
    answer("o", new Error("timed out"));
    if (closed instanceof Promise || open instanceof Promise) throw new Error("nothing runs before the call");
    await expect(closed.pending).rejects.toMatchObject({ status: 503, code: "guardrail_unavailable" });
    await open.pending;
    expect(open.verdicts).toEqual([{ guardrail: "o", phase: "input", verdict: "unavailable" }]);
  });

  it("costs a caller with no remote guardrail nothing: synchronous, nothing pending", () => {
    const guarded = guardRequest(body, [], scriptedJudges().context);
    expect(guarded).not.toBeInstanceOf(Promise);
    expect(guarded).toEqual({ body, verdicts: [], answer: undefined });
  });
});

describe("a stream's answer under review", () => {
  it("holds the finish and what follows until the review of the whole text passes", async () => {
    const reviewed: string[][] = [];
    const events = guardedEvents(new StreamRestorer(new Placeholders()), async (texts) => {
      reviewed.push(texts);
    });
    expect(events.pass({ type: "start", id: "a", model: "m" })).toHaveLength(1);
    expect(events.pass({ type: "text", text: "Hello " })).toEqual([{ type: "text", text: "Hello " }]);
    expect(events.pass({ type: "text", text: "world" })).toEqual([{ type: "text", text: "world" }]);
    expect(events.pass({ type: "finish", reason: "stop" })).toEqual([]);
    expect(events.pass({ type: "usage", usage: { promptTokens: 1, completionTokens: 2, cachedTokens: 0 } })).toEqual([]);
    expect(reviewed).toEqual([]);
    expect((await events.close()).map((e) => e.type)).toEqual(["finish", "usage"]);
    expect(reviewed).toEqual([["Hello world"]]);
  });

  it("gives the refusal instead of the closing events when the review blocks", async () => {
    const events = guardedEvents(new StreamRestorer(new Placeholders()), async () => {
      throw new Error("blocked");
    });
    events.pass({ type: "text", text: "bad" });
    events.pass({ type: "finish", reason: "stop" });
    await expect(events.close()).rejects.toThrow("blocked");
  });
});
