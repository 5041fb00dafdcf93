// Small HTTP helpers shared by the local stand-ins and the mock upstream.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Listens on 127.0.0.1; a preferred port that is taken gives way to a free one. */
export function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" && port !== 0) {
        server.listen(0, "127.0.0.1");
      } else {
        reject(error);
      }
    };
    server.on("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
    server.listen(port, "127.0.0.1");
  });
}

/** Why a port on 127.0.0.1 cannot be listened on (`EADDRINUSE`: taken), or undefined when it is free. */
export function portProblem(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(undefined)));
  });
}

/** A port the system has free on 127.0.0.1 just now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A port variable that names no port, or a port that cannot be had: `npm run dev` stops with it. */
export class PortError extends Error {
  override name = "PortError";
}

export interface PortChoice {
  port: number;
  /** The variable named it: that port or none. */
  fixed: boolean;
  /** Its usual port was taken, so another was chosen. */
  movedFrom?: number;
}

/**
 * A dev server's port. Its variable, when set, names it: a number from 1 to
 * 65535 that is free, or a PortError naming both. Unset: its usual port when
 * free, else any free port (a second checkout, another program on the usual
 * one), never one in `avoid` (chosen for another server, not listening yet).
 */
export async function choosePort(options: {
  variable: string;
  usual: number;
  env?: Record<string, string | undefined>;
  avoid?: number[];
}): Promise<PortChoice> {
  const { variable, usual, env = process.env, avoid = [] } = options;
  const value = env[variable];
  if (value !== undefined && value !== "") {
    const port = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!(port >= 1 && port <= 65_535)) {
      throw new PortError(`${variable}=${JSON.stringify(value)} is not a port: use a number from 1 to 65535.`);
    }
    const problem = avoid.includes(port) ? "EADDRINUSE" : await portProblem(port);
    if (problem === "EADDRINUSE") {
      throw new PortError(`${variable}=${port}, but port ${port} on 127.0.0.1 is taken: stop what uses it, or choose another.`);
    }
    if (problem) throw new PortError(`${variable}=${port}, but port ${port} on 127.0.0.1 cannot be listened on (${problem}).`);
    return { port, fixed: true };
  }
  if (!avoid.includes(usual) && (await portProblem(usual)) === undefined) return { port: usual, fixed: false };
  for (;;) {
    const port = await freePort();
    if (!avoid.includes(port)) return { port, fixed: false, movedFrom: usual };
  }
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * A server that counts each request it answers (the stats routes aside),
 * each reply held back by the counter's `replyDelayMs` so a benchmark can
 * place the store as far away as production's is.
 */
export function countedServer(
  counter: RoundTripCounter,
  answer: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onError: (error: unknown) => unknown,
): Server {
  return createServer((req, res) => {
    if (counter.handle(req, res)) return;
    counter.count();
    res.once("finish", () => {
      counter.answered++;
      counter.lastAnsweredAt = Date.now();
    });
    const delay = counter.replyDelayMs;
    const reply = () => answer(req, res).catch((error) => sendJson(res, 500, onError(error)));
    if (delay > 0) setTimeout(reply, delay);
    else void reply();
  });
}

/**
 * Counts the round trips a stand-in serves, so benchmarks can tell how many
 * database and cache calls a request costs. `GET /__stats` reads the counts
 * and when the last reply went out, `POST /__stats/reset` zeroes them, and
 * `POST /__stats/delay?ms=N` holds every reply back N ms from now on.
 */
export class RoundTripCounter {
  total = 0;
  /** Round trips whose reply has gone out. */
  answered = 0;
  /** How long every reply waits, in ms: `STANDIN_LATENCY_MS` at start, or set by a benchmark. */
  replyDelayMs = Math.max(0, Number(process.env.STANDIN_LATENCY_MS ?? 0) || 0);

  count(): void {
    this.total += 1;
  }

  /** When the last reply went out, ms since the epoch. */
  lastAnsweredAt = 0;

  /** Answers the stats routes; returns false for every other request. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (!req.url?.startsWith("/__stats")) return false;
    const delay = /^\/__stats\/delay\?ms=(\d+)$/.exec(req.url);
    if (req.method === "POST" && delay) this.replyDelayMs = Number(delay[1]);
    else if (req.method === "POST") this.total = 0;
    sendJson(res, 200, {
      round_trips: this.total,
      answered: this.answered,
      last_answered_at: this.lastAnsweredAt,
      reply_delay_ms: this.replyDelayMs,
    });
    return true;
  }
}
