// AWS Signature Version 4, checked the way AWS checks it: the canonical
// request rebuilt from what arrived (method, path with each segment encoded
// again, sorted query, the signed headers, the payload's hash), the string
// to sign, the signing key derived from the secret by date, region and
// service. Written from AWS's documentation for the mock upstream, apart from
// the library the gateway signs with, so one checks the other.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding, as SigV4 wants it: everything but unreserved characters. */
const uriEncode = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

export interface SignedRequest {
  method: string;
  /** The path and query as they came on the request line. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SignatureParts {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

export function signatureParts(authorization: string | undefined): SignatureParts | undefined {
  const match = AUTHORIZATION.exec(authorization ?? "");
  if (!match) return undefined;
  const [, accessKeyId = "", date = "", region = "", service = "", headers = "", signature = ""] = match;
  return { accessKeyId, date, region, service, signedHeaders: headers.split(";"), signature };
}

function headerValue(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(",") : (value ?? "");
  return joined.trim().replace(/\s+/g, " ");
}

/** The signature a request with these parts should carry, under this secret. */
export function expectedSignature(request: SignedRequest, parts: SignatureParts, secret: string): string {
  const [rawPath = "/", rawQuery = ""] = request.url.split("?");
  // Each segment encoded once more than it came (S3 aside, which Bedrock is not).
  const path = rawPath
    .split("/")
    .map((segment) => uriEncode(segment))
    .join("/");
  const query = rawQuery
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const [name = "", value = ""] = pair.split("=");
      return [uriEncode(decodeURIComponent(name)), uriEncode(decodeURIComponent(value))] as const;
    })
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const lower = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const headers = parts.signedHeaders.map((name) => `${name}:${headerValue(lower[name])}\n`).join("");
  const payloadHash = headerValue(lower["x-amz-content-sha256"]) || sha256(request.body);
  const canonical = [request.method, path, query, headers, parts.signedHeaders.join(";"), payloadHash].join("\n");
  const scope = `${parts.date}/${parts.region}/${parts.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", headerValue(lower["x-amz-date"]), scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, parts.date), parts.region), parts.service), "aws4_request");
  return createHmac("sha256", key).update(stringToSign).digest("hex");
}

/** Why a request's signature does not hold, or undefined when it does. */
export function signatureProblem(
  request: SignedRequest,
  secrets: Record<string, string>,
  now = Date.now(),
): { status: number; type: string; message: string } | undefined {
  const authorization = headerValue(request.headers.authorization);
  const parts = signatureParts(authorization);
  if (!parts) return { status: 403, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" };
  const secret = secrets[parts.accessKeyId];
  if (!secret) {
    return {
      status: 403,
      type: "UnrecognizedClientException",
      message: "The security token included in the request is invalid.",
    };
  }
  const stamp = headerValue(request.headers["x-amz-date"]);
  const when = Date.parse(stamp.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
  if (!stamp.startsWith(parts.date) || !Number.isFinite(when) || Math.abs(now - when) > 5 * 60_000) {
    return { status: 403, type: "InvalidSignatureException", message: "Signature expired or not yet current." };
  }
  if (!parts.signedHeaders.includes("host") || !parts.signedHeaders.includes("x-amz-date")) {
    return { status: 403, type: "InvalidSignatureException", message: "Host and X-Amz-Date must be signed." };
  }
  const expected = Buffer.from(expectedSignature(request, parts, secret));
  const given = Buffer.from(parts.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return {
      status: 403,
      type: "InvalidSignatureException",
      message: "The request signature we calculated does not match the signature you provided.",
    };
  }
  return undefined;
}
