// Sealed values are compact JWEs (`dir`, A256GCM) that jose writes and reads the same.
import { EncryptJWT, errors, jwtDecrypt } from "jose";
import { describe, expect, it, vi } from "vitest";
import { openFor, seal, unseal } from "../../src/auth/sealed.ts";
import { signingKey } from "../../src/auth/sluice-token.ts";
import * as z from "../../src/zod.ts";

const ADMIN = "admin-key-for-sealing-tests";

describe("sealed values", () => {
  it("writes what jose reads, and reads what jose wrote", async () => {
    const sealed = await seal(ADMIN, "purpose a", { sid: "s1", op: "o" }, 60);
    const { payload, protectedHeader } = await jwtDecrypt(sealed, await signingKey(ADMIN, "purpose a"), {
      keyManagementAlgorithms: ["dir"],
      contentEncryptionAlgorithms: ["A256GCM"],
    });
    expect(protectedHeader).toEqual({ alg: "dir", enc: "A256GCM" });
    expect(payload).toMatchObject({ sid: "s1", op: "o" });
    expect(payload.exp).toBe((payload.iat as number) + 60);

    const byJose = await new EncryptJWT({ ru: ["https://a.example/cb"], cn: "A" })
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setIssuedAt()
      .encrypt(await signingKey(ADMIN, "purpose b"));
    expect(await unseal(ADMIN, "purpose b", byJose, { expiring: false })).toMatchObject({
      ru: ["https://a.example/cb"],
      cn: "A",
    });
  });

  it("refuses another purpose, another admin key, a changed byte, another header", async () => {
    const sealed = await seal(ADMIN, "purpose a", { v: 1 }, 60);
    await expect(unseal(ADMIN, "purpose b", sealed)).rejects.toBeInstanceOf(errors.JWEDecryptionFailed);
    await expect(unseal(`${ADMIN}x`, "purpose a", sealed)).rejects.toBeInstanceOf(errors.JWEDecryptionFailed);
    const parts = sealed.split(".");
    const cipher = parts[3] as string;
    parts[3] = (cipher[0] === "A" ? "B" : "A") + cipher.slice(1);
    await expect(unseal(ADMIN, "purpose a", parts.join("."))).rejects.toBeInstanceOf(errors.JWEDecryptionFailed);
    // The same key and body under a header with a member `seal` never writes: refused before decrypting.
    const extra = await new EncryptJWT({ v: 1 })
      .setProtectedHeader({ alg: "dir", enc: "A256GCM", cty: "x" })
      .setExpirationTime("60s")
      .encrypt(await signingKey(ADMIN, "purpose a"));
    await expect(unseal(ADMIN, "purpose a", extra)).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed);
    for (const bad of ["", "a.b.c", `${sealed}.x`, sealed.replace("..", ".x.")]) {
      await expect(unseal(ADMIN, "purpose a", bad)).rejects.toBeInstanceOf(errors.JOSEError);
    }
  });

  it("holds to expiry: past its time, or without one unless told it never expires", async () => {
    const never = await seal(ADMIN, "p", { v: 1 });
    await expect(unseal(ADMIN, "p", never)).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
    expect(await unseal(ADMIN, "p", never, { expiring: false })).toMatchObject({ v: 1 });

    const atTime = await seal(ADMIN, "p", { v: 2 }, { at: Math.floor(Date.now() / 1000) + 5 });
    expect(await unseal(ADMIN, "p", atTime)).toMatchObject({ v: 2 });
    vi.useFakeTimers({ now: Date.now() + 5_000, toFake: ["Date"] });
    try {
      await expect(unseal(ADMIN, "p", atTime)).rejects.toBeInstanceOf(errors.JWTExpired);
      expect(await openFor(ADMIN, "p", atTime, z.object({ v: z.number() }))).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it("opens to the schema's shape, or to nothing", async () => {
    const sealed = await seal(ADMIN, "p", { v: 3 }, 60);
    expect(await openFor(ADMIN, "p", sealed, z.object({ v: z.number() }))).toEqual({ v: 3 });
    expect(await openFor(ADMIN, "p", sealed, z.object({ v: z.string() }))).toBeUndefined();
    expect(await openFor(ADMIN, "p", undefined, z.object({ v: z.number() }))).toBeUndefined();
  });
});
