// Single sign-on's pure parts: the role map's grammar, its configuration
// errors, reading groups from the claim each provider uses, and the roles
// a person's groups add up to.
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/index.ts";
import { parseGrant } from "../../src/config/sso.ts";
import { safeReturnPath } from "../../src/sso/flow.ts";
import { groupsOf, operatorClaims } from "../../src/sso/roles.ts";

const REQUIRED = {
  DATABASE_URL: "postgres://localhost/sluice",
  UPSTASH_REDIS_REST_URL: "https://redis.example.com",
  UPSTASH_REDIS_REST_TOKEN: "token",
  ADMIN_KEY: "sk-admin-0123456789abcdef",
};
const withSso = (vars: Record<string, string>) =>
  parseConfig({ ...REQUIRED, SSO_DISCOVERY_URL: "https://idp.example.com", SSO_CLIENT_ID: "sluice", ...vars });

describe("the role map", () => {
  it("reads org and team grants, team ids with colons included", () => {
    expect(parseGrant("org:admin")).toEqual({ scope: "org", role: "admin" });
    expect(parseGrant("team:team-a:viewer")).toEqual({ scope: "team", teamId: "team-a", role: "viewer" });
    expect(parseGrant("team:eu:west:member")).toEqual({ scope: "team", teamId: "eu:west", role: "member" });
    for (const bad of ["org:root", "admin", "team::admin", "team:a", "org:admin:x"]) expect(parseGrant(bad)).toBeUndefined();
  });

  it("is a configuration error naming the variable when it does not parse, and off until both names are set", () => {
    expect(() => withSso({ SSO_ROLE_MAP: "{not json" })).toThrow(ConfigError);
    expect(() => withSso({ SSO_ROLE_MAP: '{"a":"org:superuser"}' })).toThrow(/SSO_ROLE_MAP's `a`/);
    expect(() => parseConfig({ ...REQUIRED, SSO_CLIENT_ID: "sluice" })).toThrow(/SSO_DISCOVERY_URL and SSO_CLIENT_ID/);
    expect(parseConfig(REQUIRED).sso).toBeUndefined();
    const sso = withSso({ SSO_ALLOWED_DOMAINS: " Example.com, @corp.example ", SSO_SESSION_TTL: "30m" }).sso;
    expect(sso).toMatchObject({
      discoveryUrl: "https://idp.example.com/.well-known/openid-configuration",
      scopes: "openid email profile",
      rolesClaim: "groups",
      allowedDomains: ["example.com", "corp.example"],
      sessionTtlSeconds: 1800,
      providerName: "single sign-on",
    });
  });
});

describe("groups and roles", () => {
  it("reads a claim by its whole name first, then as a dotted path", () => {
    const payload = { groups: ["a", 1, "b"], "https://example.com/roles": "c", realm_access: { roles: ["d"] } };
    expect(groupsOf(payload, "groups")).toEqual(["a", "b"]);
    expect(groupsOf(payload, "https://example.com/roles")).toEqual(["c"]);
    expect(groupsOf(payload, "realm_access.roles")).toEqual(["d"]);
    expect(groupsOf(payload, "missing.path")).toEqual([]);
  });

  it("gives each scope the highest role granted, the default to the unmapped, and refuses other domains", () => {
    const sso = withSso({
      SSO_ROLE_MAP: JSON.stringify({
        viewers: "org:viewer",
        finance: "org:billing",
        leads: "team:t1:admin",
        members: "team:t1:member",
        "boss@example.com": "org:owner",
      }),
      SSO_DEFAULT_ROLE: "viewer",
      SSO_ALLOWED_DOMAINS: "example.com",
    }).sso;
    if (!sso) throw new Error("sso is configured");
    const base = { iss: "https://idp.example.com", sub: "42", email: "Lin@Example.com", email_verified: true };
    expect(operatorClaims({ ...base, groups: ["finance", "viewers", "members", "leads"] }, sso)).toEqual({
      orgId: "default",
      subject: "https://idp.example.com|42",
      email: "lin@example.com",
      name: null,
      orgRole: "viewer",
      teamRoles: { t1: "admin" },
    });
    expect(operatorClaims({ ...base, email: "boss@example.com" }, sso).orgRole).toBe("owner");
    expect(operatorClaims({ ...base, groups: ["unmapped"] }, sso).orgRole).toBe("viewer");
    expect(() => operatorClaims({ ...base, email: "eve@evil.example" }, sso)).toThrow(/@example.com addresses only/);
    expect(() => operatorClaims({ ...base, email_verified: false }, sso)).toThrow(/addresses only/);
  });
});

describe("around the flow", () => {
  it("returns only to a path on the gateway", () => {
    expect(safeReturnPath("/dashboard/?tab=keys")).toBe("/dashboard/?tab=keys");
    for (const away of [undefined, "", "https://evil.example", "//evil.example", "/\\evil", `/${"a".repeat(600)}`, "/a\u0000"]) {
      expect(safeReturnPath(away)).toBe("/dashboard/");
    }
  });
});
