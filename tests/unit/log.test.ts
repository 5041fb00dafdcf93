import { DrizzleQueryError } from "drizzle-orm/errors";
import { describe, expect, it } from "vitest";
import { logDetail } from "../../src/log.ts";

describe("an unexpected error in the log", () => {
  it("says its root cause and where it was thrown, never the query and parameters a wrapper repeats", () => {
    const cause = new Error('value "99999999999999999999" is out of range for type bigint');
    const wrapped = new DrizzleQueryError(
      "select * from usage_events where id < $1",
      ["99999999999999999999", "sk-secret"],
      cause,
    );
    const line = logDetail(wrapped);
    expect(line).toContain("out of range for type bigint");
    expect(line).toMatch(/\n\s+at /);
    expect(line).not.toContain("select * from usage_events");
    expect(line).not.toContain("sk-secret");
  });
});
