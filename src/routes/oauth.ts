// Sluice as the OAuth authorization server of its MCP endpoint (the MCP
// authorization spec): metadata (RFC 8414), dynamic client registration
// (RFC 7591), the authorization code flow with PKCE, where people sign in
// through the single sign-on provider, and the token endpoint. Off until
// MCP_AUTHORIZATION_SERVERS names `sluice`; every route is a 404 until then.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { Config, SsoConfig } from "../config/index.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { readJsonBody, readTextLimited } from "../http/body.ts";
import { firstIssue, GatewayError } from "../http/errors.ts";
import { plainPage } from "../http/plain-page.ts";
import {
  AUTHORIZE_COOKIE,
  AUTHORIZE_SECONDS,
  clientRedirect,
  finishAuthorization,
  openPending,
  RedirectedError,
  readAuthorizationRequest,
  startAuthorization,
} from "../oauth/authorize.ts";
import { openClient, registerClient, registrationSchema } from "../oauth/clients.ts";
import { CONSENT_COOKIE, CONSENT_SECONDS, consentBody, openConsent, sealConsent } from "../oauth/consent.ts";
import { invalidClientMetadata, invalidRequest, notOffered } from "../oauth/errors.ts";
import { issueCode } from "../oauth/grants.ts";
import { grantFor } from "../oauth/token.ts";
import { doc } from "../openapi/doc.ts";
import { cookieHeader, cookieScheme, gatewayOrigin, readCookie } from "../sso/session.ts";
import { errorsIn } from "./endpoint.ts";

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

/** The configuration, when this gateway is an authorization server. */
function serverOf(c: GatewayContext): { config: Config; sso: SsoConfig } {
  const config = c.get("config");
  if (!config.mcpOAuth?.sluice || !config.sso) throw notOffered();
  return { config, sso: config.sso };
}

/** The issuer is the gateway's origin, as clients reach it. */
const issuerOf = (c: GatewayContext) => new URL(c.req.url).origin;

export function authorizationServerMetadata(issuer: string, scopes: string[]) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    registration_endpoint: `${issuer}/oauth/register`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
    ...(scopes.length > 0 && { scopes_supported: scopes }),
    authorization_response_iss_parameter_supported: true,
  };
}

export const authorizationServerRoutes = new Hono<GatewayEnv>();
authorizationServerRoutes.use(errorsIn("oauth"));
authorizationServerRoutes.get(
  "/",
  doc(
    DESCRIBE && {
      summary:
        "OAuth authorization server metadata (RFC 8414) for MCP clients; 404 unless MCP_AUTHORIZATION_SERVERS names `sluice`",
    },
  ),
  (c) => {
    const { config } = serverOf(c);
    return c.json(authorizationServerMetadata(issuerOf(c), config.mcpOAuth?.scopes ?? []), 200, {
      "cache-control": "public, max-age=300",
    });
  },
);

export const oauthRoutes = new Hono<GatewayEnv>();
oauthRoutes.use(errorsIn("oauth"));

oauthRoutes.post(
  "/register",
  doc(
    DESCRIBE && {
      summary: "Dynamic client registration (RFC 7591): a public client's redirect URIs in, its client_id out",
      body: registrationSchema,
    },
  ),
  async (c) => {
    const { config } = serverOf(c);
    const parsed = registrationSchema.safeParse(await readJsonBody(c.req.raw, config.maxBodyBytes));
    if (!parsed.success) {
      const { param = "body", message } = firstIssue(parsed.error);
      throw invalidClientMetadata(`Invalid \`${param}\`: ${message}`);
    }
    const { clientId, client } = await registerClient(config.adminKey, parsed.data);
    return c.json(
      {
        client_id: clientId,
        client_id_issued_at: Math.floor(Date.now() / 1000),
        redirect_uris: client.redirectUris,
        ...(client.name && { client_name: client.name }),
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        ...(parsed.data.scope && { scope: parsed.data.scope }),
      },
      201,
      NO_STORE,
    );
  },
);

const needsHttps = () =>
  new GatewayError(400, "invalid_request", "Signing in needs HTTPS (plain HTTP only on localhost, for development).", {
    code: "invalid_request",
  });

/** An error the client hears about at its redirect URI. */
function redirectBack(c: GatewayContext, issuer: string, failure: RedirectedError): Response {
  c.header("cache-control", "no-store");
  const params = { error: failure.error, error_description: failure.message, state: failure.state };
  return c.redirect(clientRedirect(failure.redirectUri, issuer, params), 302);
}

oauthRoutes.get(
  "/authorize",
  doc(
    DESCRIBE && {
      summary:
        "The authorization endpoint: checks the client's request (PKCE S256, `resource`) and sends the person to the single sign-on provider",
    },
  ),
  async (c) => {
    const { config, sso } = serverOf(c);
    if (!cookieScheme(c.req.url)) throw needsHttps();
    const issuer = issuerOf(c);
    try {
      const request = await readAuthorizationRequest(config, c.req.query(), issuer);
      const started = await startAuthorization(config, sso, {
        request,
        gatewayOrigin: gatewayOrigin(c, sso),
        loginHint: c.req.query("login_hint")?.slice(0, 320),
      });
      c.header("set-cookie", cookieHeader(c.req.url, AUTHORIZE_COOKIE, started.cookie, AUTHORIZE_SECONDS));
      c.header("cache-control", "no-store");
      c.header("referrer-policy", "no-referrer");
      return c.redirect(started.url, 302);
    } catch (failure) {
      if (failure instanceof RedirectedError) return redirectBack(c, issuer, failure);
      throw failure;
    }
  },
);

oauthRoutes.get(
  "/callback",
  doc(
    DESCRIBE && {
      summary: "Where the single sign-on provider sends the person back: the client is answered with a one-use code",
    },
  ),
  async (c) => {
    const { config, sso } = serverOf(c);
    c.header("set-cookie", cookieHeader(c.req.url, AUTHORIZE_COOKIE, "", 0));
    c.header("referrer-policy", "no-referrer");
    const pending = await openPending(config, readCookie(c, AUTHORIZE_COOKIE));
    if (!pending) {
      throw invalidRequest(
        "The sign-in must finish in the browser that started it, within ten minutes: start again from the application.",
      );
    }
    const { request } = pending;
    const issuer = new URL(request.resource).origin;
    const { code, state, error } = c.req.query();
    try {
      if (error)
        throw new RedirectedError(
          request.redirectUri,
          request.state,
          "access_denied",
          `The identity provider said: ${error.slice(0, 64)}.`,
        );
      if (!code || !state)
        throw new RedirectedError(request.redirectUri, request.state, "invalid_request", "The provider sent no code or state.");
      const granted = await finishAuthorization(c.get("services"), config, sso, {
        code,
        state,
        pending,
        defer: (work) => c.executionCtx.waitUntil(work),
      });
      // No code yet: what it would grant waits for the person's consent, in this browser alone, tied to this page.
      const nonce = crypto.randomUUID();
      const sealed = await sealConsent(config, { nonce, grant: granted.grant, state: request.state, issuer });
      c.header("set-cookie", cookieHeader(c.req.url, CONSENT_COOKIE, sealed, CONSENT_SECONDS), { append: true });
      const client = await openClient(config.adminKey, request.clientId);
      const body = consentBody({ clientName: client.name, redirectUri: request.redirectUri, person: granted.person, nonce });
      return plainPage(c, 200, "Allow access to Sluice's tools?", body);
    } catch (failure) {
      if (failure instanceof RedirectedError) return redirectBack(c, issuer, failure);
      throw failure;
    }
  },
);

oauthRoutes.post(
  "/consent",
  doc(
    DESCRIBE && {
      summary: "The person's answer on the consent page: the client gets its code, or `access_denied`",
    },
  ),
  async (c) => {
    const { config, sso } = serverOf(c);
    c.header("set-cookie", cookieHeader(c.req.url, CONSENT_COOKIE, "", 0));
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    // Only this gateway's own page answers: a form on another site cannot allow for the person. The page is
    // no-referrer, so a browser sends its form with `Origin: null`, and the fetch metadata says where it came from.
    const origin = c.req.header("origin");
    const sameOrigin =
      origin === undefined || origin === "null"
        ? c.req.header("sec-fetch-site") === "same-origin"
        : origin === gatewayOrigin(c, sso) || origin === new URL(c.req.url).origin;
    if (!sameOrigin) {
      throw new GatewayError(403, "permission", "The consent must be given on this gateway's own page.", {
        code: "access_denied",
      });
    }
    const consent = await openConsent(config, readCookie(c, CONSENT_COOKIE));
    const form = new URLSearchParams(await readTextLimited(c.req.raw, 1024));
    // The page answered must be the page this consent was asked on, not one a later sign-in in this browser replaced.
    if (!consent || form.get("nonce") !== consent.nonce) {
      throw invalidRequest(
        "The consent must be given on the page this browser was shown, within five minutes: start again from the application.",
      );
    }
    const params: Record<string, string | null> =
      form.get("decision") === "allow"
        ? { code: await issueCode(c.get("services"), consent.grant), state: consent.state }
        : { error: "access_denied", error_description: "The person did not allow the application.", state: consent.state };
    return c.redirect(clientRedirect(consent.grant.redirectUri, consent.issuer, params), 303);
  },
);

oauthRoutes.post(
  "/token",
  doc(
    DESCRIBE && {
      summary: "The token endpoint: an authorization code (with its PKCE verifier) or a refresh token in, a Sluice token out",
    },
  ),
  async (c) => {
    const { config } = serverOf(c);
    if (!(c.req.header("content-type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      throw invalidRequest("The token request is a form: `content-type: application/x-www-form-urlencoded`.");
    }
    const form = new URLSearchParams(await readTextLimited(c.req.raw, config.maxBodyBytes));
    const grant = grantFor(form.get("grant_type"));
    if (!grant) {
      throw new GatewayError(400, "invalid_request", "`grant_type` must be `authorization_code` or `refresh_token`.", {
        code: "unsupported_grant_type",
      });
    }
    return c.json(await grant({ services: c.get("services"), config, form }), 200, NO_STORE);
  },
);
