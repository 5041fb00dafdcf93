// A guardrail service as an operator might run one (a Presidio- or
// Lakera-style checker): `POST /__mock/guard/<name>` answers Sluice's webhook
// guardrail by what the texts say — `BLOCKME` blocks (category `test`),
// `REDACTME` is redacted to `[GONE]`, `FLAGME` is flagged, `SLOWME` answers
// after 3 s, `FAILME` answers 500, `GARBLEME` answers something that is not
// a verdict; anything else is allowed. `HOLDME` waits, before all that, until
// `POST /__mock/guard/<name>/release` (so a test orders the verdict against
// the upstream call); `GET` lists what it received.
import type { IncomingMessage } from "node:http";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class GuardService {
  private readonly received = new Map<string, { headers: Record<string, string>; body: string }[]>();
  /** Verdicts held by `HOLDME`, per checker, until a release. */
  private readonly held = new Map<string, (() => void)[]>();

  async handle(req: IncomingMessage, path: string, text: string): Promise<{ status: number; json: unknown } | undefined> {
    const release = /^\/__mock\/guard\/([\w-]+)\/release$/.exec(path);
    if (release && req.method === "POST") {
      const waiting = this.held.get(release[1] ?? "") ?? [];
      this.held.delete(release[1] ?? "");
      for (const go of waiting) go();
      return { status: 200, json: { released: waiting.length } };
    }
    const match = /^\/__mock\/guard\/([\w-]+)$/.exec(path);
    if (!match) return undefined;
    const name = match[1] ?? "";
    if (req.method === "GET") return { status: 200, json: this.received.get(name) ?? [] };
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
    );
    this.received.set(name, [...(this.received.get(name) ?? []), { headers, body: text }]);
    const texts = ((JSON.parse(text) as { texts?: string[] }).texts ?? []).join("\n");
    if (texts.includes("HOLDME")) {
      // Bounded, so a test that never releases does not leave a request open for ever.
      await new Promise<void>((go) => {
        const timer = setTimeout(go, 20_000);
        const released = () => {
          clearTimeout(timer);
          go();
        };
        this.held.set(name, [...(this.held.get(name) ?? []), released]);
      });
    }
    if (texts.includes("SLOWME")) await sleep(3000);
    if (texts.includes("FAILME")) return { status: 500, json: { error: "failing on purpose" } };
    if (texts.includes("GARBLEME")) return { status: 200, json: { verdict: "maybe" } };
    if (texts.includes("BLOCKME")) return { status: 200, json: { action: "block", categories: ["test"] } };
    if (texts.includes("FLAGME")) return { status: 200, json: { action: "flag", categories: ["test"] } };
    if (texts.includes("REDACTME")) {
      const original = (JSON.parse(text) as { texts: string[] }).texts;
      return {
        status: 200,
        json: { action: "redact", categories: ["test"], texts: original.map((t) => t.replaceAll("REDACTME", "[GONE]")) },
      };
    }
    return { status: 200, json: { action: "allow" } };
  }
}
