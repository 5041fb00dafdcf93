// The OpenAPI 3.1 document, generated from the app itself: every route Hono
// knows, with what its `doc()` declares (summary, body and query schemas,
// turned into JSON Schema by zod) and what its `endpoint()` declares (that it
// needs a caller, and the error shape it answers in).
import type { Hono } from "hono";
import type { Permission } from "../auth/roles.ts";
import type { GatewayEnv } from "../context.ts";
import type { ErrorShape } from "../formats/types.ts";
import { ENDPOINT, type EndpointOptions, ERROR_SHAPE, PERMISSION } from "../routes/endpoint.ts";
import { VERSION } from "../version.ts";
import * as z from "../zod.ts";
import { DOC, type RouteDoc } from "./doc.ts";

type JsonSchema = Record<string, unknown>;

/**
 * Request schemas as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as clients
 * send them. A schema defined once and referred to (a recursive one, named
 * with `.meta({ id })`) goes into the document's components, where its
 * references can reach it.
 */
const schemaOf = (schema: z.ZodMiniType, components: Record<string, JsonSchema>): JsonSchema => {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-2020-12" });
  const {
    $schema: _dialect,
    $defs,
    ...rest
  } = JSON.parse(JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema & {
    $defs?: Record<string, JsonSchema>;
  };
  Object.assign(components, $defs);
  return rest;
};

const ERROR_SCHEMAS: Record<ErrorShape, JsonSchema> = {
  openai: {
    type: "object",
    properties: {
      error: {
        type: "object",
        properties: {
          message: { type: "string" },
          type: { type: "string" },
          param: { type: ["string", "null"] },
          code: { type: ["string", "null"] },
        },
        required: ["message", "type"],
      },
    },
    required: ["error"],
  },
  "openai-responses": { $ref: "#/components/schemas/openai_error" },
  anthropic: {
    type: "object",
    properties: {
      type: { const: "error" },
      error: {
        type: "object",
        properties: { type: { type: "string" }, message: { type: "string" } },
        required: ["type", "message"],
      },
    },
    required: ["type", "error"],
  },
  gemini: {
    type: "object",
    properties: {
      error: {
        type: "object",
        properties: { code: { type: "integer" }, message: { type: "string" }, status: { type: "string" } },
        required: ["code", "message", "status"],
      },
    },
    required: ["error"],
  },
  cohere: {
    type: "object",
    properties: { id: { type: "string" }, message: { type: "string" } },
    required: ["message"],
  },
  oauth: {
    type: "object",
    properties: { error: { type: "string" }, error_description: { type: "string" } },
    required: ["error"],
  },
  mcp: {
    type: "object",
    properties: {
      jsonrpc: { const: "2.0" },
      id: { type: ["string", "integer", "null"] },
      error: {
        type: "object",
        properties: { code: { type: "integer" }, message: { type: "string" }, data: { type: "object" } },
        required: ["code", "message"],
      },
    },
    required: ["jsonrpc", "id", "error"],
  },
  // The exception's name is in the `x-amzn-errortype` header.
  bedrock: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
};

const errorRef = (shape: ErrorShape) => `#/components/schemas/${shape === "openai-responses" ? "openai" : shape}_error`;

/** Hono's `:id` and `:id{.+}` as OpenAPI's `{id}`. */
const openapiPath = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");

const tagOf = (path: string) =>
  path.startsWith("/admin") || path === "/spend/logs" || path.startsWith("/global/")
    ? "admin"
    : path.startsWith("/api") || path.startsWith("/auth")
      ? "app"
      : path.startsWith("/v1/messages")
        ? "anthropic"
        : path.startsWith("/v1beta") || path.startsWith("/v1alpha") || path.startsWith("/v1/models/")
          ? "gemini"
          : path.startsWith("/v1")
            ? "openai"
            : path.startsWith("/v2/")
              ? "cohere"
              : path.startsWith("/mcp")
                ? "mcp"
                : "gateway";

interface Collected {
  method: string;
  path: string;
  doc?: RouteDoc;
  endpoint?: EndpointOptions;
  /** What an operator needs to call it (any one of these), declared by `permits()` or the route's `endpoint()`. */
  permission?: readonly Permission[];
  /** The shape its errors take where no `endpoint()` says it: an `errorsIn()` over its path. */
  errors?: ErrorShape;
}

/** Whether a prefix a middleware is mounted on (`/mcp/*`) covers a path; it covers `/mcp` itself too, as Hono matches it. */
const covers = (prefix: string, path: string) =>
  prefix.endsWith("/*") && (path.startsWith(prefix.slice(0, -1)) || path === prefix.slice(0, -2));

/** Every route of the app once, with what its middleware declares. */
export function collectRoutes(app: Hono<GatewayEnv>): Collected[] {
  const byKey = new Map<string, Collected>();
  const declared = new Map<string, EndpointOptions>();
  const shapes = new Map<string, ErrorShape>();
  for (const route of app.routes) {
    const handler = route.handler as unknown as Record<symbol, unknown>;
    const options = handler[ENDPOINT] as EndpointOptions | undefined;
    // `adminRoutes.use(endpoint(...))` declares a whole prefix; routes under it inherit it.
    if (options && route.method === "ALL") declared.set(route.path, options);
    const shape = handler[ERROR_SHAPE] as ErrorShape | undefined;
    if (shape && route.method === "ALL") shapes.set(route.path, shape);
    if (route.method === "ALL") continue;
    const key = `${route.method} ${route.path}`;
    const entry = byKey.get(key) ?? { method: route.method, path: route.path };
    if (options) entry.endpoint = options;
    if (handler[DOC]) entry.doc = handler[DOC] as RouteDoc;
    if (handler[PERMISSION]) entry.permission = handler[PERMISSION] as Permission[];
    if (Array.isArray(options?.permission)) entry.permission = options.permission;
    byKey.set(key, entry);
  }
  for (const entry of byKey.values()) {
    for (const [prefix, shape] of shapes) if (covers(prefix, entry.path)) entry.errors = shape;
    if (entry.endpoint) continue;
    for (const [prefix, options] of declared) if (covers(prefix, entry.path)) entry.endpoint = options;
  }
  return [...byKey.values()];
}

function parametersOf(route: Collected, path: string, components: Record<string, JsonSchema>): JsonSchema[] {
  const parameters: JsonSchema[] = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const query = route.doc?.query ? schemaOf(route.doc.query, components) : undefined;
  const properties = (query?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((query?.required as string[] | undefined) ?? []);
  for (const [name, schema] of Object.entries(properties)) {
    parameters.push({ name, in: "query", required: required.has(name), schema });
  }
  return parameters;
}

function operationOf(route: Collected, path: string, components: Record<string, JsonSchema>): JsonSchema {
  const shape = route.endpoint?.errors;
  const response = route.doc?.response ?? { description: "OK" };
  const content: JsonSchema = response.text
    ? { [response.text]: { schema: { type: "string" } } }
    : response.audio
      ? { "audio/*": { schema: { type: "string", format: "binary" } } }
      : { "application/json": { schema: { type: "object" } } };
  if (response.streams) content["text/event-stream"] = { schema: { type: "string", description: "server-sent events" } };
  if (response.csv) content["text/csv"] = { schema: { type: "string" } };
  const errors = shape
    ? Object.fromEntries(
        [
          ["400", "Malformed JSON, or a field that is wrong, named in the message"],
          ["401", "No credential, or one that is not valid"],
          ["403", "Not allowed for this caller"],
          ["404", "No such model or object"],
          ...(route.doc?.multipart ? [["413", "The upload is larger than this endpoint takes"]] : []),
          ["429", "A limit was reached; Retry-After says when to try again"],
        ].map(([status, description]) => [
          status,
          { description, content: { "application/json": { schema: { $ref: errorRef(shape) } } } },
        ]),
      )
    : {};
  return {
    operationId: `${route.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, next: string | undefined) => (next ?? "").toUpperCase())}`,
    summary: route.doc?.summary ?? `${route.method} ${path}`,
    ...(route.doc?.description && { description: route.doc.description }),
    tags: [tagOf(path)],
    ...(route.endpoint
      ? {
          security: [
            { bearer: [] },
            { apiKeyHeader: [] },
            { googApiKey: [] },
            ...(route.endpoint.queryCredential ? [{ queryKey: [] }] : []),
          ],
        }
      : { security: route.doc?.bearer ? [{ bearer: [] }] : [] }),
    ...(route.permission && { "x-sluice-permission": route.permission }),
    parameters: parametersOf(route, path, components),
    ...(route.doc?.body && {
      requestBody: { required: true, content: { "application/json": { schema: schemaOf(route.doc.body, components) } } },
    }),
    ...(route.doc?.multipart && {
      requestBody: { required: true, content: { "multipart/form-data": { schema: schemaOf(route.doc.multipart, components) } } },
    }),
    responses: { "200": { description: response.description, content }, ...errors },
  };
}

export function openApiDocument(app: Hono<GatewayEnv>): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const defined: Record<string, JsonSchema> = {};
  for (const route of collectRoutes(app)) {
    const path = route.doc?.path ?? openapiPath(route.path);
    paths[path] ??= {};
    (paths[path] as Record<string, JsonSchema>)[route.method.toLowerCase()] = operationOf(route, path, defined);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Sluice",
      version: VERSION,
      description:
        "An edge gateway for LLM APIs: OpenAI, Anthropic and Gemini formats in, any provider out, with identity, limits, failover and metering.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    servers: [{ url: "/" }],
    tags: ["openai", "anthropic", "gemini", "cohere", "app", "admin", "mcp", "gateway"].map((name) => ({ name })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "A virtual key, a Sluice token, an end user's JWT, or the admin key",
        },
        apiKeyHeader: {
          type: "apiKey",
          in: "header",
          name: "x-api-key",
          description: "The same credential, as Anthropic's SDK sends it",
        },
        googApiKey: {
          type: "apiKey",
          in: "header",
          name: "x-goog-api-key",
          description: "The same credential, as Google's SDK sends it",
        },
        queryKey: {
          type: "apiKey",
          in: "query",
          name: "key",
          description: "The same credential in the URL, as Google's REST examples send it: taken on Gemini's routes only",
        },
      },
      schemas: {
        openai_error: ERROR_SCHEMAS.openai,
        anthropic_error: ERROR_SCHEMAS.anthropic,
        gemini_error: ERROR_SCHEMAS.gemini,
        cohere_error: ERROR_SCHEMAS.cohere,
        mcp_error: ERROR_SCHEMAS.mcp,
        bedrock_error: ERROR_SCHEMAS.bedrock,
        ...defined,
      },
    },
  };
}
