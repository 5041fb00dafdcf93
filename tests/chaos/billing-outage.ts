// `npm run chaos:billing`: the billing webhook's receiver is down for 20 s
// during a burst of 120 requests, then answers again, and no request follows.
// Against a running gateway (`npm run dev`) whose BILLING_WEBHOOK_URL is the
// mock upstream's receiver named here, it requires every record of the burst
// delivered, each delivery signed under BILLING_WEBHOOK_SECRET, within two
// minutes of the receiver coming back.
//
//   BILLING_WEBHOOK_URL=http://127.0.0.1:8090/__mock/hooks/outage \
//   BILLING_WEBHOOK_SECRET=whsec_dev_0123456789abcdef npm run dev
//   BILLING_WEBHOOK_URL=… BILLING_WEBHOOK_SECRET=… ADMIN_KEY=… npm run chaos:billing
//
// SLUICE is the gateway (http://127.0.0.1:8787 by default); ADMIN_KEY is read
// from .dev.vars when not set; OUTAGE_SECONDS lengthens the outage (past 215 s,
// the retries have reached their 110 s cap).
import { createHmac, timingSafeEqual } from "node:crypto";
import { readDevVars } from "../../dev/env.ts";

const SLUICE = process.env.SLUICE ?? "http://127.0.0.1:8787";
const HOOK = process.env.BILLING_WEBHOOK_URL ?? "http://127.0.0.1:8090/__mock/hooks/outage";
const SECRET = process.env.BILLING_WEBHOOK_SECRET ?? "";
const ADMIN_KEY = process.env.ADMIN_KEY ?? readDevVars().ADMIN_KEY ?? "";
const REQUESTS = 120;
const OUTAGE_MS = 1000 * Number(process.env.OUTAGE_SECONDS ?? 20);
/** The burst: the first half of the outage, at most 10 s. */
const BURST_MS = Math.min(10_000, OUTAGE_MS / 2);
const PROMISE_MS = 120_000;
/** How long past the promise to keep watching, to report when the records did arrive. */
const WATCH_MS = 240_000;

interface Delivery {
  headers: Record<string, string>;
  body: string;
  status: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function signed(delivery: Delivery): boolean {
  const header = delivery.headers["x-sluice-signature"] ?? "";
  const t = /(?:^|,)t=(\d+)/.exec(header)?.[1] ?? "";
  const v1 = /(?:^|,)v1=([0-9a-f]+)/.exec(header)?.[1] ?? "";
  const expected = createHmac("sha256", SECRET).update(`${t}.${delivery.body}`).digest("hex");
  return v1.length === expected.length && timingSafeEqual(Buffer.from(v1), Buffer.from(expected));
}

async function chat(i: number): Promise<string> {
  const response = await fetch(`${SLUICE}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: `outage ${i}` }] }),
  });
  await response.text();
  if (response.status !== 200) throw new Error(`request ${i}: HTTP ${response.status}`);
  return response.headers.get("x-request-id") ?? "";
}

async function main(): Promise<void> {
  if (!SECRET || !ADMIN_KEY) throw new Error("BILLING_WEBHOOK_SECRET and ADMIN_KEY are required");
  await fetch(HOOK, { method: "DELETE" });
  await fetch(`${HOOK}/fail?times=1000000`, { method: "POST" });
  const down = Date.now();
  console.log(`receiver down for ${OUTAGE_MS / 1000} s; ${REQUESTS} requests over the first ${BURST_MS / 1000} s`);
  const ids: string[] = [];
  for (let i = 0; i < REQUESTS; i += 10) {
    ids.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => chat(i + j)))));
    await sleep(BURST_MS / (REQUESTS / 10));
  }
  await sleep(Math.max(0, down + OUTAGE_MS - Date.now()));
  const refused = ((await (await fetch(HOOK)).json()) as Delivery[]).length;
  await fetch(`${HOOK}/fail?times=0`, { method: "POST" });
  const back = Date.now();
  console.log(
    `receiver back after ${((back - down) / 1000).toFixed(1)} s, having refused ${refused} deliveries; no more requests`,
  );

  const wanted = new Set(ids);
  let deliveries: Delivery[] = [];
  let delivered = new Set<string>();
  while (Date.now() - back < WATCH_MS) {
    deliveries = ((await (await fetch(HOOK)).json()) as Delivery[]).filter((d) => d.status === 200);
    delivered = new Set(
      deliveries.flatMap((d) => (JSON.parse(d.body) as { data: { request_id: string }[] }).data.map((r) => r.request_id)),
    );
    if ([...wanted].every((id) => delivered.has(id))) break;
    await sleep(250);
  }
  const elapsed = Date.now() - back;
  const missing = [...wanted].filter((id) => !delivered.has(id));
  const unsigned = deliveries.filter((d) => !signed(d)).length;
  console.log(
    `${wanted.size - missing.length}/${wanted.size} records delivered in ${deliveries.length} accepted deliveries, ` +
      `${(elapsed / 1000).toFixed(1)} s after the receiver came back; ${unsigned} deliveries failed verification`,
  );
  if (missing.length > 0 || unsigned > 0 || elapsed > PROMISE_MS) {
    console.error(`FAILED: ${missing.length} missing, ${unsigned} unsigned, ${(elapsed / 1000).toFixed(1)} s (at most 120 s)`);
    process.exit(1);
  }
  console.log("OK: every record, signed, within two minutes, with no traffic after the outage");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
