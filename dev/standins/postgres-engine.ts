// The SQL engines behind the Neon stand-in: embedded PGlite, or a real
// Postgres through node-postgres. Both answer in Neon's wire shape: raw
// Postgres text for every value, rows as arrays.
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface SqlField {
  name: string;
  dataTypeID: number;
}

export interface SqlResult {
  command: string;
  rowCount: number;
  fields: SqlField[];
  rows: (string | null)[][];
}

export interface SqlStatement {
  query: string;
  params: unknown[];
}

export interface SqlEngine {
  readonly kind: "pglite" | "postgres";
  query(statement: SqlStatement): Promise<SqlResult>;
  /** Runs the statements in one BEGIN … COMMIT; any error rolls all back. */
  batch(statements: SqlStatement[]): Promise<SqlResult[]>;
  close(): Promise<void>;
}

const identity = (value: string) => value;

function commandOf(query: string): string {
  const word = /^\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)/.exec(query)?.[1];
  return (word ?? "").toUpperCase();
}

class PgliteEngine implements SqlEngine {
  readonly kind = "pglite";
  // PGlite falls back to its own parsers for any type id it is not given, so
  // every type the database knows gets an explicit pass-through parser.
  private rawParsers: Record<number, typeof identity> = {};
  // Neon's client sends parameters already serialised as text.
  private readonly rawSerializers = new Proxy({}, { get: () => (value: unknown) => String(value) });

  constructor(private readonly db: PGlite) {}

  async refreshTypes(): Promise<void> {
    const types = await this.db.query<{ oid: number }>("select oid::int as oid from pg_type");
    this.rawParsers = Object.fromEntries(types.rows.map((t) => [t.oid, identity]));
  }

  private async run(statement: SqlStatement, on: Pick<PGlite, "query"> = this.db): Promise<SqlResult> {
    const result = await on.query<(string | null)[]>(statement.query, statement.params, {
      rowMode: "array",
      parsers: this.rawParsers,
      serializers: this.rawSerializers,
    });
    const command = commandOf(statement.query);
    if (command === "CREATE" || command === "ALTER") await this.refreshTypes();
    return {
      command,
      rowCount: result.affectedRows ?? result.rows.length,
      fields: result.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      rows: result.rows,
    };
  }

  query(statement: SqlStatement): Promise<SqlResult> {
    return this.run(statement);
  }

  batch(statements: SqlStatement[]): Promise<SqlResult[]> {
    return this.db.transaction(async (tx) => {
      const results: SqlResult[] = [];
      for (const statement of statements) results.push(await this.run(statement, tx));
      return results;
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

class PostgresEngine implements SqlEngine {
  readonly kind = "postgres";
  constructor(private readonly pool: pg.Pool) {}

  private async run(statement: SqlStatement, client: pg.Pool | pg.PoolClient = this.pool): Promise<SqlResult> {
    const result = await client.query<(string | null)[]>({
      text: statement.query,
      values: statement.params,
      rowMode: "array",
      types: { getTypeParser: () => identity },
    });
    return {
      command: result.command,
      rowCount: result.rowCount ?? 0,
      fields: result.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      rows: result.rows,
    };
  }

  query(statement: SqlStatement): Promise<SqlResult> {
    return this.run(statement);
  }

  async batch(statements: SqlStatement[]): Promise<SqlResult[]> {
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      await client.query("BEGIN");
      const results: SqlResult[] = [];
      for (const statement of statements) results.push(await this.run(statement, client));
      await client.query("COMMIT");
      return results;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      // A failed transaction's connection may be the broken one: it is closed, not pooled again.
      client.release(failure);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** `postgres://…` selects a real server; anything else is a PGlite data dir (or memory when empty). */
export async function openSqlEngine(target: string | undefined): Promise<SqlEngine> {
  if (target && /^postgres(ql)?:\/\//.test(target)) {
    const pool = new pg.Pool({ connectionString: target, max: 8 });
    // An idle connection cut by a server restart is dropped and replaced, as Neon's proxy does; never a crash.
    pool.on("error", (error) => console.warn(`neon stand-in: a Postgres connection closed: ${error.message}`));
    await pool.query("select 1");
    return new PostgresEngine(pool);
  }
  const db = target ? new PGlite(target) : new PGlite();
  await db.waitReady;
  const engine = new PgliteEngine(db);
  await engine.refreshTypes();
  return engine;
}
