// `/auth/sso/*`: single sign-on to the dashboard and the admin API with an
// OpenID Connect provider. `login` sends the browser to the provider,
// `callback` finishes there and sets the session cookie, `session` says who
// is signed in (the dashboard asks it first, so it answers `enabled: false`
// rather than an error while single sign-on is off), `logout` ends the
// session. The other routes answer 404 while single sign-on is not configured.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { networkHash } from "../apps/network.ts";
import { resolveOperator } from "../auth/operators.ts";
import type { SsoConfig } from "../config/index.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { GatewayError } from "../http/errors.ts";
import { escapeHtml, plainPage } from "../http/plain-page.ts";
import { logDetail } from "../log.ts";
import { doc } from "../openapi/doc.ts";
import { appendAudit } from "../orgs/audit.ts";
import { finishSignIn, SIGN_IN_COOKIE, SIGN_IN_SECONDS, startSignIn } from "../sso/flow.ts";
import { operatorClaims } from "../sso/roles.ts";
import {
  checkSameOrigin,
  cookieHeader,
  cookieScheme,
  openSession,
  readCookie,
  SESSION_COOKIE,
  sealSession,
  sessionPrincipal,
  signOut,
} from "../sso/session.ts";

export const ssoRoutes = new Hono<GatewayEnv>();

function ssoOf(c: GatewayContext): SsoConfig {
  const sso = c.get("config").sso;
  if (!sso) {
    throw new GatewayError(
      404,
      "not_found",
      "Single sign-on is not configured here: SSO_DISCOVERY_URL and SSO_CLIENT_ID are unset.",
      {
        code: "sso_disabled",
      },
    );
  }
  return sso;
}

/** A page for a sign-in that did not complete. */
const failurePage = (c: GatewayContext, failure: GatewayError) =>
  plainPage(
    c,
    failure.status as 400,
    "Not signed in",
    `<p>${escapeHtml(failure.message)}</p><p><a href="/dashboard/">Back to the dashboard</a></p>`,
  );

const needsHttps = () =>
  new GatewayError(400, "invalid_request", "Single sign-on needs HTTPS (plain HTTP only on localhost, for development).", {
    code: "sso_needs_https",
  });

ssoRoutes.get(
  "/login",
  doc(DESCRIBE && { summary: "Starts signing in: a redirect to the identity provider (`return_to`: a path here; `login_hint`)" }),
  async (c) => {
    const sso = ssoOf(c);
    if (!cookieScheme(c.req.url)) throw needsHttps();
    const { return_to: returnTo, login_hint: loginHint } = c.req.query();
    let started: { url: string; cookie: string };
    try {
      started = await startSignIn(c.get("config"), sso, {
        origin: new URL(c.req.url).origin,
        returnTo,
        loginHint: loginHint?.slice(0, 320),
      });
    } catch (failure) {
      // The provider's discovery document cannot be read: a page for the person who clicked the button.
      if (failure instanceof GatewayError && failure.status !== 500) return failurePage(c, failure);
      throw failure;
    }
    c.header("set-cookie", cookieHeader(c.req.url, SIGN_IN_COOKIE, started.cookie, SIGN_IN_SECONDS));
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    return c.redirect(started.url, 302);
  },
);

ssoRoutes.get(
  "/callback",
  doc(DESCRIBE && { summary: "Where the identity provider sends the browser back: the code exchanged, the session cookie set" }),
  async (c) => {
    const sso = ssoOf(c);
    const { code, state, error } = c.req.query();
    c.header("set-cookie", cookieHeader(c.req.url, SIGN_IN_COOKIE, "", 0), { append: true });
    try {
      if (!cookieScheme(c.req.url)) throw needsHttps();
      if (error)
        throw new GatewayError(403, "permission", `The identity provider said: ${error.slice(0, 64)}.`, { code: "sso_denied" });
      if (!code || !state) throw new GatewayError(400, "invalid_request", "The link is missing its code or state. Start again.");
      const services = c.get("services");
      const { payload, returnTo } = await finishSignIn(services, c.get("config"), sso, {
        code,
        state,
        cookie: readCookie(c, SIGN_IN_COOKIE),
      });
      // The session dates from before its roles are read: a change to them that lands meanwhile ends it.
      const rolesReadAt = Date.now();
      const identity = await resolveOperator(services, operatorClaims(payload, sso));
      if (identity.orgRole === null && Object.keys(identity.teamRoles).length === 0) {
        throw new GatewayError(
          403,
          "permission",
          `${identity.email ?? "This account"} has no role here: none of its groups is mapped to one. Ask an administrator.`,
          { code: "sso_no_role" },
        );
      }
      await auditSignIn(c, identity);
      const { value } = await sealSession(c.get("config"), identity, sso.sessionTtlSeconds, rolesReadAt);
      c.header("set-cookie", cookieHeader(c.req.url, SESSION_COOKIE, value, sso.sessionTtlSeconds), { append: true });
      c.header("cache-control", "no-store");
      c.header("referrer-policy", "no-referrer");
      return c.redirect(returnTo, 302);
    } catch (failure) {
      // A refusal, or a provider that failed us, is a page the person can read; anything else is the gateway's own error.
      if (!(failure instanceof GatewayError) || failure.status === 500) throw failure;
      return failurePage(c, failure);
    }
  },
);

ssoRoutes.get(
  "/session",
  doc(
    DESCRIBE && {
      summary:
        "Who is signed in: `{enabled, signed_in, provider, login_url, operator}`; `enabled: false` when single sign-on is off",
      response: { description: "{enabled, signed_in, provider?, login_url?, operator?, expires_at?}" },
    },
  ),
  async (c) => {
    const sso = c.get("config").sso;
    c.header("cache-control", "no-store");
    if (!sso) return c.json({ enabled: false, signed_in: false });
    const base = { enabled: true, provider: sso.providerName, login_url: "/auth/sso/login" };
    const value = readCookie(c, SESSION_COOKIE);
    const principal = value ? await sessionPrincipal(c).catch(() => undefined) : undefined;
    if (!value || principal?.type !== "operator") return c.json({ signed_in: false, ...base });
    const { exp } = await openSession(c.get("config"), value);
    return c.json({
      signed_in: true,
      ...base,
      operator: {
        subject: principal.subject,
        email: principal.email,
        name: principal.name,
        org_id: principal.orgId,
        org_role: principal.orgRole,
        team_roles: principal.teamRoles,
      },
      expires_at: new Date(exp * 1000).toISOString(),
    });
  },
);

ssoRoutes.post("/logout", doc(DESCRIBE && { summary: "Signs the session out, here and in every isolate" }), async (c) => {
  const sso = ssoOf(c);
  const value = readCookie(c, SESSION_COOKIE);
  if (value) {
    checkSameOrigin(c, sso);
    const session = await openSession(c.get("config"), value).catch(() => undefined);
    if (session) await signOut(c, session);
  }
  c.header("set-cookie", cookieHeader(c.req.url, SESSION_COOKIE, "", 0));
  c.header("cache-control", "no-store");
  return c.json({ signed_out: true });
});

/** A sign-in is a change of who may act: it leaves an audit row like the admin API's writes. */
async function auditSignIn(c: GatewayContext, identity: Awaited<ReturnType<typeof resolveOperator>>): Promise<void> {
  try {
    await appendAudit(c, {
      orgId: identity.orgId,
      actorType: "session",
      actorId: identity.subject,
      actorEmail: identity.email,
      action: "sign-in",
      method: "GET",
      path: "/auth/sso/callback",
      targetType: "sessions",
      targetId: identity.subject,
      status: 200,
      ipHash: await networkHash(c.req.raw, c.get("config").apps.ipHashSalt),
      userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
      requestId: c.get("requestId"),
      before: null,
      after: { org_role: identity.orgRole, team_roles: identity.teamRoles },
    });
  } catch (error) {
    console.error(`sluice: ${c.get("requestId")} audit row not written: ${logDetail(error)}`);
  }
}
