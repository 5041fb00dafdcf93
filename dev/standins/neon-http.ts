// A local stand-in for Neon's SQL-over-HTTP endpoint: `POST /sql`, answered in
// the exact shape `@neondatabase/serverless` expects, over PGlite or Postgres.
import type { IncomingMessage, ServerResponse } from "node:http";
import { closeServer, countedServer, listen, RoundTripCounter, readBody, sendJson } from "./http.ts";
import { openSqlEngine, type SqlEngine, type SqlResult, type SqlStatement } from "./postgres-engine.ts";

const ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

export interface NeonStandIn {
  url: string;
  port: number;
  engine: SqlEngine;
  counter: RoundTripCounter;
  close(): Promise<void>;
}

function neonShape(result: SqlResult, arrayMode: boolean) {
  const fields = result.fields.map((f) => ({
    name: f.name,
    tableID: 0,
    columnID: 0,
    dataTypeID: f.dataTypeID,
    dataTypeSize: -1,
    dataTypeModifier: -1,
    format: "text",
  }));
  const rows = arrayMode
    ? result.rows
    : result.rows.map((row) => Object.fromEntries(row.map((value, i) => [result.fields[i]?.name ?? String(i), value])));
  return { command: result.command, rowCount: result.rowCount, rowAsArray: arrayMode, fields, rows };
}

function postgresError(error: unknown) {
  const source = (error ?? {}) as Record<string, unknown>;
  const body: Record<string, unknown> = { message: error instanceof Error ? error.message : String(error) };
  for (const field of ERROR_FIELDS) if (source[field] !== undefined) body[field] = source[field];
  return body;
}

function parseStatement(value: unknown): SqlStatement {
  const v = value as { query?: unknown; params?: unknown };
  if (typeof v?.query !== "string") throw new Error("each query needs a `query` string");
  return { query: v.query, params: Array.isArray(v.params) ? v.params : [] };
}

async function answer(engine: SqlEngine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST" || !req.url?.startsWith("/sql")) {
    sendJson(res, 404, { message: "not found: this stand-in answers POST /sql" });
    return;
  }
  if (!req.headers["neon-connection-string"]) {
    sendJson(res, 400, { message: "missing Neon-Connection-String header" });
    return;
  }
  const arrayMode = req.headers["neon-array-mode"] === "true";
  let body: { queries?: unknown[]; query?: unknown; params?: unknown };
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    sendJson(res, 400, { message: "request body is not JSON" });
    return;
  }
  try {
    if (Array.isArray(body.queries)) {
      const results = await engine.batch(body.queries.map(parseStatement));
      sendJson(res, 200, { results: results.map((r) => neonShape(r, arrayMode)) });
    } else {
      sendJson(res, 200, neonShape(await engine.query(parseStatement(body)), arrayMode));
    }
  } catch (error) {
    sendJson(res, 400, postgresError(error));
  }
}

export async function startNeonStandIn(options: { engine?: SqlEngine; target?: string; port?: number }): Promise<NeonStandIn> {
  const engine = options.engine ?? (await openSqlEngine(options.target));
  const counter = new RoundTripCounter();
  const server = countedServer(
    counter,
    (req, res) => answer(engine, req, res),
    (error) => ({ message: String(error) }),
  );
  const port = await listen(server, options.port);
  return {
    // Any credentials work: the stand-in trusts loopback callers, as the engines do.
    url: `postgres://sluice:sluice@127.0.0.1:${port}/sluice`,
    port,
    engine,
    counter,
    close: async () => {
      await closeServer(server);
      await engine.close();
    },
  };
}
