// What every request carries through the Hono app.
import type { Context } from "hono";
import type { Principal } from "./auth/principal.ts";
import type { Permission } from "./auth/roles.ts";
import type { Config, Env } from "./config/index.ts";
import type { ErrorShape } from "./formats/index.ts";
import type { BodySource } from "./http/body-text.ts";
import type { Catalog } from "./routing/catalog.ts";
import type { Services } from "./services.ts";
import type { Observation } from "./telemetry/observation.ts";

export interface GatewayVariables {
  requestId: string;
  /** performance.now() when the request arrived. */
  startedAt: number;
  /** The error shape the caller reads. */
  format: ErrorShape;
  config: Config;
  services: Services;
  principal: Principal;
  /** The permissions the route declared (any one of them); set once the caller passed them. */
  permission?: readonly Permission[];
  /** The route takes a credential in `?key=` (Gemini's REST routes); no other does. */
  queryCredential?: boolean;
  /** The route takes a credential in a WebSocket subprotocol (`/v1/realtime`, for browsers); no other does. */
  protocolCredential?: boolean;
  /** The request's trace and metrics; undefined when neither is configured (or the trace is not sampled and metrics are off). */
  observation?: Observation;
  /** The gateway call's parsed body, for its request log. */
  requestBody?: unknown;
  /** The JSON body the route parsed, with the client's text and bytes it came from (`parseJsonBody`). */
  bodySource?: BodySource;
  /** Where this request's log goes, when the caller's calls are logged. */
  requestLog?: string;
  /** The credential the last upstream attempt was sent with: kept out of request logs and span content as configured secrets are. */
  callSecret?: string;
  /** The catalog as this request reads it, when it began reading before it needed it (`prefetchCatalog`). */
  catalog?: Promise<Catalog>;
}

export type GatewayEnv = { Bindings: Env; Variables: GatewayVariables };
export type GatewayContext = Context<GatewayEnv>;
