// `npm run bench:guardrails`: the CPU the guardrails' scan costs a request,
// on prompts of 4 KiB and 64 KiB (prose with a few values to find, and with
// none), every built-in detector on, in each mode; and the input stage of a
// request whose caller has no guardrails, which is one property read.
// `npm run bench:guardrails -- --accuracy` prints instead each detector's
// precision and recall over the labelled corpus (tests/guardrails/corpus).
import { compileGuardrail, type Guardrail } from "../src/guardrails/definitions.ts";
import { DETECTOR_KINDS } from "../src/guardrails/detectors.ts";
import { guardInput } from "../src/guardrails/input.ts";
import { AnswerGuard } from "../src/guardrails/output.ts";
import { guardRequest } from "../src/guardrails/stage.ts";
import { accuracyTable, scoreDetectors } from "../tests/guardrails/accuracy.ts";
import { CORPUS } from "../tests/guardrails/corpus/index.ts";

if (process.argv.includes("--accuracy")) {
  console.log(accuracyTable(scoreDetectors(CORPUS), CORPUS));
  process.exit(0);
}

const PROSE =
  "The quarterly review covers revenue, hiring and the roadmap for the next two releases. " +
  "Customers asked for better exports, faster search and an audit log; support tickets fell by 12% in March. ";
const VALUES = " Contact alice@example.com or +44 20 7946 0958, card 4111 1111 1111 1111, from 10.0.0.1. ";

function prompt(bytes: number, withValues: boolean): string {
  let text = "";
  while (text.length < bytes) text += PROSE + (withValues && text.length % 4096 < PROSE.length ? VALUES : "");
  return text.slice(0, bytes);
}

const all = (mode: Guardrail["mode"]) =>
  compileGuardrail({ id: mode, name: mode, phase: "both", mode, kinds: [...DETECTOR_KINDS], options: {} }) as Guardrail;

function measure(label: string, run: () => void): void {
  for (let i = 0; i < 20; i++) run();
  const runs = 200;
  const started = performance.now();
  for (let i = 0; i < runs; i++) run();
  const ms = (performance.now() - started) / runs;
  console.log(`${label.padEnd(52)} ${ms.toFixed(3)} ms`);
}

for (const size of [4096, 65536]) {
  for (const withValues of [false, true]) {
    const body = { model: "m", messages: [{ role: "user", content: prompt(size, withValues) }] };
    const what = `${size / 1024} KiB, ${withValues ? "with values" : "clean"}`;
    measure(`input, flag (scan only), ${what}`, () => guardRequest(body, [all("flag")]));
    measure(`input, redact, ${what}`, () => guardRequest(body, [all("redact")]));
    const answer = new AnswerGuard([all("redact")], guardInput(body, [all("redact")]).placeholders, []);
    const text = body.messages[0]?.content ?? "";
    measure(`output stream (50-char chunks), redact, ${what}`, () => {
      const filter = answer.stream();
      for (let i = 0; i < text.length; i += 50) filter.push(text.slice(i, i + 50));
      filter.flush();
    });
  }
}
const policy: { guardrails?: string[] } = {};
measure("no guardrails: the check a request pays", () => {
  if (policy.guardrails && policy.guardrails.length > 0) throw new Error("unreachable");
});
