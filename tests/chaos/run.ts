// `npm run chaos [-- --short]`: outages that must lose nothing. The built
// Worker runs in workerd against the Neon and Upstash stand-ins, with real
// Postgres and Redis servers of its own behind them. Under steady mixed load,
// Postgres is stopped for 10 s and started again, then Redis the same. Once
// the queue and the cron's drain have run, it checks:
//   - every request past authentication has exactly one ledger row, and no row is doubled;
//   - every Redis quota and budget counter equals what the ledger sums to;
//   - what was refused was refused by the documented policy (503
//     `limits_unavailable` with `x-sluice-limits`, while Redis was away), and
//     nothing else failed;
//   - the gateway's memory stayed bounded while a store was down.
// `--short` halves the outages and the load: the version CI runs.
// Results: bench/results/chaos.json (full runs only).
import { fork } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { BENCH_ADMIN_KEY, buildWorker, ROOT, startSluice, type Target } from "../../bench/targets.ts";
import { migrateDatabase } from "../../dev/migrate.ts";
import { startNeonStandIn } from "../../dev/standins/neon-http.ts";
import { startUpstashStandIn } from "../../dev/standins/upstash-rest.ts";
import { type Engine, enginesAvailable, startPostgres, startRedis } from "./engines.ts";

const SHORT = process.argv.includes("--short");
const OUTAGE_MS = SHORT ? 5_000 : 10_000;
/** Steady load before the first outage, between the two, and after the second. */
const CALM_MS = SHORT ? 5_000 : 10_000;
/** Load before any of it, while workerd's heap grows to its working size. */
const WARM_MS = SHORT ? 15_000 : 30_000;
const WORKERS = SHORT ? 4 : 6;
/** Each worker's pause between requests: the load stays steady and bounded (a few hundred a second at most). */
const PACE_MS = 15;
/** How long the queue's retries and the cron's drain get to bring the ledger up to date. */
const CATCH_UP_MS = 240_000;
/** Growth of the gateway's memory within an outage that counts as unbounded. */
const MEMORY_BOUND_MIB = 96;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.error(`chaos: ${line}`);

interface Outcome {
  kind: string;
  at: number;
  status: number;
  requestId: string | null;
  limits: string | null;
  /** The error's code (its type, in Anthropic's format) and message. */
  code: string | null;
  message: string | null;
  /** The body was whole: a JSON answer that parsed, or a stream that reached its end. */
  whole: boolean;
}

interface Window {
  store: "postgres" | "redis";
  from: number;
  to: number;
}

interface Caller {
  name: string;
  headers: Record<string, string>;
  keyId?: string;
}

interface Kind {
  name: string;
  path: string;
  caller: Caller;
  body: string;
  stream: boolean;
  /** The stream's last event, when streamed. */
  ends?: string;
}

function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

async function admin(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(new URL(path, base), {
    method: "POST",
    headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * Two users in one team, each with day and month token and USD quotas; a key
 * for each with a budget and per-minute limits; and the admin key, which no
 * limit applies to. Limits are high enough never to refuse: what is refused
 * is refused by the outage policy.
 */
async function callers(base: string): Promise<Caller[]> {
  const quotas = { tokens_per_day: 1e9, tokens_per_month: 1e9, usd_per_day: 1e6, usd_per_month: 1e6, rpm_limit: 1e6 };
  const made: Caller[] = [];
  for (const name of ["chaos-a", "chaos-b"]) {
    await admin(base, "/admin/users", { id: name, team_id: "chaos-team", ...quotas });
    const key = await admin(base, "/admin/keys", {
      user_id: name,
      team_id: "chaos-team",
      models: ["mock-*"],
      rpm_limit: 1e6,
      tpm_limit: 1e9,
      max_budget: 1e5,
      budget_duration: "1mo",
    });
    made.push({ name, keyId: String(key.key_id ?? key.id), headers: { authorization: `Bearer ${String(key.key)}` } });
  }
  made.push({ name: "admin", headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` } });
  // Never used before Postgres goes away: the isolate has no copy of it.
  const cold = await admin(base, "/admin/keys", { name: "chaos-cold", models: ["mock-*"] });
  made.push({ name: "cold", headers: { authorization: `Bearer ${String(cold.key)}` } });
  return made;
}

function kinds(callers: Caller[]): Kind[] {
  const [a, b, adminCaller] = callers as [Caller, Caller, Caller, Caller];
  const messages = [{ role: "user", content: "Keep going through the outage, please." }];
  return [
    {
      name: "chat",
      path: "/v1/chat/completions",
      caller: a,
      stream: false,
      body: JSON.stringify({ model: "mock-echo", messages }),
    },
    {
      name: "chat, streamed",
      path: "/v1/chat/completions",
      caller: a,
      stream: true,
      ends: "data: [DONE]",
      body: JSON.stringify({ model: "mock-lorem", max_tokens: 24, stream: true, messages }),
    },
    {
      name: "messages, translated",
      path: "/v1/messages",
      caller: { ...b, headers: { "x-api-key": (b.headers.authorization ?? "").slice(7), "anthropic-version": "2023-06-01" } },
      stream: false,
      body: JSON.stringify({ model: "mock-echo", max_tokens: 64, messages }),
    },
    {
      name: "responses, streamed",
      path: "/v1/responses",
      caller: b,
      stream: true,
      ends: "event: response.completed",
      body: JSON.stringify({ model: "mock-echo", input: "Keep going through the outage, please.", stream: true }),
    },
    {
      name: "chat, admin",
      path: "/v1/chat/completions",
      caller: adminCaller,
      stream: false,
      body: JSON.stringify({ model: "mock-echo", messages }),
    },
  ];
}

async function send(base: string, kind: Kind): Promise<Outcome> {
  const at = Date.now();
  try {
    const response = await fetch(new URL(kind.path, base), {
      method: "POST",
      headers: { "content-type": "application/json", "x-mock-chunks": "4", ...kind.caller.headers },
      body: kind.body,
    });
    const text = await response.text();
    let code: string | null = null;
    let message: string | null = null;
    let whole = false;
    if (kind.stream && response.ok) {
      whole = text.includes(kind.ends ?? "");
    } else {
      try {
        const json = JSON.parse(text) as { error?: { code?: string; type?: string; message?: string } };
        code = json.error?.code ?? json.error?.type ?? null;
        message = json.error?.message ?? null;
        whole = true;
      } catch {
        whole = false;
      }
    }
    return {
      kind: kind.name,
      at,
      status: response.status,
      requestId: response.headers.get("x-request-id"),
      limits: response.headers.get("x-sluice-limits"),
      code,
      message,
      whole,
    };
  } catch (error) {
    return { kind: kind.name, at, status: 0, requestId: null, limits: null, code: null, message: String(error), whole: false };
  }
}

/** Workers sending the kinds in turn, until told to stop. */
function steadyLoad(base: string, all: Kind[]): { stop: () => Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const workers = Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = w; running; i++) {
      outcomes.push(await send(base, all[i % all.length] as Kind));
      await sleep(PACE_MS);
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return outcomes;
    },
  };
}

/**
 * The refusals the outage policy documents: quotas fail closed while Redis is
 * away, and a key the isolate has no copy of cannot be looked up while
 * Postgres is.
 */
function refusedByPolicy(outcome: Outcome, windows: Window[]): boolean {
  // A store answers again within a moment of starting; a refusal decided just before that still counts.
  const during = (store: Window["store"]) =>
    windows.some((w) => w.store === store && outcome.at >= w.from - 500 && outcome.at <= w.to + 2_000);
  if (outcome.status !== 503 || !outcome.whole) return false;
  if (during("postgres") && outcome.code === "database_unavailable") return true;
  return (
    during("redis") &&
    // OpenAI's format carries the code; Anthropic's has only a type, so the message names the policy.
    (outcome.code === "limits_unavailable" || (outcome.message ?? "").includes("refused by policy")) &&
    (outcome.limits ?? "").includes("redis-unavailable")
  );
}

async function catchUp(sluice: Target, db: pg.Client, ids: string[]): Promise<{ missing: string[]; drainRuns: number }> {
  const worker = await sluice.miniflare?.getWorker();
  const deadline = Date.now() + CATCH_UP_MS;
  let drainRuns = 0;
  for (;;) {
    const found = await db.query<{ request_id: string }>(
      "select distinct request_id from usage_events where request_id = any($1::text[])",
      [ids],
    );
    const seen = new Set(found.rows.map((r) => r.request_id));
    const missing = ids.filter((id) => !seen.has(id));
    const undelivered = (await fetch(new URL("/admin/usage/undelivered", sluice.url), {
      headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` },
    }).then((r) => r.json())) as { parked: number };
    if ((missing.length === 0 && undelivered.parked === 0) || Date.now() > deadline) return { missing, drainRuns };
    if (undelivered.parked > 0) {
      // The cron's drain, as the every-5-minutes trigger would run it.
      await worker?.scheduled({ cron: "*/5 * * * *" });
      drainRuns++;
    }
    await sleep(2_000);
  }
}

/** Every quota and budget counter in Redis beside what the ledger sums to for its subject and period. */
async function countersAgainstLedger(
  redisUrl: string,
  db: pg.Client,
  subjects: { kind: "key" | "user" | "team"; id: string }[],
): Promise<{ key: string; redis: number; ledger: number; ok: boolean }[]> {
  const { default: Redis } = await import("ioredis");
  const redis = new Redis(redisUrl);
  const column = { key: "key_id", user: "user_id", team: "team_id" } as const;
  const rows: { key: string; redis: number; ledger: number; ok: boolean }[] = [];
  try {
    for (const subject of subjects) {
      const ledger = await db.query<{ tokens: string; usd: string; n: string }>(
        `select coalesce(sum(prompt_tokens + completion_tokens), 0)::text as tokens,
                coalesce(sum(cost_usd), 0)::text as usd, count(*)::text as n
           from usage_events where ${column[subject.kind]} = $1`,
        [subject.id],
      );
      const { tokens, usd, n } = ledger.rows[0] ?? { tokens: "0", usd: "0", n: "0" };
      const keys = await redis.keys(`sluice:c:${subject.kind}:${subject.id}:*`);
      for (const key of keys.filter((k) => /:(tok|usd):/.test(k)).sort()) {
        const value = Number(await redis.get(key));
        if (key.includes(":tok:")) rows.push({ key, redis: value, ledger: Number(tokens), ok: value === Number(tokens) });
        else {
          // Nano-dollars, each request's cost rounded once.
          const expected = Math.round(Number(usd) * 1e9);
          rows.push({ key, redis: value, ledger: expected, ok: Math.abs(value - expected) <= Number(n) });
        }
      }
    }
  } finally {
    redis.disconnect();
  }
  return rows;
}

async function main(): Promise<void> {
  const available = enginesAvailable();
  if (!available.postgres || !available.redis) {
    console.error("chaos: needs Postgres' server binaries (initdb, pg_ctl) and redis-server on this machine");
    process.exit(1);
  }
  const engines: Engine[] = [];
  const mock = fork(fileURLToPath(new URL("../../bench/mock-process.ts", import.meta.url)), {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const cleanUp = () => {
    mock.kill("SIGTERM");
    return Promise.all(engines.map((e) => e.destroy().catch(() => undefined)));
  };
  // Interrupted: the servers and the mock are stopped and their files removed, whatever the run had reached.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void cleanUp().then(() => process.exit(130)));
  let sluice: Target | undefined;
  let failed = false;
  try {
    const postgres = await startPostgres();
    engines.push(postgres);
    const redisEngine = await startRedis();
    engines.push(redisEngine);
    log(`Postgres at ${postgres.url}, Redis at ${redisEngine.url}`);
    const neon = await startNeonStandIn({ target: postgres.url });
    const upstash = await startUpstashStandIn({ target: redisEngine.url });
    await migrateDatabase(neon.url);
    const mockUrl = await new Promise<string>((resolve) => mock.on("message", (m: { url?: string }) => m.url && resolve(m.url)));
    const bundle = buildWorker();
    sluice = await startSluice(
      { mockUrl, databaseUrl: neon.url, redisUrl: upstash.url, redisToken: upstash.token, controlUrl: "", engines: "" },
      bundle.path,
    );
    const base = sluice.url;
    const who = await callers(base);
    const all = kinds(who);
    const coldCaller = who[3] as Caller;
    for (const kind of all) {
      const warm = await send(base, kind);
      if (warm.status !== 200) throw new Error(`warm-up ${kind.name}: ${warm.status} ${warm.code}`);
    }

    const pids = sluice.pids;
    const memory: { at: number; rssMiB: number }[] = [];
    const sampler = setInterval(() => memory.push({ at: Date.now(), rssMiB: rssMiB(pids) }), 250);
    const windows: Window[] = [];
    const probes: Outcome[] = [];
    const load = steadyLoad(base, all);
    const started = Date.now();
    await sleep(WARM_MS + CALM_MS);
    for (const [store, engine] of [
      ["postgres", postgres],
      ["redis", redisEngine],
    ] as const) {
      const from = Date.now();
      await engine.stop();
      log(`${store} stopped`);
      await sleep(OUTAGE_MS / 2);
      if (store === "postgres") {
        const probe = await send(base, { ...(all[0] as Kind), name: "chat, unseen key", caller: coldCaller });
        probes.push(probe);
        log(`a key the isolate has not seen: ${probe.status} ${probe.code}`);
      }
      await sleep(OUTAGE_MS / 2);
      await engine.start();
      windows.push({ store, from, to: Date.now() });
      log(`${store} started again after ${((Date.now() - from) / 1000).toFixed(1)} s`);
      await sleep(CALM_MS);
    }
    const outcomes = [...(await load.stop()), ...probes];
    clearInterval(sampler);
    const loadS = (Date.now() - started) / 1000;
    log(`${outcomes.length} requests in ${loadS.toFixed(0)} s; waiting for the ledger to catch up`);

    // Leases the isolate holds hand back what they did not use when they expire.
    await sleep(3_000);
    const ledgerDb = await connected(postgres.url);
    // Every request that got past authentication is metered, refusals by the limits included; the unseen
    // key's, refused before anyone knew who sent it, is not.
    const ids = outcomes.flatMap((o) => (o.requestId === null || o.code === "database_unavailable" ? [] : [o.requestId]));
    const caught = await catchUp(sluice, ledgerDb, ids);
    const doubled = await ledgerDb.query<{ request_id: string; n: string }>(
      "select request_id, count(*)::text as n from usage_events group by request_id having count(*) > 1",
    );
    const total = await ledgerDb.query<{ n: string }>("select count(*)::text as n from usage_events");
    const subjects = [
      ...who.flatMap((c) => (c.keyId ? [{ kind: "key" as const, id: c.keyId }] : [])),
      { kind: "user" as const, id: "chaos-a" },
      { kind: "user" as const, id: "chaos-b" },
      { kind: "team" as const, id: "chaos-team" },
    ];
    const counters = await countersAgainstLedger(redisEngine.url, ledgerDb, subjects);
    await ledgerDb.end();

    const byStatus: Record<string, number> = {};
    for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    const policyRefusals = outcomes.filter((o) => o.status !== 200 && refusedByPolicy(o, windows));
    const unexpected = outcomes.filter((o) => (o.status !== 200 || !o.whole) && !refusedByPolicy(o, windows));
    const level = (at: number) => memory.find((m) => m.at >= at)?.rssMiB ?? Number.NaN;
    const peak = (from: number, to: number) => Math.max(...memory.filter((m) => m.at >= from && m.at <= to).map((m) => m.rssMiB));
    // Each outage beside the calm stretch of the same length before it: workerd's heap grows under any load.
    const memoryReport = windows.map((w) => ({
      store: w.store,
      atStartMiB: level(w.from),
      peakMiB: peak(w.from, w.to),
      growthMiB: peak(w.from, w.to) - level(w.from),
      calmGrowthBeforeMiB: peak(w.from - (w.to - w.from), w.from) - level(w.from - (w.to - w.from)),
    }));
    const checks = {
      "every request past authentication has one ledger row": caught.missing.length === 0,
      "no ledger row doubled": doubled.rows.length === 0,
      "counters equal the ledger": counters.length > 0 && counters.every((c) => c.ok),
      "only policy refusals, every answer whole": unexpected.length === 0,
      "memory bounded during the outages": memoryReport.every((m) => m.growthMiB < MEMORY_BOUND_MIB),
    };
    const report = {
      date: new Date().toISOString(),
      short: SHORT,
      outageS: OUTAGE_MS / 1000,
      loadS,
      requests: outcomes.length,
      byStatus,
      policyRefusals: policyRefusals.length,
      unexpected: unexpected.slice(0, 20),
      ledgerRows: Number(total.rows[0]?.n ?? 0),
      missingRows: caught.missing.length,
      drainRuns: caught.drainRuns,
      doubledRows: doubled.rows.length,
      counters,
      memory: {
        outages: memoryReport,
        // Each second since the load began: [s, MiB].
        timeline: memory.filter((_, i) => i % 4 === 0).map((m) => [Math.round((m.at - started) / 1000), Math.round(m.rssMiB)]),
      },
      windowsS: windows.map((w) => ({ store: w.store, from: (w.from - started) / 1000, to: (w.to - started) / 1000 })),
      checks,
    };
    if (!SHORT) writeFileSync(`${ROOT}bench/results/chaos.json`, `${JSON.stringify(report, null, 2)}\n`);
    console.log(JSON.stringify({ ...report, counters: counters.filter((c) => !c.ok) }, null, 2));
    for (const [check, ok] of Object.entries(checks)) console.log(`${ok ? "ok  " : "FAIL"} ${check}`);
    failed = Object.values(checks).some((ok) => !ok);
  } catch (error) {
    console.error(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    failed = true;
  } finally {
    await sluice?.close().catch(() => undefined);
    await cleanUp();
  }
  process.exit(failed ? 1 : 0);
}

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client(url);
  await client.connect();
  return client;
}

await main();
