// Realtime voice through Sluice: the caller's WebSocket relayed to the
// mock's Realtime API with the provider key added by Sluice, events in order
// both ways, the session billed from its `response.done` events (text and
// audio tokens priced apart) and its input transcriptions (at the
// transcription model's rates) when it closes; a browser's client secret
// minted from a key and taken as a WebSocket subprotocol; refusals, a
// caller's `request_limits` among them.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import worker from "../src/index.ts";
import { BASE, callWorker, jsonRequest, mockProviderBindings, TEST_ADMIN_KEY, usageRow } from "./helpers.ts";
import { admin, appToken, uniqueId } from "./identity.ts";

const bindings = mockProviderBindings;
const redis = () => new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });

interface Session {
  response: Response;
  socket: WebSocket;
  events: { type: string; [field: string]: unknown }[];
  /** Resolves with the events so far once one of `type` has arrived. */
  until(type: string): Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  /** The request's deferred work, the session's record included. */
  settled: Promise<void>;
}

async function connect(headers: Record<string, string>, query = "?model=gpt-realtime"): Promise<Session> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${BASE}/v1/realtime${query}`, { headers: { upgrade: "websocket", ...headers } }),
    bindings as never,
    ctx,
  );
  const socket = response.webSocket;
  if (!socket) throw new Error(`no WebSocket: ${response.status} ${await response.text()}`);
  socket.accept();
  const events: Session["events"] = [];
  const waiting: { type: string; resolve: () => void }[] = [];
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(String(message.data)) as Session["events"][number];
    events.push(event);
    for (const wait of waiting.filter((w) => w.type === event.type)) wait.resolve();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
  );
  return {
    response,
    socket,
    events,
    until: (type) =>
      events.some((event) => event.type === type) ? Promise.resolve() : new Promise((resolve) => waiting.push({ type, resolve })),
    closed,
    settled: waitOnExecutionContext(ctx),
  };
}

const send = (socket: WebSocket, event: Record<string, unknown>) => socket.send(JSON.stringify(event));
/** 9,600 bytes of PCM16 at 24 kHz: 200 ms, two input audio tokens at the mock. */
const audio = btoa(String.fromCharCode(...new Uint8Array(9_600)));

describe("GET /v1/realtime", () => {
  it("relays a session both ways and bills it from its response.done events when it closes", async () => {
    const session = await connect({ authorization: `Bearer ${TEST_ADMIN_KEY}` });
    expect(session.response.status).toBe(101);
    expect(session.response.headers.get("x-sluice-provider")).toBe("openai");
    await session.until("session.created");
    send(session.socket, { type: "input_audio_buffer.append", audio });
    send(session.socket, { type: "input_audio_buffer.commit" });
    send(session.socket, { type: "response.create" });
    await session.until("response.done");
    send(session.socket, { type: "response.create", response: { instructions: "again please" } });
    await session.until("response.done");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(session.events.map((event) => event.type)).toEqual([
      "session.created",
      "input_audio_buffer.committed",
      "response.created",
      "response.output_audio.delta",
      "response.output_audio_transcript.delta",
      "response.done",
      "response.created",
      "response.output_audio.delta",
      "response.output_audio_transcript.delta",
      "response.done",
    ]);
    expect(session.events[0]).toMatchObject({ session: { model: "gpt-realtime" } });
    session.socket.close(1000, "done");
    await session.settled;
    const row = await usageRow(session.response.headers.get("x-request-id") ?? "");
    // Text: 5 in, then 5 + 2 ("again please"); 3 out each. Audio: 2 in, then none; 2 out each.
    expect(row).toMatchObject({ provider: "openai", model: "gpt-realtime", status: 200, promptTokens: 12, completionTokens: 6 });
    expect(row?.metadata).toMatchObject({ modality: "realtime", media: { audioTokens: { input: 2, output: 4 } } });
    expect(row?.costUsd).toBeCloseTo((12 * 4 + 6 * 16 + 2 * 32 + 4 * 64) / 1e6, 12);
  });

  it("closes the caller's socket with the provider's code and reason, and bills what was used", async () => {
    const session = await connect({ authorization: `Bearer ${TEST_ADMIN_KEY}` });
    await session.until("session.created");
    send(session.socket, { type: "session.close.test" });
    expect(await session.closed).toEqual({ code: 1000, reason: "closed by the mock" });
    await session.settled;
    const row = await usageRow(session.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ status: 200, promptTokens: 0, completionTokens: 0, costUsd: 0 });
  });

  it("charges each response as it is done, and ends a session whose caller cannot cover it, though another session spent it", async () => {
    // One response with audio costs $0.00026 at the mock (5 and 3 text tokens, 2 and 2 audio): the budget covers one, not two.
    const made = await admin("POST", "/admin/keys", { name: uniqueId("realtime"), max_budget: 0.0004 });
    const [id, key] = [String(made.body.id), String(made.body.key)];
    const budgetNano = async () => {
      const [counter] = await redis().keys(`sluice:c:key:${id}:usd:b:*`);
      return counter ? Number(await redis().get(counter)) : 0;
    };
    const respond = async (session: Session) => {
      send(session.socket, { type: "input_audio_buffer.append", audio });
      send(session.socket, { type: "input_audio_buffer.commit" });
      send(session.socket, { type: "response.create" });
      await session.until("response.done");
    };
    const first = await connect({ authorization: `Bearer ${key}` });
    const second = await connect({ authorization: `Bearer ${key}` });
    await Promise.all([first.until("session.created"), second.until("session.created")]);
    await respond(first);
    // Charged while the session runs, not when it closes.
    await expect.poll(budgetNano, { timeout: 5_000 }).toBe(260_000);
    await respond(second);
    expect(await second.closed).toEqual({ code: 1008, reason: "budget_exceeded" });
    expect(second.events.map((event) => event.type).slice(-2)).toEqual(["response.done", "error"]);
    expect(second.events.at(-1)).toMatchObject({
      type: "error",
      error: { type: "rate_limit_exceeded", code: "budget_exceeded", message: expect.stringContaining("$0.0004") },
    });
    await second.settled;
    // The budget is now spent for the first session too: its next response is billed, and ends it.
    expect(first.events.some((event) => event.type === "error")).toBe(false);
    send(first.socket, { type: "response.create" });
    expect(await first.closed).toEqual({ code: 1008, reason: "budget_exceeded" });
    await first.settled;
    const rows = await Promise.all(
      [first, second].map((session) => usageRow(session.response.headers.get("x-request-id") ?? "")),
    );
    expect(rows.map((row) => row?.costUsd)).toEqual([expect.closeTo(260e-6 + 196e-6, 12), expect.closeTo(260e-6, 12)]);
    // Whatever a charge could not take is settled at the close: the counter holds every dollar the ledger does.
    expect(await budgetNano()).toBe(260_000 + 196_000 + 260_000);
  });

  it("ends a session at its next response once its key is revoked", async () => {
    const made = await admin("POST", "/admin/keys", { name: uniqueId("realtime") });
    const session = await connect({ authorization: `Bearer ${String(made.body.key)}` });
    await session.until("session.created");
    expect((await admin("DELETE", `/admin/keys/${String(made.body.id)}`)).status).toBe(200);
    send(session.socket, { type: "response.create" });
    expect(await session.closed).toEqual({ code: 1008, reason: "invalid_api_key" });
    expect(session.events.at(-1)).toMatchObject({ type: "error", error: { code: "invalid_api_key" } });
    await session.settled;
    const row = await usageRow(session.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ status: 200, promptTokens: 5, completionTokens: 3 });
  });

  it("outlives the credential it opened with: a change to the caller is read by who they are, not by the expired token", async () => {
    const user = uniqueId("voice");
    // Expired 28 s ago: inside the 30 s the clock is allowed to drift when the session opens, past it three seconds later.
    const token = await appToken({ sub: user }, { expiresIn: Math.floor(Date.now() / 1000) - 28 });
    const session = await connect({ authorization: `Bearer ${token}` });
    expect(session.response.status).toBe(101);
    await session.until("session.created");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // An admin change marks the session's copy of the user stale: its next charge reads them again.
    expect((await admin("PATCH", `/admin/users/${user}`, { tokens_per_day: 100_000 })).status).toBe(200);
    send(session.socket, { type: "response.create" });
    await session.until("response.done");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(session.events.filter((event) => event.type === "error")).toEqual([]);
    session.socket.close(1000, "done");
    expect(await session.closed).toMatchObject({ code: 1000 });
    await session.settled;
    const row = await usageRow(session.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ userId: user, promptTokens: 5, completionTokens: 3 });
  }, 15_000);

  it("takes a browser's client secret as a subprotocol, and answers the realtime one", async () => {
    const key = String((await admin("POST", "/admin/keys", { name: uniqueId("realtime") })).body.key);
    const minted = await callWorker(
      jsonRequest(
        "/v1/realtime/client_secrets",
        { expires_after: { anchor: "created_at", seconds: 60 }, session: { type: "realtime", model: "gpt-realtime" } },
        {
          authorization: `Bearer ${key}`,
        },
      ),
      bindings,
    );
    expect(minted.response.status).toBe(200);
    const secret = (await minted.response.json()) as { value: string; expires_at: number; session: unknown };
    expect(secret.session).toEqual({ type: "realtime", model: "gpt-realtime" });
    expect(secret.expires_at - Date.now() / 1000).toBeGreaterThan(50);
    expect(secret.expires_at - Date.now() / 1000).toBeLessThanOrEqual(60);
    expect(secret.value).not.toContain(key);
    const session = await connect({ "sec-websocket-protocol": `realtime, openai-insecure-api-key.${secret.value}` });
    expect(session.response.headers.get("sec-websocket-protocol")).toBe("realtime");
    await session.until("session.created");
    session.socket.close(1000, "done");
    await session.settled;
    const row = await usageRow(session.response.headers.get("x-request-id") ?? "");
    expect(row?.keyId).toBeTruthy();
  });

  it("refuses a plain request, a model with no realtime API, and a secret for a caller that is not a key", async () => {
    const plain = await callWorker(
      new Request(`${BASE}/v1/realtime?model=gpt-realtime`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }),
      bindings,
    );
    expect(plain.response.status).toBe(426);
    expect(((await plain.response.json()) as { error: { code: string } }).error.code).toBe("upgrade_required");
    const claude = await callWorker(
      new Request(`${BASE}/v1/realtime?model=claude-sonnet-4-5`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, upgrade: "websocket" },
      }),
      bindings,
    );
    expect(claude.response.status).toBe(400);
    expect(((await claude.response.json()) as { error: { code: string; param: string } }).error).toMatchObject({
      code: "realtime_unsupported",
      param: "model",
    });
    const nobody = await callWorker(
      new Request(`${BASE}/v1/realtime`, { headers: { upgrade: "websocket", "sec-websocket-protocol": "realtime" } }),
      bindings,
    );
    expect(nobody.response.status).toBe(401);
    const asAdmin = await callWorker(jsonRequest("/v1/realtime/client_secrets", {}), bindings);
    expect(asAdmin.response.status).toBe(403);
  });

  it("refuses a caller whose guardrails apply, since none can read a session's audio", async () => {
    const id = uniqueId("gr");
    const made = await admin("POST", "/admin/guardrails", {
      id,
      name: "No emails",
      phase: "input",
      mode: "block",
      kinds: ["email"],
    });
    expect(made.status).toBe(201);
    const { key } = (await admin("POST", "/admin/keys", { settings: { guardrails: [id] } })).body;
    const refused = await callWorker(
      new Request(`${BASE}/v1/realtime?model=gpt-realtime`, {
        headers: { authorization: `Bearer ${key}`, upgrade: "websocket" },
      }),
      bindings,
    );
    expect(refused.response.status).toBe(403);
    expect(refused.response.webSocket).toBeNull();
    expect(await refused.response.json()).toEqual({
      error: {
        message:
          "The guardrails that apply to this caller (`No emails`) cannot check a realtime session; call with a key whose settings name none.",
        type: "permission_error",
        code: "guardrails_unsupported",
        param: null,
      },
    });
    // A name no policy has any more refuses nothing: the session opens.
    const { key: stale } = (await admin("POST", "/admin/keys", { settings: { guardrails: [uniqueId("gone")] } })).body;
    const session = await connect({ authorization: `Bearer ${stale}` });
    expect(session.response.status).toBe(101);
    session.socket.close(1000, "done");
    await session.closed;
    await session.settled;
  });
});

describe("GET /v1/realtime: input transcription", () => {
  /** A key with a budget, and its budget counter in nano-dollars. */
  const budgeted = async (maxBudget: number) => {
    const made = await admin("POST", "/admin/keys", { name: uniqueId("realtime"), max_budget: maxBudget });
    const id = String(made.body.id);
    const budgetNano = async () => {
      const [counter] = await redis().keys(`sluice:c:key:${id}:usd:b:*`);
      return counter ? Number(await redis().get(counter)) : 0;
    };
    return { key: String(made.body.key), budgetNano };
  };
  /** Input transcription on, no response made at the end of a turn: only the transcriptions are billed. */
  const transcribeOnly = (transcription: Record<string, unknown>) => ({
    type: "session.update",
    session: {
      type: "realtime",
      audio: { input: { transcription, turn_detection: { type: "server_vad", create_response: false } } },
    },
  });

  it("charges each transcription's tokens at the transcription model's rates as it is done, and records them", async () => {
    const { key, budgetNano } = await budgeted(1);
    const session = await connect({ authorization: `Bearer ${key}` });
    await session.until("session.created");
    send(session.socket, transcribeOnly({ model: "gpt-4o-transcribe" }));
    await session.until("session.updated");
    send(session.socket, { type: "input_audio_buffer.append", audio });
    send(session.socket, { type: "input_audio_buffer.commit" });
    await session.until("conversation.item.input_audio_transcription.completed");
    expect(session.events.map((event) => event.type)).toEqual([
      "session.created",
      "session.updated",
      "input_audio_buffer.committed",
      "conversation.item.input_audio_transcription.completed",
    ]);
    expect(session.events.at(-1)).toMatchObject({
      transcript: "mock transcript",
      usage: { type: "tokens", input_tokens: 2, output_tokens: 2 },
    });
    // gpt-4o-transcribe: 2 tokens in at $6 a million, 2 out at $10; charged while the session runs.
    await expect.poll(budgetNano, { timeout: 5_000 }).toBe(32_000);
    session.socket.close(1000, "done");
    await session.settled;
    const row = await usageRow(session.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ model: "gpt-realtime", status: 200, promptTokens: 2, completionTokens: 2 });
    expect(row?.metadata).toMatchObject({ modality: "realtime", media: { audioTokens: { input: 0, output: 0 } } });
    expect(row?.costUsd).toBeCloseTo(32e-6, 12);
    // The close settles nothing more: the charge took it all.
    expect(await budgetNano()).toBe(32_000);
  });

  it("bills a duration (the beta shape, whisper-1) by the second, and a response's image tokens at the text rate", async () => {
    const session = await connect({ authorization: `Bearer ${TEST_ADMIN_KEY}` });
    await session.until("session.created");
    send(session.socket, {
      type: "session.update",
      session: {
        input_audio_transcription: { model: "whisper-1" },
        turn_detection: { type: "server_vad", create_response: false },
      },
    });
    await session.until("session.updated");
    send(session.socket, { type: "input_audio_buffer.append", audio });
    send(session.socket, { type: "input_audio_buffer.commit" });
    await session.until("conversation.item.input_audio_transcription.completed");
    expect(session.events.at(-1)).toMatchObject({ usage: { type: "duration", seconds: 0.2 } });
    send(session.socket, {
      type: "conversation.item.create",
      item: {
        type: "message",
        role: "user",
        content: [{ type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=" }],
      },
    });
    send(session.socket, { type: "response.create" });
    await session.until("response.done");
    session.socket.close(1000, "done");
    await session.settled;
    const row = await usageRow(session.response.headers.get("x-request-id") ?? "");
    // Text in: 5, and the image's 85; out: 3. Audio: 2 in (the committed turn), 2 out. Whisper: 0.2 s at $0.006 a minute.
    expect(row).toMatchObject({ status: 200, promptTokens: 90, completionTokens: 3 });
    expect(row?.metadata).toMatchObject({ media: { audioTokens: { input: 2, output: 2 }, audioSeconds: 0.2 } });
    expect(row?.costUsd).toBeCloseTo((90 * 4 + 3 * 16 + 2 * 32 + 2 * 64) / 1e6 + (0.2 * 0.006) / 60, 12);
  });

  it("ends the session of a caller whose dollars are limited at a transcription with no price, and records it at $0", async () => {
    const { key } = await budgeted(1);
    const session = await connect({ authorization: `Bearer ${key}` });
    await session.until("session.created");
    send(session.socket, transcribeOnly({ model: "acme-transcribe" }));
    await session.until("session.updated");
    send(session.socket, { type: "input_audio_buffer.append", audio });
    send(session.socket, { type: "input_audio_buffer.commit" });
    expect(await session.closed).toEqual({ code: 1008, reason: "model_unpriced" });
    expect(session.events.map((event) => event.type).slice(-2)).toEqual([
      "conversation.item.input_audio_transcription.completed",
      "error",
    ]);
    expect(session.events.at(-1)).toMatchObject({
      error: { code: "model_unpriced", message: expect.stringContaining("acme-transcribe") },
    });
    await session.settled;
    const row = await usageRow(session.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ status: 200, promptTokens: 2, completionTokens: 2, costUsd: 0 });
    expect(row?.metadata).toMatchObject({ unpriced: true });
  });
});

describe("GET /v1/realtime: request_limits", () => {
  const refusedSession = async (limits: Record<string, unknown>) => {
    const { key } = (await admin("POST", "/admin/keys", { settings: { request_limits: limits } })).body;
    return await callWorker(
      new Request(`${BASE}/v1/realtime?model=gpt-realtime`, {
        headers: { authorization: `Bearer ${String(key)}`, upgrade: "websocket" },
      }),
      bindings,
    );
  };

  it("refuses a caller who may not send audio, or text, before the provider is called, and records the refusal", async () => {
    const textOnly = await refusedSession({ input_modalities: ["text"] });
    expect(textOnly.response.status).toBe(400);
    expect(textOnly.response.webSocket).toBeNull();
    expect(await textOnly.response.json()).toEqual({
      error: {
        message: "The request sends audio input at `input_audio_buffer.append`; this caller may send only text.",
        type: "invalid_request_error",
        code: "request_limit_exceeded",
        param: "input_audio_buffer.append",
      },
    });
    await textOnly.settled();
    const row = await usageRow(textOnly.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ model: "gpt-realtime", status: 400, promptTokens: 0, costUsd: 0, attempts: 0 });
    expect(row?.metadata.guardrails).toEqual([
      { guardrail: "request_limits", phase: "input", verdict: "blocked", categories: ["input_modalities"] },
    ]);

    const noText = await refusedSession({ denied_modalities: ["text"] });
    expect(noText.response.status).toBe(400);
    expect(((await noText.response.json()) as { error: unknown }).error).toMatchObject({
      message: "The request sends text input at `conversation.item.create`; this caller may not send it.",
      code: "request_limit_exceeded",
    });
  });

  it("opens the session of a caller who may send both", async () => {
    const { key } = (
      await admin("POST", "/admin/keys", { settings: { request_limits: { input_modalities: ["text", "audio"] } } })
    ).body;
    const session = await connect({ authorization: `Bearer ${String(key)}` });
    expect(session.response.status).toBe(101);
    await session.until("session.created");
    session.socket.close(1000, "done");
    await session.settled;
  });
});
