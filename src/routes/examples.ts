// `/examples/*`: the example app without a backend (docs/apps.md), served only when EXAMPLES=on.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { CHAT_CSS, CHAT_HTML, CHAT_JS, EXAMPLE_CSP } from "../examples/chat-page.ts";
import { GatewayError } from "../http/errors.ts";
import { doc } from "../openapi/doc.ts";

export const exampleRoutes = new Hono<GatewayEnv>();

const page = (body: string, type: string) => (c: GatewayContext) => {
  if (!c.get("config").examples) {
    throw new GatewayError(404, "not_found", "The examples are off: EXAMPLES=on serves them.", { code: "examples_off" });
  }
  return c.body(body, 200, { "content-type": type, "content-security-policy": EXAMPLE_CSP, "cache-control": "no-cache" });
};

exampleRoutes.get(
  "/chat",
  doc(DESCRIBE && { summary: "An example app without a backend (EXAMPLES=on)" }),
  page(CHAT_HTML, "text/html; charset=utf-8"),
);
exampleRoutes.get(
  "/chat.js",
  doc(DESCRIBE && { summary: "The example app's script" }),
  page(CHAT_JS, "text/javascript; charset=utf-8"),
);
exampleRoutes.get(
  "/chat.css",
  doc(DESCRIBE && { summary: "The example app's styles" }),
  page(CHAT_CSS, "text/css; charset=utf-8"),
);
