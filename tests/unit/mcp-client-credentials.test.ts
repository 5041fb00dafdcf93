// The gateway's own token at a `client_credentials` MCP server: how it is
// asked for (Basic client authentication, the form), kept until shortly
// before it expires, asked for anew after that or after a refusal, and how a
// token endpoint that fails or hangs is reported.
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetServiceToken, serviceToken } from "../../src/mcp/client-credentials.ts";

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

let serial = 0;
const serverOf = (timeoutMs = 1_000) => ({
  name: `cc-unit-${serial++}`,
  timeoutMs,
  clientCredentials: {
    tokenUrl: "https://auth.example/token",
    clientId: "gateway client",
    clientSecret: "s3cret:value",
    scopes: "tools.call",
    audience: "https://api.example",
  },
});

/** A token endpoint that issues `token-N` for `expires_in` seconds, recording each request. */
function tokenEndpoint(expiresIn = 3600) {
  const requests: { authorization: string | null; form: URLSearchParams }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (_url: string, init: RequestInit) => {
      requests.push({
        authorization: new Headers(init.headers).get("authorization"),
        form: new URLSearchParams(String(init.body)),
      });
      return Response.json({ access_token: `token-${requests.length}`, expires_in: expiresIn, token_type: "Bearer" });
    }),
  );
  return requests;
}

describe("client credentials tokens", () => {
  it("asks once, with Basic client authentication, for every call until shortly before expiry", async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 4, 12) });
    const requests = tokenEndpoint(3600);
    const server = serverOf();
    expect(await Promise.all([serviceToken(server), serviceToken(server), serviceToken(server)])).toEqual([
      "token-1",
      "token-1",
      "token-1",
    ]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.authorization).toBe(`Basic ${btoa("gateway+client:s3cret%3Avalue")}`);
    expect(Object.fromEntries(requests[0]?.form ?? [])).toEqual({
      grant_type: "client_credentials",
      scope: "tools.call",
      audience: "https://api.example",
    });
    vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 50));
    expect(await serviceToken(server)).toBe("token-1");
    // Within the last minutes of its hour, a new one is asked for.
    vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 58));
    expect(await serviceToken(server)).toBe("token-2");
    expect(requests).toHaveLength(2);
  });

  it("keeps a token that lives two minutes for its first minute", async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 4, 12) });
    const requests = tokenEndpoint(120);
    const server = serverOf();
    expect(await serviceToken(server)).toBe("token-1");
    vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 0, 55));
    expect(await serviceToken(server)).toBe("token-1");
    vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 1, 5));
    expect(await serviceToken(server)).toBe("token-2");
    expect(requests).toHaveLength(2);
  });

  it("drops a refused token, but not the one that replaced it", async () => {
    const requests = tokenEndpoint();
    const server = serverOf();
    expect(await serviceToken(server)).toBe("token-1");
    forgetServiceToken(server, "token-1");
    expect(await serviceToken(server)).toBe("token-2");
    forgetServiceToken(server, "token-1");
    expect(await serviceToken(server)).toBe("token-2");
    expect(requests).toHaveLength(2);
  });

  it("reports a refusal by its OAuth error code only, and a hang as a timeout", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () =>
        Response.json({ error: "invalid_client", error_description: "secret s3cret:value is wrong" }, { status: 401 }),
      ),
    );
    const refused = await serviceToken(serverOf()).catch((error: Error & { code?: string }) => error);
    expect(refused).toMatchObject({ code: "mcp_upstream_error", status: 502 });
    expect((refused as Error).message).toContain("answered HTTP 401 (invalid_client)");
    expect((refused as Error).message).not.toContain("s3cret");
    vi.stubGlobal(
      "fetch",
      vi.fn(
        (_url: string, init: RequestInit) =>
          new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason))),
      ),
    );
    const hung = await serviceToken(serverOf(50)).catch((error: Error) => error);
    expect((hung as Error).message).toContain("did not answer within 50 ms");
  });
});
