// Users' own connections to MCP servers registered as `user_oauth`: start
// (a header-authenticated POST answering the server's authorization URL and
// setting the cookie that binds the flow to this browser), the callback the
// server redirects to, the list, and disconnecting (revoked at the server).
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { type Principal, principalPersonId, principalPolicy } from "../auth/principal.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { bindingCookie } from "../http/binding-cookie.ts";
import { GatewayError } from "../http/errors.ts";
import { escapeHtml, plainPage } from "../http/plain-page.ts";
import { mcpAccess } from "../mcp/allowlist.ts";
import { STATE_TTL_SECONDS, startAuthorization, takeState } from "../mcp/connections/state.ts";
import { connect, connectionView, disconnect, listConnections, type OAuthServer } from "../mcp/connections/store.ts";
import { mcpServersFor } from "../mcp/registry.ts";
import { doc } from "../openapi/doc.ts";
import { countsAsRequest, endpoint } from "./endpoint.ts";

export const mcpConnectionRoutes = new Hono<GatewayEnv>();

const caller = endpoint({ errors: "openai", gated: false });

function userOf(principal: Principal): string {
  const userId = principalPersonId(principal);
  if (!userId) {
    throw new GatewayError(
      403,
      "permission",
      "Only a signed-in user (a JWT, or a key they minted themself) can connect MCP servers.",
      {
        code: "user_required",
      },
    );
  }
  return userId;
}

const notConnectable = (name: string) =>
  new GatewayError(404, "not_found", `No MCP server \`${name}\` that users connect to themselves.`, {
    code: "mcp_server_not_found",
  });

/** The enabled `user_oauth` server of that name; undefined when there is none. */
async function oauthServer(c: GatewayContext, name: string): Promise<OAuthServer | undefined> {
  const server = (await mcpServersFor(c.get("services"), c.get("config"))).get(name);
  return server?.oauth ? { ...server, oauth: server.oauth } : undefined;
}

/** The page a browser lands on after the server. */
const page = (c: GatewayContext, status: 200 | 400 | 502, title: string, message: string) =>
  plainPage(c, status, title, `<p>${escapeHtml(message)}</p>`);

/** Binds the flow to the browser that started it. */
const browserCookie = bindingCookie("mcp");

// A POST with the credential in a header: a link or a form on another site cannot start a connection in someone's browser.
mcpConnectionRoutes.post(
  "/:server/start",
  caller,
  countsAsRequest,
  doc(
    DESCRIBE && {
      summary:
        "Starts connecting the signed-in user's own account at a user_oauth MCP server: its authorization URL for this browser to open, and the cookie that binds the flow to it",
      response: { description: "{url, server, user_id}" },
    },
  ),
  async (c) => {
    const userId = userOf(c.get("principal"));
    const name = c.req.param("server");
    const server = await oauthServer(c, name);
    if (!server || !mcpAccess(principalPolicy(c.get("principal"))).server(name)) throw notConnectable(name);
    const { url, binding } = await startAuthorization(c.get("services"), c.get("config"), {
      userId,
      server,
      origin: new URL(c.req.url).origin,
    });
    browserCookie.set(c, binding, STATE_TTL_SECONDS);
    c.header("cache-control", "no-store");
    return c.json({ url, server: name, user_id: userId });
  },
);

mcpConnectionRoutes.get(
  "/callback",
  doc(
    DESCRIBE && {
      summary: "Where a user_oauth MCP server sends the user back: the code exchanged, the tokens sealed, a page saying so",
    },
  ),
  async (c) => {
    const failedTitle = "MCP server not connected";
    const { code, state, error } = c.req.query();
    if (error) return page(c, 400, failedTitle, `The server said: ${error}. Nothing was changed.`);
    if (!code || !state) return page(c, 400, failedTitle, "The link is missing its code or state. Start again.");
    try {
      const taken = await takeState(c.get("services"), c.get("config"), {
        state,
        binding: browserCookie.read(c),
      });
      browserCookie.set(c, "", 0);
      const server = await oauthServer(c, taken.server);
      if (!server) throw notConnectable(taken.server);
      await connect(c.get("services"), c.get("config"), {
        userId: taken.userId,
        server,
        code,
        verifier: taken.verifier,
        origin: new URL(c.req.url).origin,
      });
      return page(
        c,
        200,
        "MCP server connected",
        `Your account at ${server.name} now serves the tool calls of the Sluice user ${taken.userId}, and only theirs. You can close this page.`,
      );
    } catch (failure) {
      if (!(failure instanceof GatewayError)) throw failure;
      return page(c, failure.status === 502 ? 502 : 400, failedTitle, failure.message);
    }
  },
);

mcpConnectionRoutes.get(
  "/",
  caller,
  doc(DESCRIBE && { summary: "The signed-in user's MCP server connections, never a token" }),
  async (c) => {
    const rows = await listConnections(c.get("services"), userOf(c.get("principal")));
    return c.json({ data: rows.map(connectionView) });
  },
);

mcpConnectionRoutes.delete(
  "/:server",
  caller,
  doc(DESCRIBE && { summary: "Disconnects the user's account at an MCP server and revokes its grant there when the server can" }),
  async (c) => {
    const userId = userOf(c.get("principal"));
    const name = c.req.param("server");
    const result = await disconnect(c.get("services"), c.get("config"), {
      userId,
      server: name,
      oauth: await oauthServer(c, name),
    });
    return c.json({ server: name, ...result });
  },
);
