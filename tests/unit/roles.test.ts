// The permission model on its own: what each role allows, in the
// organization and in a team, and how an admin token's scopes narrow it.
import { describe, expect, it } from "vitest";
import { mergeTeamRoles } from "../../src/auth/operators.ts";
import type { OperatorIdentity, Principal } from "../../src/auth/principal.ts";
import { ANY_TEAM, can, higherRole, PERMISSIONS, permissionsOf, teamsWhere } from "../../src/auth/roles.ts";

const person = (identity: Partial<OperatorIdentity> & { via?: "session" | "admin_token" }): Principal => ({
  type: "operator",
  id: "idp|alice",
  via: "session",
  orgId: "default",
  subject: "idp|alice",
  email: "alice@example.com",
  name: "Alice",
  orgRole: null,
  teamRoles: {},
  scopes: null,
  ...identity,
});

describe("can()", () => {
  it("gives the admin key everything, and a key or a user nothing of the admin API", () => {
    for (const permission of PERMISSIONS) expect(can({ type: "admin", id: "admin" }, permission)).toBe(true);
    expect(can({ type: "guest" } as Principal, "usage:read")).toBe(false);
  });

  it("lets an organization role reach every team, and a team role only its team", () => {
    const orgAdmin = person({ orgRole: "admin" });
    expect(can(orgAdmin, "keys:write", "search")).toBe(true);
    expect(can(orgAdmin, "people:write")).toBe(true);
    const lead = person({ teamRoles: { search: "admin" } });
    expect(can(lead, "keys:write", "search")).toBe(true);
    expect(can(lead, "keys:write", "ads")).toBe(false);
    expect(can(lead, "keys:write")).toBe(false);
    expect(can(lead, "keys:write", ANY_TEAM)).toBe(true);
    // A team named `any` is a team like another: it is not every team.
    expect(can(lead, "keys:write", "any")).toBe(false);
    // The team's own limits are the organization's to set.
    expect(can(lead, "people:write", "search")).toBe(false);
    expect(can(lead, "limits:write", ANY_TEAM)).toBe(false);
    expect(teamsWhere(lead, "keys:read")).toEqual(["search"]);
  });

  it("lets billing read spend and nothing else, and a viewer read without secrets or the audit log", () => {
    expect(permissionsOf(person({ orgRole: "billing" }))).toEqual(["usage:read", "billing:read"]);
    const viewer = person({ orgRole: "viewer" });
    expect(permissionsOf(viewer).every((p) => p.endsWith(":read"))).toBe(true);
    expect(can(viewer, "audit:read")).toBe(false);
    expect(can(viewer, "credentials:read")).toBe(false);
    expect(permissionsOf(person({ orgRole: "member" }))).toEqual(["keys:self", "catalog:read"]);
  });

  it("narrows a token's roles to its scopes", () => {
    const token = person({ via: "admin_token", orgRole: "owner", scopes: ["usage:read"] });
    expect(can(token, "usage:read")).toBe(true);
    expect(can(token, "keys:read")).toBe(false);
    expect(can({ ...token, scopes: ["*"] } as Principal, "keys:read")).toBe(true);
  });

  it("combines roles from two sources, the higher winning", () => {
    expect(higherRole("viewer", "admin")).toBe("admin");
    expect(higherRole("owner", "member")).toBe("owner");
    expect(higherRole(null, "billing")).toBe("billing");
    expect(mergeTeamRoles({ a: "viewer", b: "admin" }, { a: "admin", c: "member" })).toEqual({
      a: "admin",
      b: "admin",
      c: "member",
    });
  });
});
