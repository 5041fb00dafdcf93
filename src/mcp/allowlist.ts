// Who may reach which MCP server and tool: the caller's `mcp_servers` and
// `mcp_tools` settings. Tool patterns name tools as `/mcp` shows them
// (`github__create_issue`); `*` matches any run of characters and a leading
// `!` excludes. Each level's list is applied in turn, so a narrower level can
// only take tools away.
import type { CallerPolicy } from "../policy/index.ts";
import { LEVEL_BREAK } from "../policy/sections.ts";

export interface McpAccess {
  server(name: string): boolean;
  /** `name` is the namespaced name (`server__tool`). */
  tool(name: string): boolean;
}

type Matcher = (name: string) => boolean;

function patternMatcher(pattern: string): Matcher {
  if (!pattern.includes("*")) return (name) => name === pattern;
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&"));
  const regex = new RegExp(`^${source.join(".*")}$`);
  return (name) => regex.test(name);
}

/** One level's list: an empty list allows nothing; a list of exclusions only, everything else. */
function levelMatcher(patterns: string[]): Matcher {
  if (patterns.length === 0) return () => false;
  const included = patterns.filter((p) => !p.startsWith("!")).map(patternMatcher);
  const excluded = patterns.filter((p) => p.startsWith("!")).map((p) => patternMatcher(p.slice(1)));
  return (name) => (included.length === 0 || included.some((match) => match(name))) && !excluded.some((match) => match(name));
}

function levels(patterns: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const pattern of patterns) {
    if (pattern === LEVEL_BREAK) out.push([]);
    else out[out.length - 1]?.push(pattern);
  }
  return out;
}

const EVERYTHING: McpAccess = { server: () => true, tool: () => true };

/** What a caller may reach; the admin key and a caller no setting narrows reach everything registered. */
export function mcpAccess(policy: CallerPolicy | undefined): McpAccess {
  const servers = policy?.mcp_servers;
  const tools = policy?.mcp_tools;
  if (!servers && !tools) return EVERYTHING;
  const toolMatchers = tools ? levels(tools).map(levelMatcher) : [];
  return {
    server: (name) => !servers || servers.includes(name),
    tool: (name) => {
      const server = name.split("__", 1)[0] ?? "";
      return (!servers || servers.includes(server)) && toolMatchers.every((match) => match(name));
    },
  };
}
