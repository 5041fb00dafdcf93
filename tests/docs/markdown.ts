// Reading the documentation as data: its code blocks (which the docs suite
// runs) and the routes and variables its prose names (which the coverage
// checks compare with the code). Plain GitHub Markdown, nothing else.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

/** The checkout's root, with a trailing slash. */
export const ROOT = `${resolve(import.meta.dirname, "../..")}/`;

/** README.md first, then every page of docs/, by name: the order the suite runs them in. */
export function documentationFiles(): string[] {
  const pages = readdirSync(`${ROOT}docs`)
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...pages];
}

export const readDoc = (file: string): string => readFileSync(`${ROOT}${file}`, "utf8");

/** How the suite treats a fence, by its language. */
export type BlockKind = "shell" | "typescript" | "foreign" | "inert";

const KINDS: Record<string, BlockKind> = {
  sh: "shell",
  bash: "shell",
  ts: "typescript",
  typescript: "typescript",
  js: "typescript",
  javascript: "typescript",
  // Examples in a language the suite cannot run: each must be marked skip, with its reason.
  python: "foreign",
  py: "foreign",
  swift: "foreign",
  kotlin: "foreign",
  // Not examples: payloads, files, diagrams.
  json: "inert",
  toml: "inert",
  ini: "inert",
  text: "inert",
};

export interface CodeBlock {
  file: string;
  /** The fence's line, 1-based. */
  line: number;
  lang: string;
  /** Undefined for a language the suite does not know: a check fails on it. */
  kind: BlockKind | undefined;
  code: string;
  /** Why it must not run, from `<!-- docs-test: skip (reason) -->` just before the fence. */
  skip?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/;
const SKIP = /^<!--\s*docs-test:\s*skip\s*\((.+)\)\s*-->$/;

/**
 * The fenced code blocks of a Markdown text, with the indentation of a fence
 * inside a list item taken off its lines. A skip marker counts when it is the
 * last non-blank line before the fence.
 */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? "");
    if (!open) continue;
    const [, indent = "", fence = "", lang = ""] = open;
    const body: string[] = [];
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`).test(lines[end] ?? "")) {
      body.push((lines[end] ?? "").replace(new RegExp(`^ {0,${indent.length}}`), ""));
      end++;
    }
    let before = i - 1;
    while (before >= 0 && (lines[before] ?? "").trim() === "") before--;
    const skip = SKIP.exec((lines[before] ?? "").trim())?.[1]?.trim();
    const name = lang.toLowerCase();
    blocks.push({ file, line: i + 1, lang: name, kind: KINDS[name], code: body.join("\n"), ...(skip && { skip }) });
    i = end;
  }
  return blocks;
}

/** Prose only: the text outside fenced blocks, where routes and variables are named in code spans. */
export function prose(text: string): string {
  return text
    .split(/^\s*(?:`{3,}|~{3,}).*$/m)
    .filter((_part, index) => index % 2 === 0)
    .join("\n");
}

/** A route the docs name: `POST /v1/messages`, or `GET|PATCH /admin/keys/{id}` (one per method). */
export interface NamedRoute {
  method: string;
  path: string;
  file: string;
}

const METHODS = "GET|POST|PUT|PATCH|DELETE";
const ROUTE_SPAN = new RegExp(`\`((?:${METHODS})(?:\\\\?\\|(?:${METHODS}))*) (/[^\`\\s?]*)(?:\\?[^\`]*)?\``, "g");

/** Every `METHOD /path` code span in a text's prose; a query string is left off the path. */
export function namedRoutes(file: string, text: string): NamedRoute[] {
  return [...prose(text).matchAll(ROUTE_SPAN)].flatMap((match) =>
    (match[1] ?? "")
      .replaceAll("\\", "")
      .split("|")
      .map((method) => ({ method, path: match[2] ?? "", file })),
  );
}
