import { describe, expect, it } from "vitest";
import { mcpAccess } from "../../src/mcp/allowlist.ts";
import { splitName, splitUri } from "../../src/mcp/names.ts";
import { resolvePolicy, settingsSchema } from "../../src/policy/index.ts";

const toolsPassing = (levels: Record<string, unknown>[], names: string[]) => {
  const access = mcpAccess(resolvePolicy(levels));
  return names.filter((name) => access.tool(name));
};

const NAMES = ["github__create_issue", "github__delete_repo", "github__list_repos", "jira__create_issue", "jira__delete_issue"];

describe("MCP tool allowlists", () => {
  it("let everything through when no level says anything", () => {
    expect(toolsPassing([{}, {}], NAMES)).toEqual(NAMES);
  });

  it("match wildcards and honour exclusions", () => {
    expect(toolsPassing([{ mcp_tools: ["github__*", "!github__delete_*"] }], NAMES)).toEqual([
      "github__create_issue",
      "github__list_repos",
    ]);
    expect(toolsPassing([{ mcp_tools: ["!*__delete_*"] }], NAMES)).toEqual([
      "github__create_issue",
      "github__list_repos",
      "jira__create_issue",
    ]);
    expect(toolsPassing([{ mcp_tools: ["jira__create_issue"] }], NAMES)).toEqual(["jira__create_issue"]);
    expect(toolsPassing([{ mcp_tools: [] }], NAMES)).toEqual([]);
  });

  it("narrow level by level, and a narrower level never loosens a wider one", () => {
    const team = { mcp_tools: ["github__*", "!github__delete_*"] };
    const key = { mcp_tools: ["*__create_*", "github__delete_repo"] };
    expect(toolsPassing([team, key], NAMES)).toEqual(["github__create_issue"]);
    // An empty list at a wider level lets nothing through, whatever a narrower one says.
    expect(toolsPassing([{ mcp_tools: [] }, { mcp_tools: ["*"] }], NAMES)).toEqual([]);
  });

  it("take server lists that each level can only shrink, and apply them to tools too", () => {
    const access = mcpAccess(resolvePolicy([{ mcp_servers: ["github", "jira"] }, { mcp_servers: ["jira", "slack"] }]));
    expect(["github", "jira", "slack"].filter((name) => access.server(name))).toEqual(["jira"]);
    expect(NAMES.filter((name) => access.tool(name))).toEqual(["jira__create_issue", "jira__delete_issue"]);
  });

  it("take the lowest per-minute limit", () => {
    expect(resolvePolicy([{ mcp_calls_per_minute: 100 }, { mcp_calls_per_minute: 5 }, { mcp_calls_per_minute: 50 }])).toEqual({
      mcp_calls_per_minute: 5,
    });
  });

  it("refuse patterns an admin cannot mean, the level marker among them", () => {
    expect(settingsSchema.safeParse({ mcp_tools: ["github__*"] }).success).toBe(true);
    for (const pattern of ["&", "github tools", "a|b", ""]) {
      expect(settingsSchema.safeParse({ mcp_tools: [pattern] }).success).toBe(false);
    }
    expect(settingsSchema.safeParse({ mcp_servers: ["Not_A_Server"] }).success).toBe(false);
  });
});

describe("MCP names", () => {
  it("split at the first `__`, as server names hold no `_`", () => {
    expect(splitName("github__create__issue")).toEqual(["github", "create__issue"]);
    expect(splitName("nothing")).toBeUndefined();
    expect(splitName("__x")).toBeUndefined();
    expect(splitUri("mcp+github:repo://a/b")).toEqual(["github", "repo://a/b"]);
    expect(splitUri("repo://a/b")).toBeUndefined();
  });
});
