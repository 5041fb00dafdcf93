// Cloudflare Turnstile's siteverify, played for tests and `npm run dev`: a
// form with `secret` and `response` in, Turnstile's JSON out. A token says
// how it should fare: `pass:<hostname>[:<anything>]` passes once (its
// hostname is the page's), `fail` is invalid, `expired` has timed out; a
// token seen before is a duplicate, as Turnstile's are single-use.
export const TURNSTILE_PATH = "/__mock/turnstile/siteverify";
export const MOCK_TURNSTILE_SECRET = "mock-turnstile-secret";

export function mockTurnstile() {
  const seen = new Set<string>();
  return {
    verify(form: URLSearchParams): { success: boolean; hostname?: string; "error-codes": string[] } {
      if (form.get("secret") !== MOCK_TURNSTILE_SECRET) return { success: false, "error-codes": ["invalid-input-secret"] };
      const token = form.get("response") ?? "";
      if (!token) return { success: false, "error-codes": ["missing-input-response"] };
      if (token === "expired" || seen.has(token)) return { success: false, "error-codes": ["timeout-or-duplicate"] };
      seen.add(token);
      const [verdict, hostname] = token.split(":");
      if (verdict !== "pass" || !hostname) return { success: false, "error-codes": ["invalid-input-response"] };
      return { success: true, hostname, "error-codes": [] };
    },
  };
}
