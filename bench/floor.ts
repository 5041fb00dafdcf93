// `npm run bench:floor [-- --streams] [--prompt-kib K] [--rounds R] [--no-sluice]`: what the runtime itself
// charges for the steps Sluice cannot skip, measured on minimal Workers
// (bench/floor/) beside the bare forwarder and Sluice, in alternating rounds
// in one run. Process CPU per request from /proc, deferred work included.
// Without --streams: requests one at a time carrying a coding agent's
// conversation of K KiB (2048 unless given), each figure also per MiB of
// prompt over the forwarder's. With --streams: streams of 64 chunks 2 ms
// apart, eight at a time, through each way of relaying them.
import { conversation } from "./board.ts";
import { cpuPerRound, median, ROUND_STREAM, type RoundLoad } from "./rounds.ts";
import {
  buildWorker,
  option,
  runBench,
  startFloorWorker,
  startForwarder,
  startInfra,
  startSluice,
  type Target,
} from "./targets.ts";

const STREAMS = process.argv.includes("--streams");
const PROMPT_KIB = Number(option("prompt-kib") ?? 2048);
const ROUNDS = Number(option("rounds") ?? 4);
const WITH_SLUICE = !process.argv.includes("--no-sluice");
/** Streams a round. */
const STREAM_COUNT = 96;
/** Enough requests a round that /proc's 10 ms ticks are a small share: about 128 MiB of prompts, at least 60. */
const REQUESTS = Math.max(60, Math.round((128 * 1024) / Math.max(PROMPT_KIB, 1)));

const FLOORS = STREAMS
  ? {
      "stream-pipe": "piped into an IdentityTransformStream",
      "stream-tee": "tee(), the copy read in batches",
      "stream-tee-pipe": "tee(), piped, the copy read in batches (Sluice's piped relay)",
      "stream-pipe-tee": "piped, then tee(), the copy read in batches",
      "stream-js": "each chunk read and enqueued in JavaScript",
    }
  : {
      "body-read": "the body read into the isolate, sent on",
      "body-parse": "read, decoded, parsed and held, its bytes sent on",
    };

async function main(): Promise<void> {
  const { infra, stop } = await startInfra();
  const targets: Target[] = [];
  try {
    targets.push(await startForwarder(infra));
    for (const file of Object.keys(FLOORS)) targets.push(await startFloorWorker(infra, file));
    if (WITH_SLUICE) {
      const bundle = buildWorker().path;
      targets.push(await startSluice(infra, bundle));
      // A stream whose client asked for no usage has its usage chunk hidden; with STREAM_USAGE=always nothing is, and it is piped.
      if (STREAMS) {
        const always = await startSluice(infra, bundle, { bindings: { STREAM_USAGE: "always" } });
        targets.push({ ...always, name: "sluice-stream-usage" });
      }
    }
    const count = STREAMS ? STREAM_COUNT : REQUESTS;
    const load: RoundLoad = STREAMS
      ? { streams: true }
      : { streams: false, body: JSON.stringify({ model: "mock-echo", messages: conversation(PROMPT_KIB * 1024) }) };
    for (const target of targets) await cpuPerRound(target, Math.ceil(count / 5), load);
    const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    for (let i = 0; i < ROUNDS; i++) {
      // Every other round in reverse, so a busy moment on the machine lands on all of them alike.
      for (const target of i % 2 === 0 ? targets : [...targets].reverse())
        cpu.get(target.name)?.push(await cpuPerRound(target, count, load));
      console.error(`bench: round ${i + 1}/${ROUNDS} done`);
    }
    const forwarder = median(cpu.get("forwarder") ?? []);
    const unit = STREAMS ? "stream" : "request";
    console.log(
      STREAMS
        ? `${ROUNDS} rounds of ${count} streams of ${ROUND_STREAM.chunks} chunks ${ROUND_STREAM.intervalMs} ms apart at c=${ROUND_STREAM.concurrency}`
        : `${ROUNDS} rounds of ${count} requests at c=1, a ${PROMPT_KIB} KiB prompt each`,
    );
    console.log(
      `| Worker | CPU per ${unit} (ms), median (range) | over the forwarder | ${STREAMS ? "÷ the forwarder" : "per MiB of prompt"} |`,
    );
    console.log("| --- | ---: | ---: | ---: |");
    for (const target of targets) {
      const values = cpu.get(target.name) ?? [];
      const own = median(values) - forwarder;
      const name =
        target.name === "forwarder"
          ? "the forwarder"
          : target.name === "sluice"
            ? `Sluice (passthrough, a key with every check${STREAMS ? ", the usage chunk hidden" : ""})`
            : target.name === "sluice-stream-usage"
              ? "Sluice with STREAM_USAGE=always (piped)"
              : FLOORS[target.name.slice("floor:".length) as keyof typeof FLOORS];
      const last = STREAMS ? `${(median(values) / forwarder).toFixed(2)}×` : `${(own / (PROMPT_KIB / 1024)).toFixed(2)} ms`;
      console.log(
        `| ${name} | ${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}) | ${own.toFixed(2)} | ${last} |`,
      );
    }
  } finally {
    for (const target of targets) await target.close();
    stop();
  }
}

runBench(main);
