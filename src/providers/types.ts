// What a provider is to Sluice: one descriptor (`providers/<kind>/`) saying
// which environment variables configure it, where it lives, which model
// names it serves and at what price, what a stored credential for it holds,
// and, per model, the wire formats it takes and how to send a request in
// each. Everything that lists providers (the config schema, routing by name,
// the admin API's kinds) is derived from the registry in `providers/index.ts`.

import type { Dialect, UpstreamCodec } from "../formats/types.ts";
import type { BodySource } from "../http/body-text.ts";
import type { Framing } from "../http/frames.ts";
import type { PriceList, ToolFees } from "../usage/prices.ts";
import type * as z from "../zod.ts";

/** Where to send and with what: the credential's text (an API key, or a JSON document for several parts). */
export interface ProviderSettings {
  baseUrl: string;
  secret?: string;
  /** The provider's API version, for those that take one (Gemini's path, Anthropic's header). */
  apiVersion?: string;
  /** `secret` is an OAuth access token (a user's own account), not an API key. */
  bearer?: boolean;
  /** Calls go to Google's Code Assist API (the Gemini CLI's) for this project, each wrapped as it wants them. */
  codeAssist?: { project: string };
  /** The region the operator set for the deployment (`eu-west-1`); where a credential names one too, this one is called. */
  region?: string;
}

export interface EndpointCall {
  settings: ProviderSettings;
  upstreamModel: string;
  /** A body in the endpoint's dialect: as the client sent it, or encoded from the canonical form. */
  body: Record<string, unknown>;
  /** For a body forwarded as the client sent it: the client's text, so what is unchanged is not serialized again. */
  source?: BodySource;
  stream: boolean;
  requestId: string;
  /** The client's own request headers, for endpoints that pass some along. */
  clientHeaders: Headers;
  /** A method other than generation, for endpoints that list it in `methods`; generation when absent. */
  method?: EndpointMethod;
}

/**
 * Methods beside generation some endpoints serve on the same model: Gemini's
 * embeddings, token counts where a provider has them, Google's `predict`
 * (Imagen).
 */
export type EndpointMethod = "countTokens" | "embedContent" | "batchEmbedContents" | "predict";

/** One wire format a provider takes: how a request in it is sent, and how its answers are framed and read. */
export interface Endpoint {
  readonly dialect: Dialect;
  readonly framing: Framing;
  readonly codec: UpstreamCodec;
  /** The upstream request: the URL, the authentication (signing, token exchange), what the provider wants changed. */
  request(call: EndpointCall): Promise<Request>;
  /**
   * For an API that wraps its answers (Code Assist's `{response: …}`): what
   * takes a whole answer, or one stream frame's JSON, out of its wrapping.
   * Undefined when the answers are the dialect's own. `call.body` is the
   * client's body as forwarded (for an answer shaped by what it asked).
   */
  unwrap?(
    settings: ProviderSettings,
    call?: { upstreamModel: string; body?: Record<string, unknown> },
  ): ((answer: unknown) => unknown) | undefined;
  /** The methods beside generation it serves (`EndpointCall.method`), each in its own dialect's body and answer. */
  readonly methods?: ReadonlySet<EndpointMethod>;
  /**
   * Where the request goes when not over the network: a binding of the
   * Worker's (Workers AI's `AI`), answered as a Response. Absent: `fetch`.
   */
  send?(request: Request, context: { bindings: Readonly<Record<string, unknown>>; signal: AbortSignal }): Promise<Response>;
}

/** OpenAI's media APIs, by their path under an OpenAI-style base URL. */
export type MediaApi =
  | "audio/transcriptions"
  | "audio/translations"
  | "audio/speech"
  | "images/generations"
  | "images/edits"
  | "moderations";

export interface MediaCall {
  settings: ProviderSettings;
  api: MediaApi;
  /** Multipart fields (an upload) or a JSON body, its model already the upstream's. */
  body: FormData | Record<string, unknown>;
  requestId: string;
  clientHeaders: Headers;
}

/** How a provider serves OpenAI's media APIs as OpenAI shapes them. */
export interface MediaEndpoints {
  readonly apis: ReadonlySet<MediaApi>;
  request(call: MediaCall): Request;
}

export type EnvVars = Readonly<Record<string, string | undefined>>;

export interface ProviderEnv {
  /** The variables it reads, for the config schema and its documentation. */
  readonly vars: readonly { readonly name: string; readonly url?: boolean }[];
  /** The credential the Worker's own variables give, as the credential's text. */
  secret(vars: EnvVars): string | undefined;
  baseUrl(vars: EnvVars): string | undefined;
  /** The API version the variables pin (Azure's `api-version`), for those that take one. */
  apiVersion?(vars: EnvVars): string | undefined;
  /** The region the variables pin (Bedrock's `AWS_REGION`), for those whose endpoint follows one. */
  region?(vars: EnvVars): string | undefined;
}

export interface ProviderDescriptor<Kind extends string = string> {
  readonly kind: Kind;
  readonly env?: ProviderEnv;
  readonly defaultBaseUrl?: string;
  /** The base URL follows from the credential (a region, a location) unless one is set. */
  readonly baseUrlFromCredential?: boolean;
  /** The Worker binding it runs through (Workers AI's `AI`): configured when the Worker has it, off when not. */
  readonly binding?: string;
  /** Model names sent to it when no catalog entry says otherwise. */
  readonly models?: RegExp;
  /** List prices, per million tokens, by exact model id (usage/prices.ts says how versions find theirs). */
  readonly prices?: PriceList;
  /** What it charges per call of the built-in tools it runs (OpenAI's web search…), for a model. */
  readonly toolFees?: (upstreamModel: string) => ToolFees;
  /** Other providers whose lists price the models it serves (Vertex AI serves Google's and Anthropic's). */
  readonly pricedLike?: readonly string[];
  /** Models listed (`GET /v1/models`) when it is configured, beyond the priced ones. */
  readonly listed?: readonly string[];
  /**
   * A credential of several parts (Bedrock's key id, secret and region), as
   * the admin API takes it in `credential`: parsed, then sealed as JSON text,
   * which is what its endpoints get as `secret`. Absent: the credential is one
   * string, `api_key`.
   */
  readonly credential?: {
    readonly schema: z.ZodMiniType<Record<string, unknown>>;
    /** A few characters listings may show (never of the secret part). */
    hint(parts: Record<string, unknown>): string;
    /**
     * URLs inside the credential that the gateway will call (a token
     * endpoint), by field. Each must be on one of `origins`, or on the
     * provider's base URL as the operator configured it: a credential a
     * user stores must not point the gateway at any other host.
     */
    urls?(parts: Record<string, unknown>): { field: string; url: string }[];
    readonly origins?: readonly string[];
  };
  /** OpenAI's media APIs (audio, images, moderation), where it serves them as OpenAI does. */
  readonly media?: MediaEndpoints;
  /** OpenAI's Realtime API, where it serves it: the WebSocket upgrade request for a model's session. */
  readonly realtime?: { request(settings: ProviderSettings, upstreamModel: string): Request };
  /** The wire formats it takes for a model; translated requests use the first. */
  endpoints(upstreamModel: string): readonly Endpoint[];
}
