// The few pages a browser lands on outside the dashboard (the end of a sign-in
// or a connection, a consent to give): plain HTML, no script, nothing they
// could be framed into, never cached. One shell for all of them.
import type { GatewayContext } from "../context.ts";

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch);

const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.25rem}code{background:#f6f8fa}button{font:inherit;padding:.4rem 1rem;margin-right:.5rem}";

/** A page of `title` (text) over `body` (HTML the caller escaped); no form-action, since a form's redirect may leave for any scheme. */
export function plainPage(c: GatewayContext, status: 200 | 400 | 403 | 404 | 502, title: string, body: string): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  return c.html(html, status, {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
  });
}
