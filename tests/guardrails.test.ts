// Guardrails end to end: policies made through the admin API and attached by
// settings, the request the mock upstream received, the answer the caller got
// back (whole and streamed, in every client format), and the ledger rows.
import { describe, expect, it } from "vitest";
import { signatureHeader } from "../src/usage/webhooks.ts";
import { BASE, callWorker, mockProviderBindings, PNG, sseData, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { uniqueId } from "./identity.ts";

/** The admin API through the same bindings as the calls, so a change drops the catalog copy those calls read. */
async function admin(method: string, path: string, body?: unknown) {
  const { response } = await callWorker(
    new Request(`${BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    mockProviderBindings,
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Format {
  name: string;
  request(key: string, model: string, text: string, stream: boolean): Request;
  /** The answer's text, from a whole body or the stream's events. */
  text(response: Response, stream: boolean): Promise<string>;
  /** The text of the last user turn the upstream received, in the upstream's format. */
  sentText(body: Record<string, unknown>): string;
}

const post = (path: string, headers: Record<string, string>, body: unknown) =>
  new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

type Json = Record<string, unknown>;
const last = <T>(list: unknown): T => (list as T[]).at(-1) as T;

/** The user's text as a provider of each wire format received it. */
function upstreamText(body: Json): string {
  if (Array.isArray(body.messages)) {
    const content = last<{ content: unknown }>(body.messages).content;
    return typeof content === "string" ? content : (content as { text: string }[]).map((p) => p.text).join("");
  }
  if (Array.isArray(body.contents))
    return last<{ parts: { text: string }[] }>(body.contents)
      .parts.map((p) => p.text)
      .join("");
  return String(body.input);
}

const FORMATS: Format[] = [
  {
    name: "openai chat",
    request: (key, model, text, stream) =>
      post(
        "/v1/chat/completions",
        { authorization: `Bearer ${key}` },
        { model, stream, messages: [{ role: "user", content: text }] },
      ),
    async text(response, stream) {
      if (!stream)
        return ((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? "";
      const events = await sseData(response);
      expect(events.at(-1)).toBe("[DONE]");
      return events
        .slice(0, -1)
        .map((d) => (JSON.parse(d) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "")
        .join("");
    },
    sentText: upstreamText,
  },
  {
    name: "anthropic",
    request: (key, model, text, stream) =>
      post(
        "/v1/messages",
        { "x-api-key": key, "anthropic-version": "2023-06-01" },
        { model, max_tokens: 256, stream, messages: [{ role: "user", content: text }] },
      ),
    async text(response, stream) {
      if (!stream) return ((await response.json()) as { content: { text: string }[] }).content.map((b) => b.text).join("");
      const events = (await sseData(response)).map((d) => JSON.parse(d) as { type: string; delta?: { text?: string } });
      expect(events[0]?.type).toBe("message_start");
      expect(events.at(-1)?.type).toBe("message_stop");
      return events.map((e) => (e.type === "content_block_delta" ? (e.delta?.text ?? "") : "")).join("");
    },
    sentText: upstreamText,
  },
  {
    name: "gemini",
    request: (key, model, text, stream) =>
      post(
        `/v1beta/models/${encodeURIComponent(model)}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`,
        { "x-goog-api-key": key },
        { contents: [{ role: "user", parts: [{ text }] }] },
      ),
    async text(response, stream) {
      type Chunk = { candidates: { content: { parts: { text?: string }[] } }[] };
      const chunks = stream ? (await sseData(response)).map((d) => JSON.parse(d) as Chunk) : [(await response.json()) as Chunk];
      return chunks.flatMap((c) => c.candidates[0]?.content.parts.map((p) => p.text ?? "") ?? []).join("");
    },
    sentText: upstreamText,
  },
  {
    name: "openai responses",
    request: (key, model, text, stream) =>
      post("/v1/responses", { authorization: `Bearer ${key}` }, { model, stream, input: text }),
    async text(response, stream) {
      type Item = { content?: { text: string }[] };
      if (!stream)
        return ((await response.json()) as { output: Item[] }).output
          .flatMap((i) => i.content?.map((c) => c.text) ?? [])
          .join("");
      const events = (await sseData(response)).map((d) => JSON.parse(d) as { type: string; delta?: string });
      expect(events.at(-1)?.type).toBe("response.completed");
      return events.map((e) => (e.type === "response.output_text.delta" ? (e.delta ?? "") : "")).join("");
    },
    sentText: upstreamText,
  },
];

async function guardrail(body: Record<string, unknown>): Promise<string> {
  const id = uniqueId("gr");
  const made = await admin("POST", "/admin/guardrails", { id, name: id, ...body });
  expect(made.status).toBe(201);
  return id;
}

async function keyWith(guardrails: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const made = await admin("POST", "/admin/keys", { settings: { guardrails }, ...extra });
  expect(made.status).toBe(201);
  return String(made.body.key);
}

const call = (request: Request) => callWorker(request, mockProviderBindings);

describe("guardrail policies through the admin API", () => {
  it("are created, read, listed, changed and deleted, and refused when they look for nothing or name a bad pattern", async () => {
    const id = uniqueId("gr-crud");
    const made = await admin("POST", "/admin/guardrails", {
      id,
      name: "No PII",
      phase: "input",
      mode: "redact",
      kinds: ["email", "card"],
      options: { patterns: [{ name: "ticket", regex: "TICKET-\\d+" }], words: ["falcon"] },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      id,
      name: "No PII",
      phase: "input",
      mode: "redact",
      kinds: ["email", "card"],
      options: { patterns: [{ name: "ticket", regex: "TICKET-\\d+" }], words: ["falcon"] },
      enabled: true,
    });
    expect((await admin("GET", `/admin/guardrails/${id}`)).body.name).toBe("No PII");
    const listed = (await admin("GET", "/admin/guardrails")).body.data as { id: string }[];
    expect(listed.map((g) => g.id)).toContain(id);
    const changed = await admin("PATCH", `/admin/guardrails/${id}`, { mode: "block", enabled: false });
    expect(changed.body).toMatchObject({ mode: "block", enabled: false });
    expect(
      (await admin("POST", "/admin/guardrails", { id, name: "x", phase: "input", mode: "flag", kinds: ["ip"] })).status,
    ).toBe(409);
    expect((await admin("DELETE", `/admin/guardrails/${id}`)).body).toEqual({ id, deleted: true });
    expect((await admin("GET", `/admin/guardrails/${id}`)).status).toBe(404);

    const empty = await admin("POST", "/admin/guardrails", { id: uniqueId("gr"), name: "x", phase: "input", mode: "block" });
    expect(empty.status).toBe(400);
    const bad = await admin("POST", "/admin/guardrails", {
      id: uniqueId("gr"),
      name: "x",
      phase: "input",
      mode: "block",
      options: { patterns: [{ name: "broken", regex: "(unclosed" }] },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("not a valid regular expression");
    for (const regex of ["(a+)+$", "(x|xy)*z", "(\\w+\\s?)*$"]) {
      const evil = await admin("POST", "/admin/guardrails", {
        id: uniqueId("gr"),
        name: "x",
        phase: "input",
        mode: "block",
        options: { patterns: [{ name: "evil", regex }] },
      });
      expect(evil.status).toBe(400);
      expect((evil.body.error as { message: string }).message).toContain("could take exponential time on some texts");
    }
    const kind = await admin("POST", "/admin/guardrails", {
      id: uniqueId("gr"),
      name: "x",
      phase: "input",
      mode: "block",
      kinds: ["dna"],
    });
    expect(kind.status).toBe(400);
  });
});

describe("an input guardrail that blocks", () => {
  it("refuses with a 400 in the caller's format naming the guardrail, sends nothing upstream, and records the verdict", async () => {
    const id = await guardrail({ name: "No secrets", phase: "input", mode: "block", kinds: ["secret"] });
    const key = await keyWith([id]);
    const secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123";
    const openai = await call(FORMATS[0]?.request(key, "openai/mock-echo", `use ${secret}`, false) as Request);
    expect(openai.response.status).toBe(400);
    const body = await openai.response.text();
    expect(JSON.parse(body)).toEqual({
      error: {
        message: "The request was blocked by the guardrail `No secrets`.",
        type: "invalid_request_error",
        code: "guardrail_blocked",
        param: null,
      },
    });
    expect(body).not.toContain(secret);
    const requestId = openai.response.headers.get("x-request-id") ?? "";
    await openai.settled();
    await expect(upstreamRequest(requestId)).rejects.toThrow();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ status: 400, promptTokens: 0, completionTokens: 0, costUsd: 0, attempts: 0 });
    expect(row?.metadata.guardrails).toEqual([{ guardrail: id, phase: "input", verdict: "blocked", categories: ["secret"] }]);
    expect(JSON.stringify(row)).not.toContain(secret);

    const anthropic = await call(FORMATS[1]?.request(key, "openai/mock-echo", `use ${secret}`, true) as Request);
    expect(anthropic.response.status).toBe(400);
    expect(await anthropic.response.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "The request was blocked by the guardrail `No secrets`." },
    });
    const gemini = await call(FORMATS[2]?.request(key, "openai/mock-echo", `use ${secret}`, false) as Request);
    expect(gemini.response.status).toBe(400);
    expect(((await gemini.response.json()) as { error: { status: string } }).error.status).toBe("INVALID_ARGUMENT");
  });

  it("lets a request with nothing to find through, its verdict `passed` on the ledger", async () => {
    const id = await guardrail({ name: "No secrets", phase: "input", mode: "block", kinds: ["secret"] });
    const key = await keyWith([id]);
    const ok = await call(FORMATS[0]?.request(key, "openai/mock-echo", "hello there", false) as Request);
    expect(ok.response.status).toBe(200);
    expect(await FORMATS[0]?.text(ok.response, false)).toBe("hello there");
    await ok.settled();
    const row = await usageRow(ok.response.headers.get("x-request-id") ?? "");
    expect(row?.metadata.guardrails).toEqual([{ guardrail: id, phase: "input", verdict: "passed" }]);
  });
});

const PROMPT = "Write to alice@example.com or call +44 20 7946 0958 about card 4111 1111 1111 1111.";
const REDACTED = "Write to [EMAIL_1] or call [PHONE_1] about card [CARD_1].";

describe("reversible redaction", () => {
  const cases = FORMATS.flatMap((format) =>
    ["openai/mock-echo", "anthropic/mock-echo", "gemini/mock-echo"].flatMap((model) =>
      [false, true].map((stream) => ({ format, model, stream })),
    ),
  );

  it.each(cases)(
    "$format.name to $model (stream $stream): placeholders go upstream, the values come back",
    async ({ format, model, stream }) => {
      const id = await guardrail({ name: "PII", phase: "input", mode: "redact", kinds: ["email", "phone", "card"] });
      const key = await keyWith([id]);
      const done = await call(format.request(key, model, PROMPT, stream));
      expect(done.response.status).toBe(200);
      expect(await format.text(done.response, stream)).toBe(PROMPT);
      await done.settled();
      const requestId = done.response.headers.get("x-request-id") ?? "";
      const received = await upstreamRequest(requestId);
      expect(format.sentText(received.body)).toBe(REDACTED);
      expect(JSON.stringify(received.body)).not.toContain("alice@example.com");
      const row = await usageRow(requestId);
      expect(row?.status).toBe(200);
      expect(row?.metadata.guardrails).toEqual([
        { guardrail: id, phase: "input", verdict: "redacted", categories: ["email", "phone", "card"] },
      ]);
    },
  );

  it("keeps an OpenAI client's stream in order, the placeholder never split in what it reads", async () => {
    const id = await guardrail({ name: "PII", phase: "input", mode: "redact", kinds: ["email"] });
    const key = await keyWith([id]);
    const done = await call(FORMATS[0]?.request(key, "openai/mock-echo", "[EMAIL_1] is a@b.io, not [EMAIL_2]", true) as Request);
    const events = (await sseData(done.response))
      .slice(0, -1)
      .map((d) => JSON.parse(d) as { choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[] });
    const deltas = events.map((e) => e.choices[0]?.delta.content ?? "");
    expect(events[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(events.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    // The caller's own `[EMAIL_1]` and `[EMAIL_2]` are text, not placeholders: the address went up as `[EMAIL_3]`.
    expect(deltas.join("")).toBe("[EMAIL_1] is a@b.io, not [EMAIL_2]");
    expect(upstreamText((await upstreamRequest(done.response.headers.get("x-request-id") ?? "")).body)).toBe(
      "[EMAIL_1] is [EMAIL_3], not [EMAIL_2]",
    );
    // The mock streams word by word: the restored address arrives in one delta, never as pieces of its placeholder.
    expect(deltas.length).toBeGreaterThan(4);
    expect(deltas.some((d) => d.includes("a@b.io"))).toBe(true);
    expect(deltas.some((d) => d.includes("[EMAIL_3") || d.endsWith("[EMAIL_"))).toBe(false);
    await done.settled();
  });
});

describe("a flag", () => {
  it("changes nothing and records its categories", async () => {
    const id = await guardrail({ name: "Watch IPs", phase: "both", mode: "flag", kinds: ["ip"] });
    const key = await keyWith([id]);
    const done = await call(FORMATS[0]?.request(key, "openai/mock-echo", "ping 10.0.0.1", false) as Request);
    expect(await FORMATS[0]?.text(done.response, false)).toBe("ping 10.0.0.1");
    await done.settled();
    const requestId = done.response.headers.get("x-request-id") ?? "";
    expect(upstreamText((await upstreamRequest(requestId)).body)).toBe("ping 10.0.0.1");
    expect((await usageRow(requestId))?.metadata.guardrails).toEqual([
      { guardrail: id, phase: "input", verdict: "flagged", categories: ["ip"] },
      { guardrail: id, phase: "output", verdict: "flagged", categories: ["ip"] },
    ]);
  });
});

describe("output guardrails", () => {
  it("redact what the model wrote, whole and streamed", async () => {
    const id = await guardrail({ name: "No SSN out", phase: "output", mode: "redact", kinds: ["ssn"] });
    const key = await keyWith([id]);
    for (const stream of [false, true]) {
      for (const format of FORMATS) {
        const done = await call(format.request(key, "anthropic/mock-echo", "my number is 123-45-6789 ok", stream));
        expect(await format.text(done.response, stream)).toBe("my number is [SSN_REDACTED] ok");
        await done.settled();
        const requestId = done.response.headers.get("x-request-id") ?? "";
        // Output only: the prompt went up as it was.
        expect(upstreamText((await upstreamRequest(requestId)).body)).toBe("my number is 123-45-6789 ok");
      }
    }
  });

  it("block a whole answer with a 400 and bill it; end a stream with an error event after what passed", async () => {
    const id = await guardrail({ name: "No SSN out", phase: "output", mode: "block", kinds: ["ssn"] });
    const key = await keyWith([id]);
    const whole = await call(FORMATS[0]?.request(key, "openai/mock-echo", "number 123-45-6789", false) as Request);
    expect(whole.response.status).toBe(400);
    expect(((await whole.response.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "guardrail_blocked",
      message: "The answer was blocked by the guardrail `No SSN out`.",
    });
    await whole.settled();
    const row = await usageRow(whole.response.headers.get("x-request-id") ?? "");
    expect(row?.status).toBe(400);
    expect(row?.completionTokens).toBeGreaterThan(0);
    expect(row?.metadata.guardrails).toEqual([{ guardrail: id, phase: "output", verdict: "blocked", categories: ["ssn"] }]);

    const text = `${"safe words ".repeat(40)}then 123-45-6789 and more`;
    const streamed = await call(FORMATS[0]?.request(key, "openai/mock-echo", text, true) as Request);
    expect(streamed.response.status).toBe(200);
    const events = await sseData(streamed.response);
    const last = JSON.parse(events.at(-1) ?? "{}") as { error?: { code: string; message: string } };
    expect(last.error).toMatchObject({
      code: "guardrail_blocked",
      message: "The answer was blocked by the guardrail `No SSN out`.",
    });
    const shown = events
      .slice(0, -1)
      .map((d) => (JSON.parse(d) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "")
      .join("");
    expect(text.startsWith(shown)).toBe(true);
    expect(shown).not.toContain("123-45-6789");
    await streamed.settled();
    const streamedRow = await usageRow(streamed.response.headers.get("x-request-id") ?? "");
    expect(streamedRow).toMatchObject({ status: 400, error: "The answer was blocked by the guardrail `No SSN out`." });
    expect(streamedRow?.completionTokens).toBeGreaterThan(0);
    expect(streamedRow?.metadata.guardrails).toEqual([
      { guardrail: id, phase: "output", verdict: "blocked", categories: ["ssn"] },
    ]);
  });
});

describe("inheritance", () => {
  it("a team's guardrail reaches its keys, and a key's settings only add to it", async () => {
    const block = await guardrail({ name: "Team blocks emails", phase: "input", mode: "block", kinds: ["email"] });
    const flag = await guardrail({ name: "Key flags IPs", phase: "input", mode: "flag", kinds: ["ip"] });
    const team = uniqueId("gr-team");
    expect((await admin("POST", "/admin/teams", { id: team, settings: { guardrails: [block] } })).status).toBe(201);
    const key = await keyWith([flag], { team_id: team });
    const refused = await call(FORMATS[0]?.request(key, "openai/mock-echo", "mail a@b.io from 10.0.0.1", false) as Request);
    expect(refused.response.status).toBe(400);
    await refused.settled();
    const ok = await call(FORMATS[0]?.request(key, "openai/mock-echo", "from 10.0.0.1", false) as Request);
    expect(ok.response.status).toBe(200);
    await ok.settled();
    expect((await usageRow(ok.response.headers.get("x-request-id") ?? ""))?.metadata.guardrails).toEqual([
      { guardrail: block, phase: "input", verdict: "passed" },
      { guardrail: flag, phase: "input", verdict: "flagged", categories: ["ip"] },
    ]);
    // An empty list at the key cannot take the team's away.
    const bare = await keyWith([], { team_id: team });
    expect((await call(FORMATS[0]?.request(bare, "openai/mock-echo", "a@b.io", false) as Request)).response.status).toBe(400);
  });

  it("a disabled or deleted guardrail stops applying", async () => {
    const id = await guardrail({ name: "Blocks emails", phase: "input", mode: "block", kinds: ["email"] });
    const key = await keyWith([id]);
    expect((await call(FORMATS[0]?.request(key, "openai/mock-echo", "a@b.io", false) as Request)).response.status).toBe(400);
    await admin("PATCH", `/admin/guardrails/${id}`, { enabled: false });
    expect((await call(FORMATS[0]?.request(key, "openai/mock-echo", "a@b.io", false) as Request)).response.status).toBe(200);
  });

  it("a policy made while an isolate serves its copy of the catalog guards that isolate's first request naming it", async () => {
    // Bindings of their own: a catalog copy the admin change below does not drop, as on an isolate other than the admin's.
    const elsewhere = { ...mockProviderBindings };
    const ask = (key: string, text: string) =>
      callWorker(FORMATS[0]?.request(key, "openai/mock-echo", text, false) as Request, elsewhere);
    expect((await ask(await keyWith([]), "warm the copy")).response.status).toBe(200);
    const id = await guardrail({ name: "Redacts emails", phase: "input", mode: "redact", kinds: ["email"] });
    const key = await keyWith([id]);
    const first = await ask(key, "mail ada@example.com");
    expect(first.response.status).toBe(200);
    const requestId = first.response.headers.get("x-request-id") ?? "";
    expect(upstreamText((await upstreamRequest(requestId)).body)).toBe("mail [EMAIL_1]");
    expect(await FORMATS[0]?.text(first.response, false)).toBe("mail ada@example.com");
    await first.settled();
    expect((await usageRow(requestId))?.metadata.guardrails).toEqual([
      { guardrail: id, phase: "input", verdict: "redacted", categories: ["email"] },
    ]);
  });
  it("a policy made under an id a caller already names guards that caller within one catalog refresh on an isolate that found it missing", async () => {
    // An isolate that re-reads its catalog every second, and keeps no copy the admin change below drops.
    const elsewhere = { ...mockProviderBindings, CATALOG_REFRESH: "1s" };
    const ask = (key: string, text: string) =>
      callWorker(FORMATS[0]?.request(key, "openai/mock-echo", text, false) as Request, elsewhere);
    const id = uniqueId("gr");
    const key = await keyWith([id]);
    const before = await ask(key, "mail ada@example.com");
    expect(before.response.status).toBe(200);
    expect(upstreamText((await upstreamRequest(before.response.headers.get("x-request-id") ?? "")).body)).toBe(
      "mail ada@example.com",
    );
    await before.settled();
    expect(
      (await admin("POST", "/admin/guardrails", { id, name: id, phase: "input", mode: "redact", kinds: ["email"] })).status,
    ).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // The isolate's catalog is due; its copy still lacks the policy, and the id it found missing a second ago is read again.
    const after = await ask(key, "mail ada@example.com");
    expect(after.response.status).toBe(200);
    const requestId = after.response.headers.get("x-request-id") ?? "";
    expect(upstreamText((await upstreamRequest(requestId)).body)).toBe("mail [EMAIL_1]");
    await after.settled();
    expect((await usageRow(requestId))?.metadata.guardrails).toEqual([
      { guardrail: id, phase: "input", verdict: "redacted", categories: ["email"] },
    ]);
  });
});

describe("the usage API", () => {
  it("groups a caller's requests by guardrail and verdict", async () => {
    const redact = await guardrail({ name: "PII", phase: "input", mode: "redact", kinds: ["email"] });
    const block = await guardrail({ name: "Secrets", phase: "input", mode: "block", kinds: ["secret"] });
    const made = await admin("POST", "/admin/keys", { settings: { guardrails: [redact, block] } });
    const key = String(made.body.key);
    const send = async (text: string) => {
      const done = await call(FORMATS[0]?.request(key, "openai/mock-echo", text, false) as Request);
      await done.response.text();
      await done.landed();
    };
    await send("mail a@b.io");
    await send("mail c@d.io");
    await send("key AKIAIOSFODNN7EXAMPLE");
    const grouped = await admin("GET", `/admin/usage?key_id=${made.body.id}&group_by=guardrail,guardrail_verdict`);
    expect(grouped.status).toBe(200);
    const data = (grouped.body.data as { guardrail: string; guardrail_verdict: string; requests: number; errors: number }[]).map(
      ({ guardrail, guardrail_verdict, requests, errors }) => ({ guardrail, guardrail_verdict, requests, errors }),
    );
    expect(data).toEqual(
      [
        { guardrail: redact, guardrail_verdict: "input:passed", requests: 1, errors: 1 },
        { guardrail: redact, guardrail_verdict: "input:redacted", requests: 2, errors: 0 },
        { guardrail: block, guardrail_verdict: "input:blocked", requests: 1, errors: 1 },
        { guardrail: block, guardrail_verdict: "input:passed", requests: 2, errors: 0 },
      ].sort((a, b) => (a.guardrail + a.guardrail_verdict).localeCompare(b.guardrail + b.guardrail_verdict)),
    );
  });
});

describe("request shape limits", () => {
  const limited = async (limits: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const made = await admin("POST", "/admin/keys", { settings: { request_limits: limits }, ...extra });
    expect(made.status).toBe(201);
    return String(made.body.key);
  };
  const chatBody = (messages: number, extra: Record<string, unknown> = {}) => ({
    model: "openai/mock-echo",
    messages: Array.from({ length: messages }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `turn ${i}` })),
    ...extra,
  });

  it("refuse a request past a limit with a 400 in the caller's format, send nothing upstream, and record it", async () => {
    const key = await limited({ max_messages: 3, max_tools: 1, denied_tools: ["delete_everything"], max_input_chars: 200 });
    const tooMany = await call(post("/v1/chat/completions", { authorization: `Bearer ${key}` }, chatBody(5)));
    expect(tooMany.response.status).toBe(400);
    expect(await tooMany.response.json()).toEqual({
      error: {
        message: "The request has 5 messages; this caller may send at most 3.",
        type: "invalid_request_error",
        code: "request_limit_exceeded",
        param: "messages",
      },
    });
    const requestId = tooMany.response.headers.get("x-request-id") ?? "";
    await tooMany.settled();
    await expect(upstreamRequest(requestId)).rejects.toThrow();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ status: 400, promptTokens: 0, costUsd: 0, attempts: 0 });
    expect(row?.metadata.guardrails).toEqual([
      { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: ["max_messages"] },
    ]);

    const tool = (name: string) => ({ type: "function", function: { name, parameters: { type: "object" } } });
    const tools = await call(
      post("/v1/chat/completions", { authorization: `Bearer ${key}` }, chatBody(1, { tools: [tool("a"), tool("b")] })),
    );
    expect(tools.response.status).toBe(400);
    expect(((await tools.response.json()) as { error: { message: string } }).error.message).toBe(
      "The request offers 2 tools; this caller may offer at most 1.",
    );
    const denied = await call(
      post(
        "/v1/messages",
        { "x-api-key": key, "anthropic-version": "2023-06-01" },
        {
          model: "openai/mock-echo",
          max_tokens: 64,
          messages: [{ role: "user", content: "hi" }],
          tools: [{ name: "delete_everything", input_schema: { type: "object" } }],
        },
      ),
    );
    expect(denied.response.status).toBe(400);
    expect(await denied.response.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "The tool `delete_everything` may not be offered by this caller." },
    });
    const long = await call(
      post(
        "/v1beta/models/openai%2Fmock-echo:generateContent",
        { "x-goog-api-key": key },
        { contents: [{ role: "user", parts: [{ text: "x".repeat(201) }] }] },
      ),
    );
    expect(long.response.status).toBe(400);
    expect(await long.response.json()).toMatchObject({
      error: {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: "The prompt has 201 characters; this caller may send at most 200.",
      },
    });
    const within = await call(post("/v1/chat/completions", { authorization: `Bearer ${key}` }, chatBody(3)));
    expect(within.response.status).toBe(200);
    await within.settled();
    // A caller within its limits and without guardrails leaves no guardrail verdict.
    expect((await usageRow(within.response.headers.get("x-request-id") ?? ""))?.metadata.guardrails).toBeUndefined();
  });

  it("hold the output to its limit: a request asking for more is refused, one asking for none is capped upstream", async () => {
    const key = await limited({ max_output_tokens: 50 });
    const greedy = await call(post("/v1/chat/completions", { authorization: `Bearer ${key}` }, chatBody(1, { max_tokens: 51 })));
    expect(greedy.response.status).toBe(400);
    expect(((await greedy.response.json()) as { error: { message: string; param: string } }).error).toMatchObject({
      message: "The request asks for up to 51 output tokens; this caller may ask for at most 50.",
      param: "max_tokens",
    });
    const quiet = await call(post("/v1/chat/completions", { authorization: `Bearer ${key}` }, chatBody(1)));
    expect(quiet.response.status).toBe(200);
    await quiet.settled();
    const sent = await upstreamRequest(quiet.response.headers.get("x-request-id") ?? "");
    const body = sent.body as { max_tokens?: number; max_completion_tokens?: number };
    expect(body.max_completion_tokens ?? body.max_tokens).toBe(50);
  });

  it("take the lowest of every level's limits: a key cannot loosen its team's", async () => {
    const team = uniqueId("limits-team");
    expect((await admin("POST", "/admin/teams", { id: team, settings: { request_limits: { max_messages: 2 } } })).status).toBe(
      201,
    );
    const key = await limited({ max_messages: 10, max_tools: 5 }, { team_id: team });
    const refused = await call(post("/v1/chat/completions", { authorization: `Bearer ${key}` }, chatBody(3)));
    expect(refused.response.status).toBe(400);
    expect(((await refused.response.json()) as { error: { message: string } }).error.message).toContain("at most 2");
    expect((await admin("POST", "/admin/keys", { settings: { request_limits: { max_messages: -1 } } })).status).toBe(400);
    expect((await admin("POST", "/admin/keys", { settings: { request_limits: { max_bananas: 1 } } })).status).toBe(400);
  });
  it("refuse a kind of input the caller may not send, in each client format, before anything is admitted", async () => {
    const key = await limited({ input_modalities: ["text"] });
    const image = { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } };
    const chat = await call(
      post(
        "/v1/chat/completions",
        { authorization: `Bearer ${key}` },
        { model: "openai/mock-echo", messages: [{ role: "user", content: [{ type: "text", text: "what is it" }, image] }] },
      ),
    );
    expect(chat.response.status).toBe(400);
    expect(await chat.response.json()).toEqual({
      error: {
        message: "The request sends image input at `messages[0].content[1]`; this caller may send only text.",
        type: "invalid_request_error",
        code: "request_limit_exceeded",
        param: "messages[0].content[1]",
      },
    });
    const requestId = chat.response.headers.get("x-request-id") ?? "";
    await chat.settled();
    await expect(upstreamRequest(requestId)).rejects.toThrow();
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ status: 400, promptTokens: 0, costUsd: 0, attempts: 0 });
    expect(row?.metadata.guardrails).toEqual([
      { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: ["input_modalities"] },
    ]);

    const responses = await call(
      post(
        "/v1/responses",
        { authorization: `Bearer ${key}` },
        { model: "openai/mock-echo", input: [{ role: "user", content: [{ type: "input_file", file_id: "file-abc" }] }] },
      ),
    );
    expect(responses.response.status).toBe(400);
    expect(((await responses.response.json()) as { error: { code: string; param: string } }).error).toMatchObject({
      code: "request_limit_exceeded",
      param: "input[0].content[0]",
    });
    const anthropic = await call(
      post(
        "/v1/messages",
        { "x-api-key": key, "anthropic-version": "2023-06-01" },
        {
          model: "openai/mock-echo",
          max_tokens: 64,
          messages: [
            {
              role: "user",
              content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } }],
            },
          ],
        },
      ),
    );
    expect(anthropic.response.status).toBe(400);
    expect(await anthropic.response.json()).toEqual({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "The request sends file (document) input at `messages[0].content[0]`; this caller may send only text.",
      },
    });
    const gemini = await call(
      post(
        "/v1beta/models/openai%2Fmock-echo:generateContent",
        { "x-goog-api-key": key },
        { contents: [{ role: "user", parts: [{ inlineData: { mimeType: "audio/wav", data: "UklGRg==" } }] }] },
      ),
    );
    expect(gemini.response.status).toBe(400);
    expect(await gemini.response.json()).toMatchObject({
      error: {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: expect.stringContaining("sends audio input at `contents[0].parts[0]`"),
      },
    });
    const cohere = await call(
      post(
        "/v2/chat",
        { authorization: `Bearer ${key}` },
        { model: "openai/mock-echo", messages: [{ role: "user", content: [image] }] },
      ),
    );
    expect(cohere.response.status).toBe(400);
    expect(await cohere.response.json()).toEqual({
      id: expect.any(String),
      message: "The request sends image input at `messages[0].content[0]`; this caller may send only text.",
    });
    const bedrock = await call(
      post(
        "/model/openai%2Fmock-echo/converse",
        { authorization: `Bearer ${key}` },
        {
          messages: [{ role: "user", content: [{ video: { format: "mp4", source: { s3Location: { uri: "s3://b/v.mp4" } } } }] }],
        },
      ),
    );
    expect(bedrock.response.status).toBe(400);
    expect(bedrock.response.headers.get("x-amzn-errortype")).toBe("ValidationException");
    expect(await bedrock.response.json()).toEqual({
      message: "The request sends video input at `messages[0].content[0]`; this caller may send only text.",
    });
    // Text alone goes through.
    const text = await call(post("/v1/chat/completions", { authorization: `Bearer ${key}` }, chatBody(1)));
    expect(text.response.status).toBe(200);
    await text.settled();
  });

  it("narrow a team's allowed kinds of input at the key, and refuse a kind that does not exist", async () => {
    const team = uniqueId("modality-team");
    const made = await admin("POST", "/admin/teams", {
      id: team,
      settings: { request_limits: { input_modalities: ["text", "image"] } },
    });
    expect(made.status).toBe(201);
    // The key asks for audio too; it cannot widen its team's list.
    const key = await limited({ input_modalities: ["text", "audio"] }, { team_id: team });
    const audio = await call(
      post(
        "/v1/chat/completions",
        { authorization: `Bearer ${key}` },
        {
          model: "openai/mock-echo",
          messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }] }],
        },
      ),
    );
    expect(audio.response.status).toBe(400);
    expect(((await audio.response.json()) as { error: { message: string } }).error.message).toBe(
      "The request sends audio input at `messages[0].content[0]`; this caller may send only text.",
    );
    const wrong = await admin("POST", "/admin/keys", { settings: { request_limits: { input_modalities: ["smell"] } } });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.body)).toContain("must be one of text, image, audio, file, video");
  });
});

describe("a webhook guardrail", () => {
  const mockRoot = String(mockProviderBindings.OPENAI_BASE_URL).replace(/\/v1$/, "");
  const secret = "guardrail-webhook-secret-0123";
  const bindings = { ...mockProviderBindings, GUARDRAIL_WEBHOOK_SECRET: secret };
  const adminHere = async (method: string, path: string, body?: unknown) => {
    const { response } = await callWorker(
      new Request(`${BASE}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      bindings,
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const webhookKey = async (webhook: Record<string, unknown>, mode = "block") => {
    const id = uniqueId("hook-gr");
    const service = uniqueId("svc");
    const made = await adminHere("POST", "/admin/guardrails", {
      id,
      name: `Checker ${id}`,
      phase: "input",
      mode,
      options: { webhook: { url: `${mockRoot}/__mock/guard/${service}`, ...webhook } },
    });
    expect(made.status).toBe(201);
    const key = await adminHere("POST", "/admin/keys", { settings: { guardrails: [id] } });
    return { id, service, key: String(key.body.key) };
  };
  const ask = (key: string, text: string, format = 0) =>
    callWorker(FORMATS[format]?.request(key, "openai/mock-echo", text, false) as Request, bindings);

  it("is sent the prompt's texts, signed, and its verdicts are acted on and recorded", async () => {
    const { id, service, key } = await webhookKey({ timeout_ms: 1000 });
    const allowed = await ask(key, "all fine here");
    expect(allowed.response.status).toBe(200);
    await allowed.settled();
    const requestId = allowed.response.headers.get("x-request-id") ?? "";
    expect((await usageRow(requestId))?.metadata.guardrails).toEqual([{ guardrail: id, phase: "input", verdict: "passed" }]);
    const [delivery] = (await (await fetch(`${mockRoot}/__mock/guard/${service}`)).json()) as {
      headers: Record<string, string>;
      body: string;
    }[];
    expect(JSON.parse(delivery?.body ?? "")).toEqual({
      request_id: requestId,
      guardrail: { id, name: `Checker ${id}` },
      phase: "input",
      model: "openai/mock-echo",
      texts: ["all fine here"],
    });
    const signature = delivery?.headers["x-sluice-signature"] ?? "";
    const t = Number(/^t=(\d+),/.exec(signature)?.[1]);
    expect(signature).toBe(await signatureHeader(secret, delivery?.body ?? "", t));

    const blocked = await ask(key, "please BLOCKME now", 1);
    expect(blocked.response.status).toBe(400);
    expect(await blocked.response.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: `The request was blocked by the guardrail \`Checker ${id}\`.` },
    });
    const blockedId = blocked.response.headers.get("x-request-id") ?? "";
    await blocked.settled();
    await expect(upstreamRequest(blockedId)).rejects.toThrow();
    expect((await usageRow(blockedId))?.metadata.guardrails).toEqual([
      { guardrail: id, phase: "input", verdict: "blocked", categories: ["test"] },
    ]);

    const redacted = await ask(key, "my REDACTME value");
    expect(redacted.response.status).toBe(200);
    await redacted.settled();
    const sent = await upstreamRequest(redacted.response.headers.get("x-request-id") ?? "");
    expect(FORMATS[0]?.sentText(sent.body as Record<string, unknown>)).toBe("my [GONE] value");
  });

  it("blocks with a 503 and Retry-After when it fails, is slow or garbles, unless it may fail open", async () => {
    const closed = await webhookKey({ timeout_ms: 300 });
    for (const text of ["FAILME", "SLOWME", "GARBLEME"]) {
      const started = Date.now();
      const refused = await ask(closed.key, text);
      expect(refused.response.status).toBe(503);
      expect(refused.response.headers.get("retry-after")).toBe("5");
      expect(((await refused.response.json()) as { error: { code: string } }).error.code).toBe("guardrail_unavailable");
      expect(Date.now() - started).toBeLessThan(2000);
      await refused.settled();
      const row = await usageRow(refused.response.headers.get("x-request-id") ?? "");
      expect(row?.metadata.guardrails).toEqual([{ guardrail: closed.id, phase: "input", verdict: "unavailable" }]);
    }
    const open = await webhookKey({ timeout_ms: 300, on_error: "allow" });
    const through = await ask(open.key, "SLOWME but go on");
    expect(through.response.status).toBe(200);
    await through.settled();
    expect((await usageRow(through.response.headers.get("x-request-id") ?? ""))?.metadata.guardrails).toEqual([
      { guardrail: open.id, phase: "input", verdict: "unavailable" },
    ]);
  });

  it("only records under mode flag, and is refused beside detectors or redacting in parallel", async () => {
    const flag = await webhookKey({}, "flag");
    const flagged = await ask(flag.key, "BLOCKME, but only flagged");
    expect(flagged.response.status).toBe(200);
    await flagged.settled();
    expect((await usageRow(flagged.response.headers.get("x-request-id") ?? ""))?.metadata.guardrails).toEqual([
      { guardrail: flag.id, phase: "input", verdict: "flagged", categories: ["test"] },
    ]);
    const webhook = { url: `${mockRoot}/__mock/guard/x` };
    for (const wrong of [
      { phase: "input", kinds: ["email"], options: { webhook } },
      { phase: "input", mode: "redact", options: { webhook: { ...webhook, parallel: true } } },
    ]) {
      const refused = await adminHere("POST", "/admin/guardrails", {
        id: uniqueId("hook-gr"),
        name: "x",
        mode: "block",
        ...wrong,
      });
      expect(refused.status).toBe(400);
    }
  });
});

describe("a model as judge", () => {
  const judgeKey = async (judge: Record<string, unknown>, mode = "block") => {
    const id = await guardrail({ name: `Judge ${uniqueId("j")}`, phase: "input", mode, options: { judge } });
    return { id, key: await keyWith([id]) };
  };
  const ask = (key: string, text: string) => call(FORMATS[0]?.request(key, "openai/mock-echo", text, false) as Request);
  const verdicts = async (response: Response) =>
    (await usageRow(response.headers.get("x-request-id") ?? ""))?.metadata.guardrails;

  it("blocks what a moderation model flags, by category or score, and passes the rest", async () => {
    const { id, key } = await judgeKey({ model: "omni-moderation-latest" });
    const refused = await ask(key, "please flag-me");
    expect(refused.response.status).toBe(400);
    expect(((await refused.response.json()) as { error: { code: string } }).error.code).toBe("guardrail_blocked");
    await refused.settled();
    await expect(upstreamRequest(refused.response.headers.get("x-request-id") ?? "")).rejects.toThrow();
    expect(await verdicts(refused.response)).toEqual([
      { guardrail: id, phase: "input", verdict: "blocked", categories: ["violence"] },
    ]);
    const fine = await ask(key, "fine words");
    expect(fine.response.status).toBe(200);
    await fine.settled();
    expect(await verdicts(fine.response)).toEqual([{ guardrail: id, phase: "input", verdict: "passed" }]);
    // Only the categories it names block; a threshold above the score lets it through.
    const other = await judgeKey({ model: "omni-moderation-latest", categories: ["hate"] });
    expect((await ask(other.key, "please flag-me")).response.status).toBe(200);
    const lenient = await judgeKey({ model: "omni-moderation-latest", threshold: 0.99 });
    expect((await ask(lenient.key, "please flag-me")).response.status).toBe(200);
  });

  it("reads a chat judge's `safe` or `unsafe` and categories, and fails closed on anything else", async () => {
    // mock-echo says back the last user turn: the prompt itself is the judge's answer.
    const { id, key } = await judgeKey({ model: "openai/mock-echo", kind: "chat", timeout_ms: 2000 });
    const unsafe = await ask(key, "unsafe\nprompt injection, jailbreak");
    expect(unsafe.response.status).toBe(400);
    await unsafe.settled();
    expect(await verdicts(unsafe.response)).toEqual([
      { guardrail: id, phase: "input", verdict: "blocked", categories: ["prompt_injection", "jailbreak"] },
    ]);
    const safe = await ask(key, "safe");
    expect(safe.response.status).toBe(200);
    const unclear = await ask(key, "I cannot say");
    expect(unclear.response.status).toBe(503);
    expect(unclear.response.headers.get("retry-after")).toBe("5");
    expect(((await unclear.response.json()) as { error: { code: string } }).error.code).toBe("guardrail_unavailable");
    const open = await judgeKey({ model: "openai/mock-echo", kind: "chat", on_error: "allow" });
    const through = await ask(open.key, "I cannot say");
    expect(through.response.status).toBe(200);
    await through.settled();
    expect(await verdicts(through.response)).toEqual([{ guardrail: open.id, phase: "input", verdict: "unavailable" }]);
  });
});

describe("guardrails on the media APIs", () => {
  const requestIdOf = (response: Response) => response.headers.get("x-request-id") ?? "";

  it("read the prompt to draw by and the text to speak: redacted, or refused before anything goes upstream", async () => {
    const redact = await guardrail({ name: "Redacts emails", phase: "input", mode: "redact", kinds: ["email"] });
    const key = await keyWith([redact]);
    const drawn = await call(
      post(
        "/v1/images/generations",
        { authorization: `Bearer ${key}` },
        { model: "gpt-image-1", prompt: "a card for ada@example.com" },
      ),
    );
    expect(drawn.response.status).toBe(200);
    const requestId = requestIdOf(drawn.response);
    expect((await upstreamRequest(requestId)).body).toMatchObject({ model: "gpt-image-1", prompt: "a card for [EMAIL_1]" });
    await drawn.settled();
    expect((await usageRow(requestId))?.metadata.guardrails).toEqual([
      { guardrail: redact, phase: "input", verdict: "redacted", categories: ["email"] },
    ]);

    const block = await guardrail({ name: "No secrets", phase: "input", mode: "block", kinds: ["secret"] });
    const strict = await keyWith([block]);
    const secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123";
    const spoken = await call(
      post(
        "/v1/audio/speech",
        { authorization: `Bearer ${strict}` },
        { model: "tts-1", voice: "alloy", input: `the key is ${secret}` },
      ),
    );
    expect(spoken.response.status).toBe(400);
    expect(await spoken.response.json()).toEqual({
      error: {
        message: "The request was blocked by the guardrail `No secrets`.",
        type: "invalid_request_error",
        code: "guardrail_blocked",
        param: null,
      },
    });
    await spoken.settled();
    await expect(upstreamRequest(requestIdOf(spoken.response))).rejects.toThrow();
    expect(await usageRow(requestIdOf(spoken.response))).toMatchObject({ status: 400, attempts: 0, costUsd: 0 });
  });

  it("read an upload's prompt and send its files as they came", async () => {
    const redact = await guardrail({ name: "Redacts emails", phase: "input", mode: "redact", kinds: ["email"] });
    const key = await keyWith([redact]);
    const form = new FormData();
    form.append("image", new File([PNG], "room.png", { type: "image/png" }));
    form.append("prompt", "a sign that says ada@example.com");
    form.append("model", "gpt-image-1");
    const edited = await call(
      new Request(`${BASE}/v1/images/edits`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form }),
    );
    expect(edited.response.status).toBe(200);
    expect((await upstreamRequest(requestIdOf(edited.response))).body).toMatchObject({
      image: { name: "room.png", size: PNG.length },
      model: "gpt-image-1",
      prompt: "a sign that says [EMAIL_1]",
    });
  });

  it("read every copy of an upload's repeated prompt, and send each as the policy left it", async () => {
    const redact = await guardrail({ name: "Redacts emails", phase: "input", mode: "redact", kinds: ["email"] });
    const key = await keyWith([redact]);
    const form = new FormData();
    form.append("image", new File([PNG], "room.png", { type: "image/png" }));
    form.append("prompt", "a sign that says ada@example.com");
    form.append("prompt", "in blue");
    form.append("model", "gpt-image-1");
    const edited = await call(
      new Request(`${BASE}/v1/images/edits`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form }),
    );
    expect(edited.response.status).toBe(200);
    expect((await upstreamRequest(requestIdOf(edited.response))).body).toMatchObject({
      image: { name: "room.png", size: PNG.length },
      prompt: ["a sign that says [EMAIL_1]", "in blue"],
    });
    await edited.settled();
    expect((await usageRow(requestIdOf(edited.response)))?.metadata.guardrails).toEqual([
      { guardrail: redact, phase: "input", verdict: "redacted", categories: ["email"] },
    ]);
  });
});
