// One request's usage, as the ledger keeps it.
import type { Principal } from "../auth/principal.ts";
import type { ClientFormat } from "../formats/index.ts";
import type { TokenCounts } from "./prices.ts";

export interface UsageRecord extends TokenCounts {
  requestId: string;
  principal: Principal;
  provider: string;
  model: string;
  upstreamModel: string;
  clientFormat: ClientFormat;
  costUsd: number;
  latencyMs: number;
  ttfbMs: number | null;
  status: number;
  error: string | null;
  streamed: boolean;
  attempts: number;
  metadata: Record<string, unknown>;
}
