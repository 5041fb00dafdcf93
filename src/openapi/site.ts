// The API described, as static assets beside the Worker: `/openapi.json`,
// generated from the app's routes when the assets are built
// (dev/build-dashboard.ts), and the `/docs` page that renders it. Served from
// the assets, they take no Worker CPU, and the Worker's bundle carries
// neither the document's generator nor the page.
import type { Hono } from "hono";
import { createApp } from "../app.ts";
import type { GatewayEnv } from "../context.ts";
import { doc } from "./doc.ts";
import { DOCS_CSP, DOCS_CSS, DOCS_HTML, DOCS_JS } from "./docs-page.ts";
import { openApiDocument } from "./document.ts";

/** A route the assets answer: never reached in the Worker, here only to be described. */
const served = () => new Response(null, { status: 404 });

/** The asset routes as the document describes them. */
const ASSET_ROUTES: [path: string, summary: string, response?: { description: string; text: string }][] = [
  ["/openapi.json", "This document: OpenAPI 3.1, generated from the routes and their schemas (a static asset)"],
  ["/docs", "This document, rendered (a static asset)", { description: "The page", text: "text/html" }],
  ["/docs/docs.js", "The docs page's script", { description: "The script", text: "text/javascript" }],
  ["/docs/docs.css", "The docs page's styles", { description: "The styles", text: "text/css" }],
];

/** The app with the asset routes added beside its own, so the document lists them too. */
export function documentedApp(): Hono<GatewayEnv> {
  const app = createApp();
  for (const [path, summary, response] of ASSET_ROUTES) app.get(path, doc({ summary, response }), served);
  return app;
}

/** Each file, by its path under the assets directory: `docs.html` is what `/docs` serves. */
export function apiDocsFiles(): Record<string, string> {
  return {
    "openapi.json": JSON.stringify(openApiDocument(documentedApp())),
    "docs.html": DOCS_HTML,
    "docs/docs.js": DOCS_JS,
    "docs/docs.css": DOCS_CSS,
  };
}

const COMMON = `  X-Content-Type-Options: nosniff
  Cache-Control: public, max-age=300`;

/** Their lines of the assets' `_headers`: the page under its own policy; the document open to any origin, as it is public. */
export const API_DOCS_HEADERS = `/docs
  Content-Security-Policy: ${DOCS_CSP}
${COMMON}
/docs/*
  Content-Security-Policy: ${DOCS_CSP}
${COMMON}
/openapi.json
  Access-Control-Allow-Origin: *
${COMMON}
`;
