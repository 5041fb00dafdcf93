// `npm run dev`'s ports: a variable names its port or stops the run with a
// message naming both; unset, the usual port when free, else any free one.
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { choosePort, freePort, PortError, portProblem } from "../../dev/standins/http.ts";

const held: Server[] = [];

/** A port some other program is listening on. */
async function takenPort(): Promise<number> {
  const server = createServer();
  held.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

afterEach(async () => {
  await Promise.all(held.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe("choosePort", () => {
  it("takes the usual port when it is free and no variable is set", async () => {
    const usual = await freePort();
    expect(await choosePort({ variable: "PORT", usual, env: {} })).toEqual({ port: usual, fixed: false });
  });

  it("moves to a free port when the usual one is taken and no variable is set, and says from where", async () => {
    const usual = await takenPort();
    const choice = await choosePort({ variable: "PORT", usual, env: {} });
    expect(choice).toMatchObject({ fixed: false, movedFrom: usual });
    expect(choice.port).not.toBe(usual);
    expect(await portProblem(choice.port)).toBeUndefined();
  });

  it("takes the variable's port when it is free", async () => {
    const port = await freePort();
    expect(await choosePort({ variable: "DEV_NEON_PORT", usual: 5488, env: { DEV_NEON_PORT: String(port) } })).toEqual({
      port,
      fixed: true,
    });
  });

  it("refuses the variable's port when it is taken, naming the variable and the port, rather than moving", async () => {
    const port = await takenPort();
    const choosing = choosePort({ variable: "DEV_MOCK_PORT", usual: 8090, env: { DEV_MOCK_PORT: String(port) } });
    await expect(choosing).rejects.toThrow(PortError);
    await expect(choosing).rejects.toThrow(`DEV_MOCK_PORT=${port}, but port ${port} on 127.0.0.1 is taken`);
  });

  it("refuses PORT when it is taken, as it refuses a stand-in's variable", async () => {
    const port = await takenPort();
    await expect(choosePort({ variable: "PORT", usual: 8787, env: { PORT: String(port) } })).rejects.toThrow(
      `PORT=${port}, but port ${port} on 127.0.0.1 is taken`,
    );
  });

  it.each(["abc", "80a", "-1", "0", "65536", "1e3", "8080.5"])("refuses a variable that names no port: %s", async (value) => {
    await expect(choosePort({ variable: "DEV_UPSTASH_PORT", usual: 8079, env: { DEV_UPSTASH_PORT: value } })).rejects.toThrow(
      `DEV_UPSTASH_PORT=${JSON.stringify(value)} is not a port: use a number from 1 to 65535.`,
    );
  });

  it("never picks a port already chosen for another server", async () => {
    const usual = await freePort();
    const moved = await choosePort({ variable: "DEV_UPSTASH_PORT", usual, env: {}, avoid: [usual] });
    expect(moved.port).not.toBe(usual);
    await expect(
      choosePort({ variable: "DEV_NEON_PORT", usual: 5488, env: { DEV_NEON_PORT: String(usual) }, avoid: [usual] }),
    ).rejects.toThrow(`DEV_NEON_PORT=${usual}, but port ${usual} on 127.0.0.1 is taken`);
  });
});
