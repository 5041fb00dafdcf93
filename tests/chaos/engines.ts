// Private Postgres and Redis servers for the outage run: the real engines,
// started from this machine's binaries on free ports in a scratch directory,
// so stopping them harms nothing else. Redis keeps an append-only file, as
// Upstash keeps its data: a restart loses nothing.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../dev/standins/http.ts";

export interface Engine {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

const onPath = (name: string) => {
  try {
    return (
      execFileSync("sh", ["-c", `command -v ${name}`])
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
};

/** The directory holding `initdb` and `pg_ctl`: pg_config's, Debian's newest, or the PATH's. */
function postgresBinaries(): string | undefined {
  const fromConfig = onPath("pg_config") && execFileSync("pg_config", ["--bindir"]).toString().trim();
  if (fromConfig && existsSync(join(fromConfig, "initdb"))) return fromConfig;
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const newest = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a))[0];
    if (newest) return join(debian, newest, "bin");
  }
  const initdb = onPath("initdb");
  return initdb ? initdb.replace(/\/initdb$/, "") : undefined;
}

/** Whether this machine can run the outage run: Postgres' and Redis' server binaries. */
export function enginesAvailable(): { postgres?: string; redis?: string } {
  return { postgres: postgresBinaries(), redis: onPath("redis-server") };
}

const isRoot = () => process.getuid?.() === 0;

/** Postgres refuses to run as root: as root, its commands run as the `postgres` user. */
function asPostgres(bin: string, args: string[]): void {
  const [command, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  execFileSync(command, argv, { stdio: ["ignore", "ignore", "pipe"] });
}

export async function startPostgres(): Promise<Engine> {
  const bin = postgresBinaries();
  if (!bin) throw new Error("no Postgres server binaries (initdb, pg_ctl) on this machine");
  const dir = mkdtempSync(join(tmpdir(), "sluice-chaos-pg-"));
  if (isRoot()) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const port = await freePort();
  asPostgres(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const engine: Engine = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: async () => asPostgres(join(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"]),
    // `fast`: open connections are cut, as they are when a database goes away.
    stop: async () => asPostgres(join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]),
    destroy: async () => {
      try {
        await engine.stop();
      } catch {
        // Already stopped.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await engine.start();
  return engine;
}

export async function startRedis(): Promise<Engine> {
  const bin = onPath("redis-server");
  if (!bin) throw new Error("no redis-server on this machine");
  const dir = mkdtempSync(join(tmpdir(), "sluice-chaos-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", ""];
  const engine: Engine = {
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      child = spawn(bin, args, { stdio: "ignore" });
      for (let i = 0; i < 100; i++) {
        if (await answersPing(port)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error("redis-server did not start");
    },
    // SIGTERM: Redis flushes its append-only file and exits, as a clean shutdown does.
    stop: async () => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      await new Promise((resolve) => {
        running.once("exit", resolve);
        running.kill("SIGTERM");
      });
    },
    destroy: async () => {
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await engine.start();
  return engine;
}

/** Whether a Redis server on the port answers PING. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      resolve(data.toString().startsWith("+PONG"));
      socket.destroy();
    });
    socket.once("error", () => resolve(false));
  });
}
