// An OpenTelemetry collector as far as Sluice's exporter can tell: OTLP/HTTP
// with JSON bodies at `POST /__mock/otlp/<name>/v1/traces` (and `/v1/logs`,
// `/v1/metrics`), and a log sink taking JSON lines at `POST
// /__mock/otlp/<name>/lines`, kept as received (with the path); `GET /__mock/otlp/<name>` lists them (headers and decoded body);
// `POST /__mock/otlp/<name>/behave?status=500&delay_ms=3000` makes the
// collector refuse, or hang, as a real one having a bad moment does.
import type { IncomingMessage } from "node:http";

export interface OtlpExport {
  path: string;
  headers: Record<string, string>;
  /** The raw body, as sent (a signature is checked over it). */
  text: string;
  body: unknown;
  status: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class OtlpReceiver {
  private readonly received = new Map<string, OtlpExport[]>();
  private readonly behaviour = new Map<string, { status: number; delayMs: number }>();

  /** Answers one request to a collector path; undefined when the path is not one. */
  async handle(req: IncomingMessage, path: string, text: string): Promise<{ status: number; json: unknown } | undefined> {
    const match = /^\/__mock\/otlp\/([\w-]+)(\/v1\/(?:traces|logs|metrics)|\/lines|\/behave)?$/.exec(path);
    if (!match) return undefined;
    const name = match[1] ?? "";
    if (match[2] === "/behave") {
      const query = new URL(req.url ?? "/", "http://mock").searchParams;
      const behaviour = { status: Number(query.get("status") ?? "200"), delayMs: Number(query.get("delay_ms") ?? "0") };
      this.behaviour.set(name, behaviour);
      return { status: 200, json: behaviour };
    }
    if (!match[2]) return { status: 200, json: this.received.get(name) ?? [] };
    const { status, delayMs } = this.behaviour.get(name) ?? { status: 200, delayMs: 0 };
    if (delayMs > 0) await sleep(delayMs);
    let body: unknown;
    try {
      body =
        match[2] === "/lines"
          ? text
              .split("\n")
              .filter((line) => line.length > 0)
              .map((line) => JSON.parse(line))
          : JSON.parse(text);
    } catch {
      return { status: 400, json: { code: 3, message: "the body is not OTLP JSON" } };
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
    );
    this.received.set(name, [...(this.received.get(name) ?? []), { path: match[2], headers, text, body, status }]);
    return { status, json: status === 200 ? { partialSuccess: {} } : { code: 14, message: "collector failing on purpose" } };
  }
}
