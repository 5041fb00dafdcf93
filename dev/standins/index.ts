// Starts whichever local stand-ins a set of env vars still lacks, and says how to reach them.
import { MOCK_GOOGLE_CLIENT_ID, MOCK_GOOGLE_CLIENT_SECRET } from "../mock-upstream/credentials.ts";
import { type MockUpstream, startMockUpstream } from "../mock-upstream/server.ts";
import { type NeonStandIn, startNeonStandIn } from "./neon-http.ts";
import { startUpstashStandIn, type UpstashStandIn } from "./upstash-rest.ts";

export interface StandIns {
  neon?: NeonStandIn;
  upstash?: UpstashStandIn;
  mock?: MockUpstream;
  /** The env vars that point the Worker at them. */
  vars: Record<string, string>;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** A data dir for PGlite, or a postgres:// URL for a real server; memory when absent. */
  postgres?: string;
  /** A redis:// URL for a real server; embedded when absent. */
  redis?: string;
  ports?: { neon?: number; upstash?: number; mock?: number };
}

/** Starts each stand-in whose variable `existing` does not already set. */
export async function startStandIns(existing: Record<string, string | undefined>, options: StandInOptions): Promise<StandIns> {
  const vars: Record<string, string> = {};
  const started: StandIns = { vars, close: async () => undefined };
  if (!existing.DATABASE_URL) {
    started.neon = await startNeonStandIn({ target: options.postgres, port: options.ports?.neon });
    vars.DATABASE_URL = started.neon.url;
  }
  if (!existing.UPSTASH_REDIS_REST_URL) {
    started.upstash = await startUpstashStandIn({ target: options.redis, port: options.ports?.upstash });
    vars.UPSTASH_REDIS_REST_URL = started.upstash.url;
    vars.UPSTASH_REDIS_REST_TOKEN = started.upstash.token;
  }
  if (!existing.MOCK_BASE_URL) {
    started.mock = await startMockUpstream({ port: options.ports?.mock });
    vars.MOCK_BASE_URL = `${started.mock.url}/v1`;
    // Workers AI without the `AI` binding (which needs a Cloudflare login): its REST API, played by the mock.
    if (!existing.WORKERS_AI_BASE_URL && !existing.WORKERS_AI_ACCOUNT_ID) vars.WORKERS_AI_BASE_URL = `${started.mock.url}/ai`;
    // Users can connect a Google account locally too: the mock plays Google's OAuth server.
    if (!existing.GOOGLE_OAUTH_CLIENT_ID) {
      const google = `${started.mock.url}/__mock/google`;
      Object.assign(vars, {
        GOOGLE_OAUTH_CLIENT_ID: MOCK_GOOGLE_CLIENT_ID,
        GOOGLE_OAUTH_CLIENT_SECRET: MOCK_GOOGLE_CLIENT_SECRET,
        GOOGLE_OAUTH_BASE_URL: google,
        GOOGLE_TOKEN_URL: `${google}/token`,
        GOOGLE_REVOKE_URL: `${google}/revoke`,
        // Connected accounts' calls: the mock's Gemini API and its Code Assist, which take the tokens it issued.
        GOOGLE_GEMINI_API_URL: started.mock.url,
        GOOGLE_CODE_ASSIST_URL: started.mock.url,
      });
    }
  }
  started.close = async () => {
    await Promise.all([started.neon?.close(), started.upstash?.close(), started.mock?.close()]);
  };
  return started;
}
