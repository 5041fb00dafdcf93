// Request logs: what a caller asked and was answered, in the R2 bucket, for
// callers who opted in (per key, per team or globally) and never for one
// under zero retention; redacted, capped, a stream stored assembled with its
// events; the ledger row points at it and the admin API shows both.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deleteExpiredLogs, REQUEST_LOG_MAX_BYTES, type RequestLog, requestLogKey } from "../src/request-logs/index.ts";
import { BASE, callWorker, TEST_ADMIN_KEY, usageRow } from "./helpers.ts";
import { admin, appToken, chatAs, uniqueId } from "./identity.ts";
import { TEST_JWT_SECRET } from "./setup/constants.ts";

async function keyWith(fields: Record<string, unknown>): Promise<string> {
  const { status, body } = await admin("POST", "/admin/keys", fields);
  expect(status).toBe(201);
  return String(body.key);
}

/** A served call's request id, once its deferred work (the log's write among it) is done. */
async function served(key: string, content: string, extra: Record<string, unknown> = {}): Promise<string> {
  const call = await callWorker(chatAs(key, { messages: [{ role: "user", content }], ...extra }));
  expect(call.response.status).toBe(200);
  await call.response.text();
  await call.settled();
  return call.response.headers.get("x-request-id") ?? "";
}

async function storedLog(requestId: string): Promise<RequestLog | undefined> {
  const listed = await env.REQUEST_LOGS.list({ prefix: "requests/" });
  const key = listed.objects.find((object) => object.key.endsWith(`/${requestId}.json`))?.key;
  const object = key ? await env.REQUEST_LOGS.get(key) : null;
  return object ? ((await object.json()) as RequestLog) : undefined;
}

describe("request logs", () => {
  it("keep an opted-in key's prompt and answer, redacted, and the ledger row and the admin API point at them", async () => {
    const key = await keyWith({ settings: { request_logs: true } });
    const requestId = await served(key, "Mail jane.doe@example.com the key sk-live-0123456789abcdefghij, please");
    const log = (await storedLog(requestId)) as RequestLog;
    expect(log).toBeDefined();
    expect(log.request_id).toBe(requestId);
    const prompt = log.request.body as { model: string; messages: { content: string }[] };
    expect(prompt.model).toBe("mock-echo");
    expect(prompt.messages[0]?.content).toBe("Mail [REDACTED:email] the key [REDACTED:api_key], please");
    expect(log.request.truncated).toBe(false);
    expect(log.response.status).toBe(200);
    const answer = log.response.body as { choices: { message: { content: string } }[] };
    // mock-echo says the prompt back: the answer is redacted too.
    expect(JSON.stringify(answer)).not.toContain("jane.doe@example.com");
    expect(answer.choices[0]?.message.content).toContain("[REDACTED:email]");

    const row = await usageRow(requestId);
    expect(row?.metadata).toMatchObject({ request_log: requestLogKey(requestId, row?.createdAt.getTime()) });
    const shown = await callWorker(
      new Request(`${BASE}/admin/requests/${requestId}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }),
    );
    expect(shown.response.status).toBe(200);
    const body = (await shown.response.json()) as { request_id: string; model: string; log: RequestLog };
    expect(body).toMatchObject({ request_id: requestId, model: "mock-echo", log: { request_id: requestId } });
    expect(body.log.request.body).toEqual(log.request.body);
  });

  it("keep out the gateway's own secrets and the credential the call was sent with, though no pattern knows them", async () => {
    const provider = uniqueId("logged");
    const model = uniqueId("logged-model");
    expect((await admin("POST", "/admin/providers", { id: provider, kind: "mock", base_url: env.MOCK_BASE_URL })).status).toBe(
      201,
    );
    expect((await admin("POST", "/admin/models", { id: model, provider, upstream_id: "mock-echo" })).status).toBe(201);
    const user = uniqueId("logged-user");
    expect((await admin("POST", "/admin/users", { id: user, settings: { request_logs: true } })).status).toBe(201);
    const token = await appToken({ sub: user });
    const ownKey = `own-provider-credential-${crypto.randomUUID().replaceAll("-", "")}`;
    const stored = await callWorker(
      new Request(`${BASE}/api/provider-keys`, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ provider, api_key: ownKey }),
      }),
    );
    expect(stored.response.status).toBe(201);
    // mock-echo says the prompt back: both sides hold the two secrets.
    const requestId = await served(token, `the app's secret ${TEST_JWT_SECRET} and my key ${ownKey}`, { model });
    const log = (await storedLog(requestId)) as RequestLog;
    expect(log).toBeDefined();
    const text = JSON.stringify(log);
    expect(text).not.toContain(TEST_JWT_SECRET);
    expect(text).not.toContain(ownKey);
    const prompt = log.request.body as { messages: { content: string }[] };
    expect(prompt.messages[0]?.content).toBe("the app's secret [REDACTED:credential] and my key [REDACTED:credential]");
    expect(JSON.stringify(log.response.body)).toContain("[REDACTED:credential] and my key [REDACTED:credential]");
  });

  it("store nothing for a caller that did not opt in, and the admin API says so", async () => {
    const key = await keyWith({});
    const requestId = await served(key, "not for the log");
    expect(await storedLog(requestId)).toBeUndefined();
    const row = await usageRow(requestId);
    expect(row?.metadata).not.toHaveProperty("request_log");
    const shown = await callWorker(
      new Request(`${BASE}/admin/requests/${requestId}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }),
    );
    expect(await shown.response.json()).toMatchObject({ request_id: requestId, log: null });
    const missing = await callWorker(
      new Request(`${BASE}/admin/requests/req_nothing_here`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }),
    );
    expect(missing.response.status).toBe(404);
  });

  it("follow a team's opt-in, and never keep a key under zero retention even then", async () => {
    const team = uniqueId("logged-team");
    expect((await admin("POST", "/admin/teams", { id: team, settings: { request_logs: true } })).status).toBe(201);
    const member = await keyWith({ team_id: team });
    const secretive = await keyWith({ team_id: team, settings: { zero_retention: true } });
    const kept = await served(member, "team logs this");
    const notKept = await served(secretive, "zero retention wins");
    expect(await storedLog(kept)).toBeDefined();
    expect(await storedLog(notKept)).toBeUndefined();
    expect((await usageRow(notKept))?.metadata).not.toHaveProperty("request_log");
  });

  it("store a streamed answer assembled, with its events", async () => {
    const key = await keyWith({ settings: { request_logs: true } });
    const requestId = await served(key, "stream me", { stream: true });
    const log = (await storedLog(requestId)) as RequestLog;
    expect(log.response.content_type).toMatch(/^text\/event-stream/);
    expect(typeof log.response.body).toBe("string");
    const events = log.response.events as ({ choices?: { delta?: { content?: string } }[] } | string)[];
    expect(events.at(-1)).toBe("[DONE]");
    const text = events.map((event) => (typeof event === "string" ? "" : (event.choices?.[0]?.delta?.content ?? ""))).join("");
    expect(text).toBe("stream me");
  });

  it("store a stream its client left, with what went by, marked cut", async () => {
    const key = await keyWith({ settings: { request_logs: true } });
    const call = await callWorker(
      chatAs(
        key,
        { model: "mock-lorem", stream: true, messages: [{ role: "user", content: "go on" }] },
        {
          "x-mock-tokens": "50",
          "x-mock-chunks": "50",
          "x-mock-interval-ms": "20",
        },
      ),
    );
    expect(call.response.status).toBe(200);
    const reader = (call.response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await reader.cancel("the user pressed stop");
    await call.settled();
    const requestId = call.response.headers.get("x-request-id") ?? "";
    const log = (await storedLog(requestId)) as RequestLog;
    expect(log).toBeDefined();
    expect(log.response.truncated).toBe(true);
    expect(log.response.body as string).toContain("data: ");
    expect(log.response.events?.at(-1)).not.toBe("[DONE]");
    expect((await usageRow(requestId))?.metadata).toMatchObject({ request_log: expect.any(String) });
  });

  it("cut a side larger than the cap, and mark it cut", async () => {
    const key = await keyWith({ settings: { request_logs: true } });
    const requestId = await served(key, "x".repeat(REQUEST_LOG_MAX_BYTES + 1000));
    const log = (await storedLog(requestId)) as RequestLog;
    expect(log.request.truncated).toBe(true);
    expect(typeof log.request.body).toBe("string");
    expect(new TextEncoder().encode(log.request.body as string).byteLength).toBeLessThanOrEqual(REQUEST_LOG_MAX_BYTES);
    expect(log.response.truncated).toBe(true);
  });

  it("are deleted by the cron once older than the retention period, whole days at a time", async () => {
    const now = Date.parse("2020-06-15T12:00:00Z");
    const day = (offset: number) => now - offset * 86_400_000;
    const keys = [requestLogKey("req_old_a", day(40)), requestLogKey("req_old_b", day(31)), requestLogKey("req_recent", day(29))];
    for (const key of keys) await env.REQUEST_LOGS.put(key, "{}");
    expect(keys[0]).toBe("requests/2020-05-06/req_old_a.json");
    expect(await deleteExpiredLogs(env.REQUEST_LOGS, 30, now)).toBeGreaterThanOrEqual(2);
    expect(await env.REQUEST_LOGS.head(keys[0] as string)).toBeNull();
    expect(await env.REQUEST_LOGS.head(keys[1] as string)).toBeNull();
    expect(await env.REQUEST_LOGS.head(keys[2] as string)).not.toBeNull();
  });
});
