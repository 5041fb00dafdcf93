// The official MCP client (`@modelcontextprotocol/sdk`) through the gateway:
// a real MCP server from npm (server-everything, over Streamable HTTP) and
// the mock's, side by side on `/mcp` under namespaced names, and one alone
// on `/mcp/{server}`.

import { env } from "cloudflare:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { MOCK_MCP_ALPHA_TOKEN } from "../dev/mock-upstream/mcp.ts";
import { BASE, workerFetch } from "./helpers.ts";
import { admin, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");

async function connect(key: string, path: string, pending: Promise<unknown>[]): Promise<Client> {
  const client = new Client({ name: "sluice-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${BASE}${path}`), {
    fetch: workerFetch(pending),
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return client;
}

describe("the official MCP client through the gateway", () => {
  it("lists and calls the tools, prompts and resources of server-everything and the mock, namespaced", async () => {
    const everything = uniqueId("everything").toLowerCase();
    const alpha = uniqueId("alpha").toLowerCase();
    expect((await admin("POST", "/admin/mcp/servers", { name: everything, url: env.EVERYTHING_MCP_URL })).status).toBe(201);
    expect(
      (
        await admin("POST", "/admin/mcp/servers", {
          name: alpha,
          url: `${mockRoot}/mcp/alpha`,
          auth: { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN },
        })
      ).status,
    ).toBe(201);
    const key = String(
      (
        await admin("POST", "/admin/keys", {
          settings: { mcp_servers: [everything, alpha], mcp_tools: [`${everything}__*`, `${alpha}__echo`] },
        })
      ).body.key,
    );
    const pending: Promise<unknown>[] = [];
    const client = await connect(key, "/mcp", pending);
    expect(client.getServerVersion()).toMatchObject({ name: "sluice" });

    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toContain(`${everything}__echo`);
    expect(tools).toContain(`${everything}__get-sum`);
    expect(tools).toContain(`${alpha}__echo`);
    expect(tools).not.toContain(`${alpha}__add`);
    expect(tools.every((name) => name.startsWith(`${everything}__`) || name === `${alpha}__echo`)).toBe(true);

    const echoed = await client.callTool({ name: `${everything}__echo`, arguments: { message: "through sluice" } });
    expect(echoed.content).toEqual([{ type: "text", text: "Echo: through sluice" }]);
    const summed = await client.callTool({ name: `${everything}__get-sum`, arguments: { a: 2, b: 40 } });
    expect(JSON.stringify(summed.content)).toContain("42");
    const mine = await client.callTool({ name: `${alpha}__echo`, arguments: { text: "mock too" } });
    expect(mine.content).toEqual([{ type: "text", text: "mock too" }]);
    await expect(client.callTool({ name: `${alpha}__add`, arguments: { a: 1, b: 2 } })).rejects.toThrow(/Unknown tool/);

    const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
    expect(prompts).toContain(`${everything}__simple-prompt`);
    expect(prompts).toContain(`${alpha}__greet`);
    const prompt = await client.getPrompt({ name: `${everything}__simple-prompt` });
    expect(prompt.messages.length).toBeGreaterThan(0);

    const resources = (await client.listResources()).resources;
    const readme = resources.find((resource) => resource.uri === `mcp+${alpha}:alpha://readme`);
    expect(readme).toBeDefined();
    const fromEverything = resources.find((resource) => resource.uri.startsWith(`mcp+${everything}:`));
    expect(fromEverything).toBeDefined();
    const read = await client.readResource({ uri: fromEverything?.uri ?? "" });
    expect(read.contents[0]?.uri).toBe(fromEverything?.uri);
    expect(await client.ping()).toEqual({});
    await client.close();
    await Promise.all(pending);
  });

  it("speaks to one server alone on /mcp/{server}, with its own names", async () => {
    const everything = uniqueId("everything").toLowerCase();
    expect((await admin("POST", "/admin/mcp/servers", { name: everything, url: env.EVERYTHING_MCP_URL })).status).toBe(201);
    const key = String((await admin("POST", "/admin/keys", { settings: { mcp_servers: [everything] } })).body.key);
    const pending: Promise<unknown>[] = [];
    const client = await connect(key, `/mcp/${everything}`, pending);
    expect(client.getServerVersion()?.name).not.toBe("sluice");
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toContain("echo");
    const echoed = await client.callTool({ name: "echo", arguments: { message: "alone" } });
    expect(echoed.content).toEqual([{ type: "text", text: "Echo: alone" }]);
    await client.close();
    await Promise.all(pending);
  });
});
