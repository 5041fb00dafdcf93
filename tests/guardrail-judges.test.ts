// Webhook and judge guardrails beside the upstream call and on answers. The
// order of verdict and upstream is shown by the mock checker's `HOLDME`,
// which keeps its verdict until the test releases it: the upstream has the
// prompt (and has written its whole answer) while the verdict is still out,
// and the caller has nothing until it comes.
import { describe, expect, it } from "vitest";
import { BASE, callWorker, mockProviderBindings, sseData, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { uniqueId } from "./identity.ts";

const mockRoot = String(mockProviderBindings.OPENAI_BASE_URL).replace(/\/v1$/, "");
const call = (request: Request) => callWorker(request, mockProviderBindings);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Json = Record<string, unknown>;

const post = (path: string, headers: Record<string, string>, body: unknown) =>
  new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

async function admin(path: string, body: unknown) {
  const { response } = await call(post(path, { authorization: `Bearer ${TEST_ADMIN_KEY}` }, body));
  return { status: response.status, body: (await response.json()) as Json };
}

/** A key checked by one webhook guardrail (on the mock's checker) or one judge. */
async function checkedKey(spec: { phase: string; mode?: string; webhook?: Json; judge?: Json }) {
  const id = uniqueId("gj");
  const service = uniqueId("svc");
  const name = `Check ${id}`;
  const options = spec.judge
    ? { judge: spec.judge }
    : { webhook: { url: `${mockRoot}/__mock/guard/${service}`, timeout_ms: 10_000, ...spec.webhook } };
  const made = await admin("/admin/guardrails", { id, name, phase: spec.phase, mode: spec.mode ?? "block", options });
  expect(made.status).toBe(201);
  const key = await admin("/admin/keys", { settings: { guardrails: [id] } });
  return { id, name, service, key: String(key.body.key) };
}

interface Format {
  name: string;
  request(key: string, text: string, stream: boolean, headers?: Record<string, string>): Request;
  /** The refusal's message, checked to be in the format's own error shape. */
  refusal(body: Json): string;
  /** A stream's text, and whether it ended cleanly or with the error event (whose message is returned). */
  stream(response: Response): Promise<{ text: string; error?: string }>;
  whole(body: Json): string;
}

const FORMATS: Format[] = [
  {
    name: "openai chat",
    request: (key, text, stream, headers = {}) =>
      post(
        "/v1/chat/completions",
        { authorization: `Bearer ${key}`, ...headers },
        { model: "mock-echo", stream, messages: [{ role: "user", content: text }] },
      ),
    refusal(body) {
      const error = body.error as { code: string; message: string };
      expect(error.code).toBe("guardrail_blocked");
      return error.message;
    },
    async stream(response) {
      const events = await sseData(response);
      const chunks = events.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as Json);
      const error = chunks.find((c) => c.error) as { error: { message: string } } | undefined;
      const choices = chunks.flatMap((c) => (c.choices ?? []) as { delta: { content?: string }; finish_reason?: string }[]);
      const text = choices.map((c) => c.delta.content ?? "").join("");
      if (!error) {
        expect(events.at(-1)).toBe("[DONE]");
        return { text };
      }
      // Ended by the refusal: no finish, no [DONE].
      expect(events).not.toContain("[DONE]");
      expect(choices.some((c) => c.finish_reason)).toBe(false);
      expect(chunks.at(-1)).toBe(error);
      return { text, error: error.error.message };
    },
    whole: (body) => ((body.choices as { message: { content: string } }[])[0]?.message.content ?? "") as string,
  },
  {
    name: "anthropic",
    request: (key, text, stream, headers = {}) =>
      post(
        "/v1/messages",
        { "x-api-key": key, "anthropic-version": "2023-06-01", ...headers },
        { model: "anthropic/mock-echo", max_tokens: 256, stream, messages: [{ role: "user", content: text }] },
      ),
    refusal(body) {
      expect(body.type).toBe("error");
      const error = body.error as { type: string; message: string };
      expect(error.type).toBe("invalid_request_error");
      return error.message;
    },
    async stream(response) {
      const events = (await sseData(response)).map((d) => JSON.parse(d) as { type: string; delta?: { text?: string } });
      expect(events[0]?.type).toBe("message_start");
      const text = events.map((e) => (e.type === "content_block_delta" ? (e.delta?.text ?? "") : "")).join("");
      const last = events.at(-1) as { type: string; error?: { message: string } };
      if (last.type !== "error") {
        expect(last.type).toBe("message_stop");
        return { text };
      }
      expect(events.map((e) => e.type)).not.toContain("message_delta");
      expect(events.map((e) => e.type)).not.toContain("message_stop");
      return { text, error: last.error?.message };
    },
    whole: (body) => (body.content as { text: string }[]).map((b) => b.text).join(""),
  },
];

/** Polls the mock until `read` gives something (its records land a moment after the calls). */
async function until<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(25);
  }
  throw new Error(`never happened: ${what}`);
}

const deliveries = async (service: string) =>
  (await (await fetch(`${mockRoot}/__mock/guard/${service}`)).json()) as { body: string }[];
const release = (service: string) => fetch(`${mockRoot}/__mock/guard/${service}/release`, { method: "POST" });

/** The request id the checker was asked about, once it was. */
const askedAbout = async (service: string) =>
  (JSON.parse((await until(async () => (await deliveries(service))[0], "the checker was asked")).body) as { request_id: string })
    .request_id;

/** The upstream's record once its whole answer was written. */
const upstreamFinished = (requestId: string) =>
  until(async () => {
    const seen = await upstreamRequest(requestId);
    return seen.finished ? seen : undefined;
  }, "the upstream answered");

describe("a webhook or judge beside the upstream call", () => {
  for (const format of FORMATS) {
    for (const stream of [false, true]) {
      const how = `${format.name}, ${stream ? "streamed" : "whole"}`;

      it(`starts the upstream at once and holds its answer until the verdict passes (${how})`, async () => {
        const checked = await checkedKey({ phase: "input", webhook: { parallel: true } });
        const text = `HOLDME ${uniqueId("t")}`;
        let answered = false;
        const pending = call(format.request(checked.key, text, stream)).finally(() => {
          answered = true;
        });
        const requestId = await askedAbout(checked.service);
        // The upstream has the prompt and has written its whole answer; the verdict is still out, and so is the answer.
        expect((await upstreamFinished(requestId)).abandoned).toBe(false);
        expect(answered).toBe(false);
        await release(checked.service);
        const done = await pending;
        expect(done.response.status).toBe(200);
        expect(done.response.headers.get("x-request-id")).toBe(requestId);
        if (stream) expect(await format.stream(done.response)).toEqual({ text });
        else expect(format.whole((await done.response.json()) as Json)).toBe(text);
        await done.settled();
        const row = await usageRow(requestId);
        expect(row).toMatchObject({ status: 200, attempts: 1 });
        expect(row?.metadata.guardrails).toEqual([{ guardrail: checked.id, phase: "input", verdict: "passed" }]);
      });

      it(`refuses after the upstream answered, as a sequential check would, and bills what the upstream had (${how})`, async () => {
        const checked = await checkedKey({ phase: "input", webhook: { parallel: true } });
        const pending = call(format.request(checked.key, `HOLDME BLOCKME ${uniqueId("t")}`, stream));
        const requestId = await askedAbout(checked.service);
        await upstreamFinished(requestId);
        await release(checked.service);
        const done = await pending;
        // Not a byte of the answer: the refusal, whole, in the caller's format.
        expect(done.response.status).toBe(400);
        expect(done.response.headers.get("content-type")).toContain("application/json");
        expect(format.refusal((await done.response.json()) as Json)).toBe(
          `The request was blocked by the guardrail \`${checked.name}\`.`,
        );
        await done.settled();
        const row = await usageRow(requestId);
        expect(row).toMatchObject({ status: 400, attempts: 1 });
        expect(row?.promptTokens).toBeGreaterThan(0);
        // A whole answer's reported usage is read; a stream's first chunk says no more than the prompt's estimate.
        if (stream) expect(row).toMatchObject({ completionTokens: 0, metadata: { usage_estimated: true } });
        else expect(row?.completionTokens).toBeGreaterThan(0);
        expect(row?.metadata.guardrails).toEqual([
          { guardrail: checked.id, phase: "input", verdict: "blocked", categories: ["test"] },
        ]);
        expect(row?.metadata.route).toEqual([expect.objectContaining({ outcome: "guardrail_refused" })]);
      });
    }
  }

  it("aborts the upstream when the refusal comes before its answer", async () => {
    for (const stream of [false, true]) {
      const checked = await checkedKey({ phase: "input", webhook: { parallel: true } });
      const request = FORMATS[0]?.request(checked.key, "HOLDME BLOCKME", stream, { "x-mock-latency-ms": "5000" }) as Request;
      const pending = call(request);
      const requestId = await askedAbout(checked.service);
      // The upstream has the prompt and is slow to answer; then the refusal comes.
      await until(() => upstreamRequest(requestId), "the upstream had the prompt");
      await release(checked.service);
      const done = await pending;
      expect(done.response.status).toBe(400);
      await until(async () => ((await upstreamRequest(requestId)).abandoned ? true : undefined), "the upstream was aborted");
      await done.settled();
      const row = await usageRow(requestId);
      expect(row).toMatchObject({ status: 400, completionTokens: 0, metadata: { usage_estimated: true } });
      expect(row?.promptTokens).toBeGreaterThan(0);
      expect(row?.costUsd).toBeGreaterThan(0);
    }
  });

  it("fails closed with a 503 and Retry-After, or open with the verdict recorded, on a timeout or an error", async () => {
    const closed = await checkedKey({ phase: "input", webhook: { parallel: true, timeout_ms: 300 } });
    for (const text of ["SLOWME", "FAILME"]) {
      const done = await call(FORMATS[1]?.request(closed.key, text, true) as Request);
      expect(done.response.status).toBe(503);
      expect(done.response.headers.get("retry-after")).toBe("5");
      expect(await done.response.json()).toEqual({
        type: "error",
        error: {
          type: "overloaded_error",
          message: `The guardrail \`${closed.name}\` could not give its verdict; try again shortly.`,
        },
      });
      const requestId = done.response.headers.get("x-request-id") ?? "";
      await done.settled();
      const row = await usageRow(requestId);
      expect(row?.status).toBe(503);
      // It ran beside the upstream call: the attempt had begun when the refusal stopped it.
      expect(row?.metadata.route).toEqual([expect.objectContaining({ outcome: "guardrail_refused" })]);
      expect(row?.metadata.guardrails).toEqual([{ guardrail: closed.id, phase: "input", verdict: "unavailable" }]);
    }
    const open = await checkedKey({ phase: "input", webhook: { parallel: true, timeout_ms: 300, on_error: "allow" } });
    const through = await call(FORMATS[0]?.request(open.key, "SLOWME but go on", false) as Request);
    expect(through.response.status).toBe(200);
    await through.settled();
    const row = await usageRow(through.response.headers.get("x-request-id") ?? "");
    expect(row?.metadata.guardrails).toEqual([{ guardrail: open.id, phase: "input", verdict: "unavailable" }]);
  });

  it("runs a flag alongside without being asked, since it never blocks", async () => {
    const checked = await checkedKey({ phase: "input", mode: "flag" });
    const pending = call(FORMATS[0]?.request(checked.key, "HOLDME BLOCKME", false) as Request);
    const requestId = await askedAbout(checked.service);
    await upstreamFinished(requestId);
    await release(checked.service);
    const done = await pending;
    expect(done.response.status).toBe(200);
    await done.settled();
    expect((await usageRow(requestId))?.metadata.guardrails).toEqual([
      { guardrail: checked.id, phase: "input", verdict: "flagged", categories: ["test"] },
    ]);
  });

  it("reads a judge's verdict beside the call: blocks, passes, fails closed or open", async () => {
    // mock-echo says back the last user turn: the prompt itself is the judge's answer.
    const judge = { model: "openai/mock-echo", kind: "chat", parallel: true, timeout_ms: 5000 };
    const closed = await checkedKey({ phase: "input", judge });
    const unsafe = await call(FORMATS[1]?.request(closed.key, "unsafe\nprompt injection", false) as Request);
    expect(unsafe.response.status).toBe(400);
    expect(FORMATS[1]?.refusal((await unsafe.response.json()) as Json)).toBe(
      `The request was blocked by the guardrail \`${closed.name}\`.`,
    );
    await unsafe.settled();
    const unsafeRow = await usageRow(unsafe.response.headers.get("x-request-id") ?? "");
    expect(unsafeRow?.metadata.guardrails).toEqual([
      { guardrail: closed.id, phase: "input", verdict: "blocked", categories: ["prompt_injection"] },
    ]);
    expect(unsafeRow?.metadata.route).toEqual([expect.objectContaining({ outcome: "guardrail_refused" })]);
    const safe = await call(FORMATS[0]?.request(closed.key, "safe", true) as Request);
    expect(safe.response.status).toBe(200);
    expect(await FORMATS[0]?.stream(safe.response)).toEqual({ text: "safe" });
    const unclear = await call(FORMATS[0]?.request(closed.key, "I cannot say", false) as Request);
    expect(unclear.response.status).toBe(503);
    expect(((await unclear.response.json()) as { error: { code: string } }).error.code).toBe("guardrail_unavailable");
    const open = await checkedKey({ phase: "input", judge: { ...judge, on_error: "allow" } });
    const through = await call(FORMATS[0]?.request(open.key, "I cannot say", false) as Request);
    expect(through.response.status).toBe(200);
    await through.settled();
    expect((await usageRow(through.response.headers.get("x-request-id") ?? ""))?.metadata.guardrails).toEqual([
      { guardrail: open.id, phase: "input", verdict: "unavailable" },
    ]);
  });
});

describe("a judge's call and the caller's data controls", () => {
  it("is held to them: a judge on a provider the caller may not reach gives no verdict, one it may reach does", async () => {
    const keyWith = async (judgeModel: string) => {
      const id = uniqueId("gj");
      const judge = { model: judgeModel, kind: "chat", timeout_ms: 5000 };
      const made = await admin("/admin/guardrails", {
        id,
        name: `Check ${id}`,
        phase: "input",
        mode: "block",
        options: { judge },
      });
      expect(made.status).toBe(201);
      const key = await admin("/admin/keys", { settings: { guardrails: [id], allowed_providers: ["anthropic"] } });
      return { id, key: String(key.body.key) };
    };
    const ask = (key: string) =>
      call(
        post(
          "/v1/chat/completions",
          { authorization: `Bearer ${key}` },
          { model: "anthropic/mock-echo", messages: [{ role: "user", content: "safe" }] },
        ),
      );
    // The judge's model is served by OpenAI, where this caller's prompts may not go: no verdict, so closed.
    const elsewhere = await keyWith("openai/mock-echo");
    const refused = await ask(elsewhere.key);
    expect(refused.response.status).toBe(503);
    expect(((await refused.response.json()) as { error: { code: string } }).error.code).toBe("guardrail_unavailable");
    await refused.settled();
    expect((await usageRow(refused.response.headers.get("x-request-id") ?? ""))?.metadata.guardrails).toEqual([
      { guardrail: elsewhere.id, phase: "input", verdict: "unavailable" },
    ]);
    // The same judge on the provider the caller may reach answers `safe`, and the request goes on.
    const inside = await keyWith("anthropic/mock-echo");
    const passed = await ask(inside.key);
    expect(passed.response.status).toBe(200);
    expect(((await passed.response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe(
      "safe",
    );
  });
});

describe("a webhook or judge on answers", () => {
  for (const format of FORMATS) {
    it(`reads a whole answer before the caller has it: a block is a 400, billed (${format.name})`, async () => {
      const checked = await checkedKey({ phase: "output" });
      const fine = await call(format.request(checked.key, "all fine", false));
      expect(fine.response.status).toBe(200);
      expect(format.whole((await fine.response.json()) as Json)).toBe("all fine");
      const [delivery] = await deliveries(checked.service);
      expect(JSON.parse(delivery?.body ?? "{}")).toMatchObject({ phase: "output", texts: ["all fine"] });
      await fine.settled();
      expect((await usageRow(fine.response.headers.get("x-request-id") ?? ""))?.metadata.guardrails).toEqual([
        { guardrail: checked.id, phase: "output", verdict: "passed" },
      ]);

      const blocked = await call(format.request(checked.key, "say BLOCKME", false));
      expect(blocked.response.status).toBe(400);
      expect(format.refusal((await blocked.response.json()) as Json)).toBe(
        `The answer was blocked by the guardrail \`${checked.name}\`.`,
      );
      await blocked.settled();
      const row = await usageRow(blocked.response.headers.get("x-request-id") ?? "");
      expect(row?.status).toBe(400);
      expect(row?.completionTokens).toBeGreaterThan(0);
      expect(row?.metadata.guardrails).toEqual([
        { guardrail: checked.id, phase: "output", verdict: "blocked", categories: ["test"] },
      ]);
    });

    it(`reads a stream's text at its end: a block ends it with an error event instead of its close (${format.name})`, async () => {
      const checked = await checkedKey({ phase: "output" });
      const fine = await call(format.request(checked.key, "all fine here", true));
      expect(await format.stream(fine.response)).toEqual({ text: "all fine here" });
      const blocked = await call(format.request(checked.key, "stream BLOCKME", true));
      expect(blocked.response.status).toBe(200);
      // What went out before the end stays sent; the close is replaced by the refusal.
      const { error } = await format.stream(blocked.response);
      expect(error).toBe(`The answer was blocked by the guardrail \`${checked.name}\`.`);
      await blocked.settled();
      const row = await usageRow(blocked.response.headers.get("x-request-id") ?? "");
      expect(row?.status).toBe(400);
      expect(row?.metadata.guardrails).toEqual([
        { guardrail: checked.id, phase: "output", verdict: "blocked", categories: ["test"] },
      ]);
      const [, delivery] = await deliveries(checked.service);
      expect(JSON.parse(delivery?.body ?? "{}")).toMatchObject({ phase: "output", texts: ["stream BLOCKME"] });
    });
  }

  it("asks a judge about the answer, whole and streamed", async () => {
    const checked = await checkedKey({ phase: "output", judge: { model: "openai/mock-echo", kind: "chat", timeout_ms: 5000 } });
    // mock-echo answers with the prompt, and the judge (mock-echo too) answers with that answer.
    const whole = await call(FORMATS[0]?.request(checked.key, "unsafe\nleak", false) as Request);
    expect(whole.response.status).toBe(400);
    expect(FORMATS[0]?.refusal((await whole.response.json()) as Json)).toBe(
      `The answer was blocked by the guardrail \`${checked.name}\`.`,
    );
    const streamed = await call(FORMATS[1]?.request(checked.key, "unsafe\nleak", true) as Request);
    expect((await FORMATS[1]?.stream(streamed.response))?.error).toBe(
      `The answer was blocked by the guardrail \`${checked.name}\`.`,
    );
    await streamed.settled();
    expect((await usageRow(streamed.response.headers.get("x-request-id") ?? ""))?.metadata.guardrails).toEqual([
      { guardrail: checked.id, phase: "output", verdict: "blocked", categories: ["leak"] },
    ]);
    const safe = await call(FORMATS[1]?.request(checked.key, "safe", false) as Request);
    expect(safe.response.status).toBe(200);
  });
});
