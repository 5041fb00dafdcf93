// What the documentation must say about the code, as functions that name
// what is missing: every setting the config schema reads, every route of the
// app, and nothing the code does not have. tests/unit/docs.test.ts runs them
// on the real pages, and on pages with something taken out, to show they bite.
import type { CodeBlock, NamedRoute } from "./markdown.ts";
import { prose } from "./markdown.ts";

/** A route of the app, as Hono knows it (`/admin/keys/:id`, `/v1beta/models/*`), and whether it declares a `doc()`. */
export interface AppRoute {
  method: string;
  path: string;
  documented: boolean;
}

/** Rows of Markdown tables whose first cell is one code span: `| \`NAME\` | … |`, with their other cells. */
export function tableRows(markdown: string): { name: string; cells: string[] }[] {
  return prose(markdown)
    .split("\n")
    .flatMap((line) => {
      const match = /^\|\s*`([A-Za-z0-9_]+)`\s*\|(.*)\|\s*$/.exec(line.trim());
      return match ? [{ name: match[1] ?? "", cells: (match[2] ?? "").split("|").map((cell) => cell.trim()) }] : [];
    });
}

/** Settings with no row of their own, or a row without its default and its meaning. */
export function undocumentedSettings(keys: readonly string[], configurationPage: string): string[] {
  const rows = new Map(tableRows(configurationPage).map((row) => [row.name, row.cells]));
  return keys.filter((key) => {
    const cells = rows.get(key);
    return !cells || cells.length < 2 || cells.some((cell) => cell === "");
  });
}

/** Variables the page gives rows to that neither the Worker reads nor the tools around it mention. */
export function unknownSettings(configurationPage: string, keys: readonly string[], toolSources: string): string[] {
  const known = new Set(keys);
  return tableRows(configurationPage)
    .map((row) => row.name)
    .filter((name) => /^[A-Z][A-Z0-9_]+$/.test(name) && !known.has(name) && !new RegExp(`\\b${name}\\b`).test(toolSources));
}

/** Hono's path as a pattern: `:id` one segment, `:id{.+}` and `*` anything. */
function routePattern(path: string): RegExp {
  const source = path
    .split(/(:\w+\{\.\+\}|:\w+|\*)/)
    .map((part) => (part === "*" || /^:\w+\{\.\+\}$/.test(part) ? ".+" : part.startsWith(":") ? "[^/]+" : literally(part)))
    .join("");
  return new RegExp(`^${source}$`);
}

const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A documented path as a request would have it: `{id}` becomes a value. */
const concrete = (path: string) => path.replace(/\{[^}]*\}/g, "x");

/** Routes the docs name that the app does not have (the mock upstream's `/__mock/…` are its own). */
export function unknownRoutes(named: NamedRoute[], app: AppRoute[]): NamedRoute[] {
  const patterns = app.map((route) => ({ method: route.method, pattern: routePattern(route.path) }));
  return named.filter(
    (route) =>
      !route.path.startsWith("/__mock/") &&
      !patterns.some((known) => known.method === route.method && known.pattern.test(concrete(route.path))),
  );
}

/** Routes of the app neither described by their `doc()` (and so in /openapi.json) nor named in docs/api.md. */
export function undescribedRoutes(app: AppRoute[], apiPage: NamedRoute[]): AppRoute[] {
  return app.filter(
    (route) =>
      !route.documented &&
      !apiPage.some((named) => named.method === route.method && routePattern(route.path).test(concrete(named.path))),
  );
}

/** Each `curl` command of a block that runs must fail on an HTTP error, or have its answer checked by `jq -e` or its status by `-w`. */
export function uncheckedCurls(block: CodeBlock): string[] {
  const commands = block.code
    .replace(/\\\n|\|\s*\n/g, (joint) => (joint.startsWith("|") ? "| " : " "))
    .split("\n")
    .filter((line) => !line.trim().startsWith("#"))
    .flatMap((line) => line.split(/\bcurl\s/).slice(1));
  return commands.filter((command) => {
    const own = command.split(/;|&&|\$\(|\)\s*$/)[0] ?? "";
    const [call = "", ...piped] = own.split(/\|(?!\|)/);
    const failsOnError = /(^|\s)(--fail-with-body|--fail|-[a-zA-Z]*f[a-zA-Z]*)(\s|$)/.test(call);
    const statusChecked = /%\{http_code\}/.test(call);
    const answerChecked = piped.some((stage) => /\bjq\s+(-[a-z]*e|--exit-status)/.test(stage));
    return !(failsOnError || statusChecked || answerChecked);
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors a page's headings give it. */
export function anchorsOf(markdown: string): Set<string> {
  return new Set(
    prose(markdown)
      .split("\n")
      .flatMap((line) => {
        const heading = /^#{1,6}\s+(.*)$/.exec(line);
        return heading ? [headingAnchor(heading[1] ?? "")] : [];
      }),
  );
}

/**
 * Relative links that lead nowhere: a file that is not there, or an anchor
 * no heading of the target gives. `read` answers undefined for a missing file.
 */
export function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].flatMap((match) => {
    const link = match[1] ?? "";
    if (/^[a-z]+:/.test(link)) return [];
    const [target = "", anchor] = link.split("#");
    const path = target === "" ? file : normalize(`${dir}${target}`);
    const text = read(path);
    if (text === undefined) return [`${file}: ${link} (no such file)`];
    if (anchor && path.endsWith(".md") && !anchorsOf(text).has(anchor)) return [`${file}: ${link} (no such heading)`];
    return [];
  });
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}
