// `npm run chaos [-- --short]`: outages that must lose nothing. The built
// Worker runs in workerd against the Neon and Upstash stand-ins, with real
// Postgres and Redis servers of its own behind them. Under steady mixed load,
// Postgres is stopped for 10 s and started again, then Redis the same. Once
// the queue and the cron's drain have run, it checks:
//   - every request past authentication has exactly one ledger row, and no row is doubled;
//   - every subject in the ledger has its quota and budget counters in Redis,
//     each equal to what the ledger sums to for its period;
//   - what was refused was refused by the documented policy (503
//     `limits_unavailable` with `x-sluice-limits`, while Redis was away; 503
//     `database_unavailable` with `Retry-After: 2`, while Postgres was, for a
//     key the isolate had never seen, and for no other), and nothing else failed;
//   - requests were served while each store was down, and every key the
//     isolate had seen was served while Postgres was;
//   - the gateway's memory grew no more while a store was down than in the
//     calm stretch before, give or take a margin, and never past a ceiling.
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
import { budgetWindow, windowsAt } from "../../src/limits/windows.ts";
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
/**
 * Growth of the gateway's memory within an outage beyond what the same load
 * grew it in the calm stretch of the same length before: more counts as
 * unbounded (workerd's heap grows under any load, in steps).
 */
const MEMORY_EXCESS_MIB = 32;
/** Growth within an outage that counts as unbounded, whatever the calm stretch did. */
const MEMORY_CEILING_MIB = 96;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.error(`chaos: ${line}`);

interface Outcome {
  kind: string;
  /** The caller's name. */
  caller: string;
  at: number;
  /** When the answer was read whole (or failed). */
  done: number;
  status: number;
  requestId: string | null;
  limits: string | null;
  retryAfter: string | null;
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
  /** From when the store was surely down (stopped) to when it was started again. */
  downFrom: number;
  downTo: number;
}

interface Caller {
  name: string;
  headers: Record<string, string>;
  keyId?: string;
  /** No request of its reaches the gateway before Postgres goes away: the isolate has no copy of it. */
  unseen?: true;
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
  made.push({ name: "cold", headers: { authorization: `Bearer ${String(cold.key)}` }, unseen: true });
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
      caller: kind.caller.name,
      at,
      done: Date.now(),
      status: response.status,
      requestId: response.headers.get("x-request-id"),
      limits: response.headers.get("x-sluice-limits"),
      retryAfter: response.headers.get("retry-after"),
      code,
      message,
      whole,
    };
  } catch (error) {
    return {
      kind: kind.name,
      caller: kind.caller.name,
      at,
      done: Date.now(),
      status: 0,
      requestId: null,
      limits: null,
      retryAfter: null,
      code: null,
      message: String(error),
      whole: false,
    };
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

/** The callers no request of which reached the gateway before Postgres went away. */
const unseenCallers = (who: Caller[]) => new Set(who.filter((c) => c.unseen).map((c) => c.name));

/** A 503 `database_unavailable` with `Retry-After: 2`: what a key the isolate cannot check gets while Postgres is away. */
const databaseRefusal = (outcome: Outcome) =>
  outcome.status === 503 && outcome.code === "database_unavailable" && outcome.retryAfter === "2";

/**
 * The refusals the outage policy documents: quotas fail closed while Redis is
 * away, and a key the isolate has no copy of cannot be looked up while
 * Postgres is. A key it has seen keeps its cached identity: refusing it is a failure.
 */
function refusedByPolicy(outcome: Outcome, windows: Window[], unseen: Set<string>): boolean {
  // A store answers again within a moment of starting; a refusal decided just before that still counts.
  const during = (store: Window["store"]) =>
    windows.some((w) => w.store === store && outcome.at >= w.from - 500 && outcome.at <= w.to + 2_000);
  if (outcome.status !== 503 || !outcome.whole) return false;
  if (during("postgres") && databaseRefusal(outcome)) return unseen.has(outcome.caller);
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

interface CounterCheck {
  key: string;
  /** Null: the counter is not in Redis. */
  redis: number | null;
  ledger: number;
  ok: boolean;
}

/**
 * For every key, user and team with rows in the ledger, the counters
 * src/limits/plan.ts keeps for it (tokens and USD for the day and the month,
 * and a key's budget when it has one), each beside what the ledger sums to
 * from the start of its window. A counter missing from Redis fails.
 */
async function countersAgainstLedger(redisUrl: string, db: pg.Client, timeZone = "UTC"): Promise<CounterCheck[]> {
  const { default: Redis } = await import("ioredis");
  const redis = new Redis(redisUrl);
  const now = Date.now();
  const windows = windowsAt(now, timeZone);
  const subjects = await db.query<{ kind: "key" | "user" | "team"; id: string }>(
    `select distinct 'key' as kind, key_id as id from usage_events where key_id is not null
     union select distinct 'user', user_id from usage_events where user_id is not null
     union select distinct 'team', team_id from usage_events where team_id is not null`,
  );
  const budgets = await db.query<{ id: string; budget_duration: string | null }>(
    "select id, budget_duration from virtual_keys where max_budget_usd is not null",
  );
  const budgetOf = new Map(budgets.rows.map((row) => [row.id, row.budget_duration]));
  const column = { key: "key_id", user: "user_id", team: "team_id" } as const;
  const rows: CounterCheck[] = [];
  try {
    for (const subject of subjects.rows) {
      const base = `sluice:c:${subject.kind}:${subject.id}`;
      const expected: { key: string; measure: "tok" | "usd"; from: number }[] = [
        { key: `${base}:tok:d:${windows.dayKey}`, measure: "tok", from: windows.dayStartMs },
        { key: `${base}:tok:m:${windows.monthKey}`, measure: "tok", from: windows.monthStartMs },
        { key: `${base}:usd:d:${windows.dayKey}`, measure: "usd", from: windows.dayStartMs },
        { key: `${base}:usd:m:${windows.monthKey}`, measure: "usd", from: windows.monthStartMs },
      ];
      if (subject.kind === "key" && budgetOf.has(subject.id)) {
        const budget = budgetWindow(budgetOf.get(subject.id) ?? null, now, windows);
        expected.push({ key: `${base}:usd:b:${budget.key}`, measure: "usd", from: budget.startMs });
      }
      for (const counter of expected) {
        const ledger = await db.query<{ tokens: string; usd: string; n: string }>(
          `select coalesce(sum(prompt_tokens + completion_tokens), 0)::text as tokens,
                  coalesce(sum(cost_usd), 0)::text as usd, count(*)::text as n
             from usage_events where ${column[subject.kind]} = $1 and created_at >= $2`,
          [subject.id, new Date(counter.from).toISOString()],
        );
        const { tokens, usd, n } = ledger.rows[0] ?? { tokens: "0", usd: "0", n: "0" };
        const stored = await redis.get(counter.key);
        const value = stored === null ? null : Number(stored);
        if (counter.measure === "tok") {
          rows.push({ key: counter.key, redis: value, ledger: Number(tokens), ok: value === Number(tokens) });
        } else {
          // Nano-dollars, each request's cost rounded once.
          const expectedNano = Math.round(Number(usd) * 1e9);
          rows.push({
            key: counter.key,
            redis: value,
            ledger: expectedNano,
            ok: value !== null && Math.abs(value - expectedNano) <= Number(n),
          });
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
    const unseen = unseenCallers(who);
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
      const downFrom = Date.now();
      log(`${store} stopped`);
      await sleep(OUTAGE_MS / 2);
      if (store === "postgres") {
        const probe = await send(base, { ...(all[0] as Kind), name: "chat, unseen key", caller: coldCaller });
        probes.push(probe);
        log(`a key the isolate has not seen: ${probe.status} ${probe.code}, retry-after ${probe.retryAfter}`);
      }
      await sleep(OUTAGE_MS / 2);
      const downTo = Date.now();
      await engine.start();
      windows.push({ store, from, to: Date.now(), downFrom, downTo });
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
    // key's, refused before anyone knew who sent it, is not. Any other refusal is a failure, and keeps its row here.
    const ids = outcomes.flatMap((o) =>
      o.requestId === null || (unseen.has(o.caller) && databaseRefusal(o)) ? [] : [o.requestId],
    );
    const caught = await catchUp(sluice, ledgerDb, ids);
    const doubled = await ledgerDb.query<{ request_id: string; n: string }>(
      "select request_id, count(*)::text as n from usage_events group by request_id having count(*) > 1",
    );
    const total = await ledgerDb.query<{ n: string }>("select count(*)::text as n from usage_events");
    const counters = await countersAgainstLedger(redisEngine.url, ledgerDb);
    await ledgerDb.end();

    const byStatus: Record<string, number> = {};
    for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    const policyRefusals = outcomes.filter((o) => o.status !== 200 && refusedByPolicy(o, windows, unseen));
    const unexpected = outcomes.filter((o) => (o.status !== 200 || !o.whole) && !refusedByPolicy(o, windows, unseen));
    // Served while the store was down: sent after it stopped, answered whole before it started again.
    const servedDuring = (w: Window) =>
      outcomes.filter((o) => o.status === 200 && o.whole && o.at >= w.downFrom && o.done <= w.downTo);
    const served = windows.map((w) => ({
      store: w.store,
      served: servedDuring(w).length,
      byCaller: Object.fromEntries(
        who.filter((c) => !c.unseen).map((c) => [c.name, servedDuring(w).filter((o) => o.caller === c.name).length]),
      ),
    }));
    const postgresServed = served.find((s) => s.store === "postgres");
    const level = (at: number) => memory.find((m) => m.at >= at)?.rssMiB ?? Number.NaN;
    const peak = (from: number, to: number) => Math.max(...memory.filter((m) => m.at >= from && m.at <= to).map((m) => m.rssMiB));
    // Each outage beside the calm stretch of the same length before it: workerd's heap grows under any load.
    const memoryReport = windows.map((w) => {
      const growthMiB = peak(w.from, w.to) - level(w.from);
      const calmGrowthBeforeMiB = peak(w.from - (w.to - w.from), w.from) - level(w.from - (w.to - w.from));
      return {
        store: w.store,
        atStartMiB: level(w.from),
        peakMiB: peak(w.from, w.to),
        growthMiB,
        calmGrowthBeforeMiB,
        excessMiB: growthMiB - Math.max(0, calmGrowthBeforeMiB),
      };
    });
    const probe = probes[0];
    const checks = {
      "every request past authentication has one ledger row": caught.missing.length === 0,
      "no ledger row doubled": doubled.rows.length === 0,
      // Two keys, two users and their team: five subjects, 22 counters.
      "every subject's counters in Redis, equal to the ledger": counters.length >= 22 && counters.every((c) => c.ok),
      "only policy refusals, every answer whole": unexpected.length === 0,
      "a key never seen gets 503 database_unavailable, Retry-After 2, while Postgres is away":
        probe !== undefined && unseen.has(probe.caller) && databaseRefusal(probe) && probe.whole,
      "requests served while each store is down": served.length === 2 && served.every((s) => s.served > 0),
      "every key seen before is served while Postgres is away":
        postgresServed !== undefined && Object.values(postgresServed.byCaller).every((n) => n > 0),
      [`memory grows by under ${MEMORY_EXCESS_MIB} MiB more during an outage than in the calm before it, and under ${MEMORY_CEILING_MIB} MiB`]:
        memoryReport.every((m) => m.excessMiB < MEMORY_EXCESS_MIB && m.growthMiB < MEMORY_CEILING_MIB),
    };
    const report = {
      date: new Date().toISOString(),
      short: SHORT,
      outageS: OUTAGE_MS / 1000,
      loadS,
      requests: outcomes.length,
      byStatus,
      policyRefusals: policyRefusals.length,
      probe,
      served,
      unexpected: unexpected.slice(0, 20),
      ledgerRows: Number(total.rows[0]?.n ?? 0),
      missingRows: caught.missing.length,
      drainRuns: caught.drainRuns,
      doubledRows: doubled.rows.length,
      countersChecked: counters.length,
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
