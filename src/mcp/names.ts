// How `/mcp` names what several servers offer: tools and prompts as
// `server__name`, resources and resource templates as `mcp+server:uri`.
// Server names hold no `_`, so the first `__` always ends the server's part.
// `/mcp/{server}` shows one server's names as they are.

export const SEPARATOR = "__";

export const namespaced = (server: string, name: string) => `${server}${SEPARATOR}${name}`;

/** `github__create_issue` → [`github`, `create_issue`]. */
export function splitName(name: string): [server: string, name: string] | undefined {
  const at = name.indexOf(SEPARATOR);
  return at > 0 ? [name.slice(0, at), name.slice(at + SEPARATOR.length)] : undefined;
}

export const namespacedUri = (server: string, uri: string) => `mcp+${server}:${uri}`;

/** `mcp+github:repo://x` → [`github`, `repo://x`]. */
export function splitUri(uri: string): [server: string, uri: string] | undefined {
  const match = /^mcp\+([a-z][a-z0-9-]*):([\s\S]+)$/.exec(uri);
  return match ? [match[1] as string, match[2] as string] : undefined;
}
