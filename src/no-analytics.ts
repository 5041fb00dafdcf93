// What `@upstash/core-analytics` resolves to in the Worker (wrangler.toml's
// [alias]): `@upstash/ratelimit` imports its Analytics class whether or not a
// limiter asks for analytics, and Sluice's never do (`analytics: false` in
// limits/reservation.ts), so the class's code need not ride in the bundle.
export class Analytics {
  constructor() {
    throw new Error("@upstash/ratelimit's analytics are not bundled: Sluice's limiters run with `analytics: false`.");
  }
}
