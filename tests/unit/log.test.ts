import { DrizzleQueryError } from "drizzle-orm/errors";
import { errors } from "jose";
import { describe, expect, it } from "vitest";
import { logDetail, reason } from "../../src/log.ts";

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

describe("an error's name in the log", () => {
  it("is a jose error's stable code, which the minified build does not rename as it does the class", () => {
    expect(reason(new errors.JWKSTimeout())).toBe("JOSEError ERR_JWKS_TIMEOUT: request timed out");
    const expired = new errors.JWTExpired('"exp" claim timestamp check failed', {}, "exp", "check_failed");
    expect(reason(expired)).toBe('JOSEError ERR_JWT_EXPIRED: "exp" claim timestamp check failed');
  });

  it("is any other error's own name", () => {
    expect(reason(new TypeError("bad"))).toBe("TypeError: bad");
  });
});
