// Each detector against what it must find and the near misses it must not.
import { describe, expect, it } from "vitest";
import {
  builtInDetector,
  type DetectorKind,
  findAll,
  ibanValid,
  luhnValid,
  regexDetector,
  wordsDetector,
} from "../../src/guardrails/detectors.ts";

const found = (kind: DetectorKind, text: string) =>
  builtInDetector(kind)
    .find(text)
    .map((f) => text.slice(f.start, f.end));

const CASES: Record<DetectorKind, { hits: string[]; misses: string[] }> = {
  email: {
    hits: ["alice@example.com", "bob.o'neil+tag@mail.example.co.uk".replace("'", ""), "x_y@sub-domain.io"],
    misses: ["alice@localhost", "@handle on twitter", "user@", "a@b.c", "name at example dot com"],
  },
  phone: {
    hits: [
      "+1 415 555 2671",
      "+44 20 7946 0958",
      "+49 (0)30 1234567".replace("(0)", "(30)"),
      "(415) 555-2671",
      "415-555-2671",
      "+33612345678",
    ],
    misses: ["order 12345678", "2024-01-15", "v1.2.3", "call me at 5", "id 4155552671", "+1 2"],
  },
  card: {
    hits: ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "4012888888881881"],
    misses: ["4111 1111 1111 1112", "1234567890123", "0000 0000 0000 0000", "timestamp 17330000000001"],
  },
  iban: {
    hits: ["DE89370400440532013000", "GB82 WEST 1234 5698 7654 32", "FR1420041010050500013M02606"],
    misses: ["DE89370400440532013001", "GB82 WEST 1234 5698 7654 33", "US12345678901234"],
  },
  ssn: {
    hits: ["123-45-6789", "078-05-1120"],
    misses: ["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "123456789", "1123-45-6789"],
  },
  ip: {
    hits: ["192.168.0.1", "8.8.8.8", "2001:db8::1", "fe80::1ff:fe23:4567:890a", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"],
    misses: ["256.1.1.1", "1.2.3", "12:30:45", "a::b::c::d::e", "10.0.0.1.5"],
  },
  secret: {
    hits: [
      "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
      "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
      "AIzaSyA1234567890abcdefghijklmnopqrstuv",
      "AKIAIOSFODNN7EXAMPLE",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
      "Bearer abcdefghijklmnopqrstuvwxyz012345",
      "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ],
    misses: [
      "const key = process.env.API_KEY;",
      "the sk- prefix marks a secret key",
      "task-management",
      "AKIA is how AWS ids start",
      "-----BEGIN PUBLIC KEY-----",
      "Bearer token goes in the header",
      "monkey keyboard turkey",
    ],
  },
};

describe.each(Object.entries(CASES) as [DetectorKind, { hits: string[]; misses: string[] }][])(
  "the %s detector",
  (kind, { hits, misses }) => {
    it.each(hits)("finds %j whole, inside a sentence", (value) => {
      expect(found(kind, `before ${value} after`)).toEqual([value]);
    });

    it.each(misses)("passes over %j", (value) => {
      expect(found(kind, `before ${value} after`)).toEqual([]);
    });
  },
);

describe("the checksums", () => {
  it("Luhn", () => {
    expect(luhnValid("79927398713")).toBe(true);
    expect(luhnValid("79927398710")).toBe(false);
    expect(luhnValid("")).toBe(false);
  });

  it("IBAN mod-97, with and without grouping", () => {
    expect(ibanValid("GB82 WEST 1234 5698 7654 32")).toBe(true);
    expect(ibanValid("gb82west12345698765432")).toBe(true);
    expect(ibanValid("GB83WEST12345698765432")).toBe(false);
  });
});

describe("a policy's own patterns and words", () => {
  it("finds a custom regex under its name, ignoring empty matches", () => {
    const ticket = regexDetector("ticket", "TICKET-\\d+");
    expect(ticket.find("see TICKET-42 and TICKET-7")).toEqual([
      { start: 4, end: 13, category: "ticket" },
      { start: 18, end: 26, category: "ticket" },
    ]);
    expect(regexDetector("empty", "x*").find("abc")).toEqual([]);
  });

  it("finds listed words whole, in any case, not inside other words", () => {
    const words = wordsDetector("codename", ["Project Falcon", "falcon"]);
    const text = "FALCON and project falcon, not falconry";
    expect(words.find(text).map((f) => text.slice(f.start, f.end))).toEqual(["FALCON", "project falcon"]);
  });
});

describe("several detectors at once", () => {
  it("keeps findings in order and drops one that overlaps an earlier", () => {
    const text = "mail alice@example.com from 10.0.0.1";
    const all = findAll([builtInDetector("ip"), builtInDetector("email"), regexDetector("alice", "alice")], text);
    expect(all.map((f) => [f.category, text.slice(f.start, f.end)])).toEqual([
      ["email", "alice@example.com"],
      ["ip", "10.0.0.1"],
    ]);
  });
});
