// The one error type thrown anywhere in Sluice; rendered once per client format.

export type ErrorKind =
  | "invalid_request"
  | "authentication"
  | "permission"
  | "not_found"
  | "request_too_large"
  | "rate_limit"
  | "upstream"
  | "unavailable"
  | "timeout"
  | "internal";

export class GatewayError extends Error {
  readonly status: number;
  readonly kind: ErrorKind;
  /** A machine-readable code, e.g. `model_not_found`. */
  readonly code?: string;
  /** The request field at fault, when there is one. */
  readonly param?: string;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    kind: ErrorKind,
    message: string,
    options: { code?: string; param?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = status;
    this.kind = kind;
    this.code = options.code;
    this.param = options.param;
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (message: string, param?: string, code = "invalid_request") =>
  new GatewayError(400, "invalid_request", message, { param, code });

/** What a schema found wrong with a value, as a parse reports it. */
export interface SchemaIssues {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}

/**
 * The first problem a schema found: the dotted path of the field it is in
 * (below `under`, undefined when it is the value itself) and what is wrong.
 */
export function firstIssue(error: SchemaIssues, under: readonly PropertyKey[] = []): { param?: string; message: string } {
  const issue = error.issues[0];
  return { param: [...under, ...(issue?.path ?? [])].join(".") || undefined, message: issue?.message ?? "is not valid" };
}

export const unauthorized = (message: string) => new GatewayError(401, "authentication", message, { code: "invalid_api_key" });

export const modelNotFound = (model: string) =>
  new GatewayError(404, "not_found", `The model \`${model}\` does not exist or is not served here.`, {
    code: "model_not_found",
    param: "model",
  });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A value as an HTTP header may carry it: printable ASCII as it is, anything
 * else percent-encoded (a model or field name in another script, or with a
 * control character, would otherwise fail the whole response).
 */
export function headerValue(text: string): string {
  // A lone surrogate (from a hostile model name, say) becomes U+FFFD: encodeURIComponent throws on it.
  return /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text.replace(LONE_SURROGATE, "\uFFFD"));
}
