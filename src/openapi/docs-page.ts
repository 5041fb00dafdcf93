// `/docs`: the OpenAPI document rendered in the browser, by a small script of
// our own (no third-party viewer, nothing inline, so the page's CSP allows
// scripts and styles from this origin only).
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/docs.css">
<script src="/docs/docs.js" defer></script>
</head>
<body>
<header><h1>Sluice API</h1><p id="about">Loading <a href="/openapi.json">/openapi.json</a>…</p>
<input id="filter" type="search" placeholder="Filter routes" aria-label="Filter routes"></header>
<main id="routes"></main>
</body>
</html>
`;

export const DOCS_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #57606a; --line: #d0d7de; --code: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8b949e; --line: #30363d; --code: #161b22; } }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 960px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { margin: 0 0 4px; font-size: 24px; }
h2 { margin: 28px 0 8px; font-size: 18px; text-transform: capitalize; }
#about { color: var(--muted); margin: 0 0 12px; }
#filter { width: 100%; box-sizing: border-box; padding: 8px 10px; font: inherit; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
details { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; }
summary { cursor: pointer; padding: 8px 10px; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.method { font: 600 12px ui-monospace, monospace; text-transform: uppercase; min-width: 56px; }
.method.get { color: #1f6feb; } .method.post { color: #1a7f37; } .method.patch, .method.put { color: #9a6700; } .method.delete { color: #cf222e; }
.path { font-family: ui-monospace, monospace; word-break: break-all; }
.summary { color: var(--muted); }
.body { padding: 0 10px 10px; }
pre { background: var(--code); padding: 10px; border-radius: 6px; overflow: auto; font-size: 12px; max-height: 420px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
td, th { text-align: left; border-bottom: 1px solid var(--line); padding: 4px 6px; vertical-align: top; }
`;

export const DOCS_JS = `"use strict";
(async () => {
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    for (const child of children) node.append(child);
    return node;
  };
  const spec = await (await fetch("/openapi.json")).json();
  document.title = spec.info.title + " API " + spec.info.version;
  const about = document.getElementById("about");
  about.textContent = spec.info.description + " Version " + spec.info.version + ". ";
  about.append(el("a", { href: "/openapi.json", textContent: "OpenAPI 3.1 document" }));
  const main = document.getElementById("routes");
  const operations = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) operations.push({ path, method, op });
  }
  const sections = new Map();
  for (const tag of spec.tags.map((t) => t.name)) {
    const section = el("section", {}, el("h2", { textContent: tag }));
    sections.set(tag, section);
    main.append(section);
  }
  for (const { path, method, op } of operations) {
    const body = el("div", { className: "body" });
    const params = op.parameters || [];
    if (params.length > 0) {
      const rows = params.map((p) =>
        el("tr", {}, el("td", { textContent: p.name }), el("td", { textContent: p.in }), el("td", { textContent: p.required ? "required" : "" }), el("td", { textContent: p.schema && p.schema.description ? p.schema.description : (p.schema && p.schema.type) || "" })),
      );
      body.append(el("table", {}, el("tr", {}, el("th", { textContent: "parameter" }), el("th", { textContent: "in" }), el("th"), el("th", { textContent: "schema" })), ...rows));
    }
    const request = op.requestBody && op.requestBody.content["application/json"];
    if (request) body.append(el("p", { textContent: "Request body (JSON Schema):" }), el("pre", { textContent: JSON.stringify(request.schema, null, 2) }));
    const ok = op.responses["200"];
    if (ok) body.append(el("p", { textContent: "200: " + ok.description + " (" + Object.keys(ok.content || {}).join(", ") + ")" }));
    if (op.security && op.security.length > 0) body.append(el("p", { textContent: "Needs a credential: Authorization: Bearer, x-api-key or x-goog-api-key." }));
    const item = el(
      "details",
      {},
      el("summary", {}, el("span", { className: "method " + method, textContent: method }), el("span", { className: "path", textContent: path }), el("span", { className: "summary", textContent: op.summary || "" })),
      body,
    );
    item.dataset.search = (method + " " + path + " " + (op.summary || "")).toLowerCase();
    (sections.get(op.tags[0]) || main).append(item);
  }
  document.getElementById("filter").addEventListener("input", (event) => {
    const words = event.target.value.toLowerCase().split(/\\s+/).filter(Boolean);
    for (const item of main.querySelectorAll("details")) {
      item.hidden = !words.every((word) => item.dataset.search.includes(word));
    }
  });
})();
`;
