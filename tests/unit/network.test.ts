// The pure parts of apps and headers: a client's network as guest limits count it, and header values.
import { describe, expect, it } from "vitest";
import { networkHash, networkOf } from "../../src/apps/network.ts";
import { headerValue } from "../../src/http/errors.ts";

const from = (address: string) => new Request("https://sluice.test/", { headers: { "cf-connecting-ip": address } });

describe("a client's network", () => {
  it("is an IPv4 address as it is, and an IPv6 address cut to its /64, however it is written", () => {
    expect(networkOf("203.0.113.7")).toBe("203.0.113.7");
    expect(networkOf("2001:db8:aa:bb:1:2:3:4")).toBe("2001:db8:aa:bb::/64");
    expect(networkOf("2001:0db8:00aa:00bb::99")).toBe("2001:db8:aa:bb::/64");
    expect(networkOf("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(networkOf("::1")).toBe("0:0:0:0::/64");
  });

  it("is hashed with the salt: one prefix, one hash; another prefix or salt, another hash; never the address", async () => {
    const one = await networkHash(from("2001:db8:aa:bb:1:2:3:4"), "salt");
    expect(one).toMatch(/^[0-9a-f]{24}$/);
    expect(await networkHash(from("2001:db8:aa:bb:ffff::1"), "salt")).toBe(one);
    expect(await networkHash(from("2001:db8:aa:bc::1"), "salt")).not.toBe(one);
    expect(await networkHash(from("2001:db8:aa:bb:1:2:3:4"), "pepper")).not.toBe(one);
  });
});

describe("a header value", () => {
  it("keeps printable ASCII, percent-encodes the rest, and survives half a character", () => {
    expect(headerValue("mock-echo")).toBe("mock-echo");
    expect(headerValue("modèle")).toBe("mod%C3%A8le");
    expect(headerValue("\udfff")).toBe("%EF%BF%BD");
    expect(headerValue("a\ud83d")).toBe("a%EF%BF%BD");
    expect(headerValue("😀")).toBe("%F0%9F%98%80");
  });
});
