import type { Env as SluiceEnv } from "../src/config/index.ts";

// The bindings vitest.config.ts gives the Worker under test.
declare global {
  namespace Cloudflare {
    interface Env extends SluiceEnv {
      DATABASE_URL: string;
      UPSTASH_REDIS_REST_URL: string;
      UPSTASH_REDIS_REST_TOKEN: string;
      MOCK_BASE_URL: string;
      /** server-everything from npm, over Streamable HTTP (tests/setup/everything.ts). */
      EVERYTHING_MCP_URL: string;
      ADMIN_KEY: string;
      SECOND_INSTANCE: Fetcher;
      REQUEST_LOGS: R2Bucket;
      /** The fuzz suite's seed and number of requests, when not the defaults. */
      SLUICE_FUZZ_SEED?: string;
      SLUICE_FUZZ_RUNS?: string;
    }
  }
}
