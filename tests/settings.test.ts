// Settings for callers at each level (global, team, user, key): written
// through the admin API, shown beside each subject, and merged so that a
// narrower level adds to a wider one and never loosens it.
import { describe, expect, it } from "vitest";
import { BASE, callWorker } from "./helpers.ts";
import { admin, appToken, chatAs, uniqueId } from "./identity.ts";

const cached = (key: string, content: string) =>
  chatAs(key, { messages: [{ role: "user", content }] }, { "x-sluice-cache": "ttl=600" });

async function twice(key: string, content: string): Promise<(string | null)[]> {
  const marks: (string | null)[] = [];
  for (let i = 0; i < 2; i++) {
    const call = await callWorker(cached(key, content));
    expect(call.response.status).toBe(200);
    marks.push(call.response.headers.get("x-sluice-cache"));
    await call.response.text();
    await call.settled();
  }
  return marks;
}

describe("settings for callers", () => {
  it("are written and read back at every level, a section set to null cleared, the others left", async () => {
    const team = uniqueId("settings-team");
    const made = await admin("POST", "/admin/teams", { id: team, settings: { zero_retention: true } });
    expect(made.status).toBe(201);
    expect(made.body.settings).toEqual({ zero_retention: true });
    const key = await admin("POST", "/admin/keys", { team_id: team, settings: { zero_retention: false } });
    expect(key.body.settings).toEqual({ zero_retention: false });
    expect((await admin("GET", `/admin/keys/${key.body.id}`)).body.settings).toEqual({ zero_retention: false });
    const listed = await admin("GET", `/admin/keys?team_id=${team}`);
    expect((listed.body.data as { settings: unknown }[])[0]?.settings).toEqual({ zero_retention: false });
    const cleared = await admin("PATCH", `/admin/teams/${team}`, { settings: { zero_retention: null } });
    expect(cleared.body.settings).toEqual({});
    // Global: written and cleared again (a harmless value, as other suites run beside this one).
    expect((await admin("PATCH", "/admin/settings", { zero_retention: false })).body).toEqual({ zero_retention: false });
    expect((await admin("PATCH", "/admin/settings", { zero_retention: null })).body).toEqual({});
  });

  it("refuses a section this gateway does not know, naming it", async () => {
    const refused = await admin("POST", "/admin/keys", { settings: { zero_retentoin: true } });
    expect(refused.status).toBe(400);
    expect((refused.body.error as { param: string }).param).toBe("settings");
    expect(JSON.stringify(refused.body)).toContain("zero_retentoin");
  });

  it("reach a team's keys, and a key's own setting cannot undo its team's", async () => {
    const team = uniqueId("zr-team");
    expect((await admin("POST", "/admin/teams", { id: team, settings: { zero_retention: true } })).status).toBe(201);
    const key = String((await admin("POST", "/admin/keys", { team_id: team, settings: { zero_retention: false } })).body.key);
    expect(await twice(key, `zero retention ${uniqueId("c")}`)).toEqual(["bypass", "bypass"]);
    // A key of the same kind outside the team is cached as usual.
    const outside = String((await admin("POST", "/admin/keys", {})).body.key);
    expect(await twice(outside, `retained ${uniqueId("c")}`)).toEqual(["miss", "hit"]);
  });

  it("of a key's owner's team reach the key, though the key names no team", async () => {
    const team = uniqueId("zr-owner-team");
    const user = uniqueId("zr-owner");
    expect((await admin("POST", "/admin/teams", { id: team, settings: { zero_retention: true } })).status).toBe(201);
    expect((await admin("POST", "/admin/users", { id: user, team_id: team })).status).toBe(201);
    const key = String((await admin("POST", "/admin/keys", { user_id: user })).body.key);
    expect(await twice(key, `owner's team ${uniqueId("c")}`)).toEqual(["bypass", "bypass"]);
  });

  it("of a user apply to their own key too, and a user minting a key may only add to them", async () => {
    const user = uniqueId("zr-user");
    expect((await admin("POST", "/admin/users", { id: user, settings: { zero_retention: true } })).status).toBe(201);
    const key = String((await admin("POST", "/admin/keys", { user_id: user })).body.key);
    expect(await twice(key, `user's own ${uniqueId("c")}`)).toEqual(["bypass", "bypass"]);
    const minted = await callWorker(
      new Request(`${BASE}/api/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${await appToken({ sub: user })}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "mine", settings: { zero_retention: false } }),
      }),
    );
    expect(minted.response.status).toBe(201);
    const own = String(((await minted.response.json()) as { key: string }).key);
    expect(await twice(own, `minted ${uniqueId("c")}`)).toEqual(["bypass", "bypass"]);
  });
});
