// Builds the Worker's static assets (dist/assets): the dashboard
// (src/dashboard, into dist/assets/dashboard: one minified script, one
// stylesheet, the page), the API's description (`/openapi.json`, generated
// from the app's routes, and the `/docs` page: src/openapi/site.ts), and the
// headers Workers static assets serve them with. Prints the dashboard's sizes.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}dist/assets`;

/** A strict policy: this origin's scripts, styles and API only; nothing inline, no frames. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HEADERS = `/dashboard/*
  Content-Security-Policy: ${DASHBOARD_CSP}
  X-Content-Type-Options: nosniff
  X-Frame-Options: DENY
  Referrer-Policy: no-referrer
  Cross-Origin-Opener-Policy: same-origin
  Permissions-Policy: camera=(), microphone=(), geolocation=()
`;

/** `/openapi.json` and the `/docs` page, written under `out`; their lines of `_headers`. */
export async function buildApiDocs(out: string): Promise<string> {
  // Loaded here, not at the top: it is the whole app, which the dashboard's build alone does not need. By a
  // specifier held in a variable, so this file's type check (Node's) leaves the app to the Worker's.
  const site = "../src/openapi/site.ts";
  const { API_DOCS_HEADERS, apiDocsFiles } = (await import(site)) as {
    API_DOCS_HEADERS: string;
    apiDocsFiles(): Record<string, string>;
  };
  for (const [path, text] of Object.entries(apiDocsFiles())) {
    mkdirSync(dirname(`${out}/${path}`), { recursive: true });
    writeFileSync(`${out}/${path}`, text);
  }
  return API_DOCS_HEADERS;
}

export async function buildDashboard(options: { quiet?: boolean } = {}): Promise<{ scriptBytes: number; gzipBytes: number }> {
  mkdirSync(`${out}/dashboard`, { recursive: true });
  await build({
    entryPoints: [`${root}src/dashboard/app.tsx`],
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    outfile: `${out}/dashboard/app.js`,
    logLevel: "warning",
    legalComments: "none",
  });
  copyFileSync(`${root}src/dashboard/index.html`, `${out}/dashboard/index.html`);
  writeFileSync(`${out}/_headers`, HEADERS + (await buildApiDocs(out)));
  const script = readFileSync(`${out}/dashboard/app.js`);
  const css = readFileSync(`${out}/dashboard/app.css`);
  const gzipBytes = gzipSync(script).length + gzipSync(css).length;
  if (!options.quiet) {
    console.log(
      `dashboard: app.js ${(script.length / 1024).toFixed(1)} KiB, app.css ${(css.length / 1024).toFixed(1)} KiB, ${(gzipBytes / 1024).toFixed(1)} KiB gzipped`,
    );
  }
  return { scriptBytes: script.length, gzipBytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildDashboard();
}
