// A webhook receiver for Sluice's signed webhooks (billing batches, limit
// alerts), as a billing system would run one: `POST /__mock/hooks/<name>`
// keeps what it received; `GET` lists it; `POST /__mock/hooks/<name>/fail?times=N`
// makes the next N deliveries fail with a 500, as a receiver having a bad
// moment would; `DELETE` forgets everything under the name.
import type { IncomingMessage } from "node:http";

export interface Delivery {
  headers: Record<string, string>;
  /** The raw body, as signed. */
  body: string;
  status: number;
}

export class HookReceiver {
  private readonly received = new Map<string, Delivery[]>();
  private readonly failures = new Map<string, number>();

  /** Answers one request to a hook path; undefined when the path is not one. */
  handle(req: IncomingMessage, path: string, body: string): { status: number; json: unknown } | undefined {
    const match = /^\/__mock\/hooks\/([\w-]+)(\/fail)?$/.exec(path);
    if (!match) return undefined;
    const name = match[1] ?? "";
    if (match[2]) {
      const times = Number(new URL(req.url ?? "/", "http://mock").searchParams.get("times") ?? "1");
      this.failures.set(name, times);
      return { status: 200, json: { name, failing: times } };
    }
    if (req.method === "GET") return { status: 200, json: this.received.get(name) ?? [] };
    if (req.method === "DELETE") {
      this.received.delete(name);
      this.failures.delete(name);
      return { status: 200, json: { name, cleared: true } };
    }
    const failing = this.failures.get(name) ?? 0;
    const status = failing > 0 ? 500 : 200;
    if (failing > 0) this.failures.set(name, failing - 1);
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
    );
    this.received.set(name, [...(this.received.get(name) ?? []), { headers, body, status }]);
    return { status, json: status === 200 ? { received: true } : { error: "receiver failing on purpose" } };
  }
}
