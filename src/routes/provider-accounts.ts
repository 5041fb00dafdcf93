// Accounts users connect at a provider: Google, for Gemini on their own quota.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import {
  accountView,
  BINDING_COOKIE_SECONDS,
  connect,
  disconnect,
  googleAccountOf,
  googleConfig,
  setFallback,
  startUrl,
  takeState,
} from "../accounts/google.ts";
import { type Principal, principalPersonId } from "../auth/principal.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { bindingCookie } from "../http/binding-cookie.ts";
import { GatewayError } from "../http/errors.ts";
import { escapeHtml, plainPage } from "../http/plain-page.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import * as z from "../zod.ts";
import { countsAsRequest, endpoint } from "./endpoint.ts";

export const providerAccountRoutes = new Hono<GatewayEnv>();

const caller = endpoint({ errors: "openai", gated: false });

function userOf(principal: Principal): string {
  const userId = principalPersonId(principal);
  if (!userId) {
    throw new GatewayError(
      403,
      "permission",
      "Only a signed-in user (a JWT, or a key they minted themself) can connect accounts.",
      {
        code: "user_required",
      },
    );
  }
  return userId;
}

const fallbackSchema = z.strictObject({
  /** Whether Gemini calls may use the gateway's own key when the account cannot serve them. */
  allow_fallback: z.boolean({ message: "must be true or false" }),
});

/** The page a browser lands on after Google. */
const page = (c: GatewayContext, status: 200 | 400 | 404 | 502, title: string, message: string) =>
  plainPage(c, status, title, `<p>${escapeHtml(message)}</p>`);

/** Binds the flow to the browser that started it. */
const browserCookie = bindingCookie("google");

// A POST, with the credential in a header: a link or a form on another site cannot start a connection
// in someone else's browser (the credential is never taken from the URL, and a header needs CORS's leave).
providerAccountRoutes.post(
  "/google/start",
  caller,
  countsAsRequest,
  doc(
    DESCRIBE && {
      summary:
        "Starts connecting a signed-in user's Google account: Google's consent URL for this browser to open, and the cookie that binds the sign-in to it",
      response: { description: "{url, user_id}" },
    },
  ),
  async (c) => {
    const userId = userOf(c.get("principal"));
    const { url, binding } = await startUrl(c.get("services"), c.get("config"), {
      userId,
      origin: new URL(c.req.url).origin,
    });
    browserCookie.set(c, binding, BINDING_COOKIE_SECONDS);
    c.header("cache-control", "no-store");
    return c.json({ url, user_id: userId });
  },
);

providerAccountRoutes.get(
  "/google/callback",
  doc(DESCRIBE && { summary: "Where Google sends the user back: the code exchanged, the account kept, a page saying so" }),
  async (c) => {
    googleConfig(c.get("config"));
    const { code, state, error } = c.req.query();
    if (error) return page(c, 400, "Google account not connected", `Google said: ${error}. Nothing was changed.`);
    if (!code || !state)
      return page(c, 400, "Google account not connected", "The link is missing its code or state. Start again.");
    try {
      const { userId, verifier } = await takeState(c.get("services"), c.get("config"), { state, binding: browserCookie.read(c) });
      browserCookie.set(c, "", 0);
      const row = await connect(c.get("services"), c.get("config"), {
        userId,
        code,
        verifier,
        origin: new URL(c.req.url).origin,
      });
      return page(
        c,
        200,
        "Google account connected",
        `${row.email ?? "Your Google account"} now serves the Gemini requests of the Sluice user ${userId}. You can close this page.`,
      );
    } catch (failure) {
      if (!(failure instanceof GatewayError)) throw failure;
      return page(c, failure.status === 502 ? 502 : 400, "Google account not connected", failure.message);
    }
  },
);

providerAccountRoutes.get(
  "/",
  caller,
  doc(DESCRIBE && { summary: "The signed-in user's connected accounts, never a token" }),
  async (c) => {
    const userId = userOf(c.get("principal"));
    const row = await googleAccountOf(c.get("services"), c.get("config"), userId, (work) => c.executionCtx.waitUntil(work));
    return c.json({ data: row ? [accountView(row)] : [] });
  },
);

providerAccountRoutes.patch(
  "/google",
  caller,
  doc(
    DESCRIBE && {
      summary: "Whether the gateway's own key may serve the user's Gemini calls when their account cannot",
      body: fallbackSchema,
    },
  ),
  async (c) => {
    const userId = userOf(c.get("principal"));
    const input = await parseJsonBody(c, fallbackSchema);
    const row = await setFallback(c.get("services"), userId, input.allow_fallback);
    if (!row) throw new GatewayError(404, "not_found", "No Google account is connected.", { code: "account_not_found" });
    return c.json(accountView(row));
  },
);

providerAccountRoutes.delete(
  "/google",
  caller,
  doc(DESCRIBE && { summary: "Disconnects the user's Google account and revokes its grant at Google" }),
  async (c) => {
    const userId = userOf(c.get("principal"));
    return c.json({ provider: "google", ...(await disconnect(c.get("services"), c.get("config"), userId)) });
  },
);
