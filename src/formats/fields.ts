// Fields every client format parses the same way: model names and the
// numbers that steer generation. Loose where providers are loose, strict where
// a wrong value would be forwarded upstream or meter wrongly.
import { badRequest, firstIssue } from "../http/errors.ts";
import * as z from "../zod.ts";

/** "is required" when absent, "must be a <kind>" when of the wrong type. */
const typed = (kind: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : `must be ${kind}`),
});

/** Control characters break headers and the ledger (Postgres takes no NUL); a name has no use for them. */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** A string schema that refuses control characters, for text bound for headers, logs or Postgres. */
export const withoutControl = (schema: z.ZodMiniString) =>
  schema.check(z.refine((text) => !hasControl(text), { message: "must not contain control characters" }));

/** A name that routes, labels or lands in a header or the ledger: bounded, no control characters. */
export const boundedName = (max: number) =>
  withoutControl(
    z
      .string(typed("a string"))
      .check(z.minLength(1, { message: "is required" }), z.maxLength(max, { message: `must be at most ${max} characters` })),
  );

export const modelName = boundedName(256);

/** A provider the request names (`provider`, `x-sluice-provider`). */
export const providerName = boundedName(64);

/** A name from outside a JSON body (a path, a header), held to the same rule; a 400 naming where it came from. */
export function checkedName(schema: z.ZodMiniType<string>, value: string, param: string): string {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw badRequest(`Invalid \`${param}\`: ${firstIssue(parsed.error).message}`, param);
}

export const optionalText = z.optional(z.string(typed("a string")));

export const flag = z.nullish(z.boolean(typed("true or false")));

export const positiveInt = z
  .number(typed("a number"))
  .check(z.int({ message: "must be a whole number" }), z.positive({ message: "must be positive" }));

/** A sampling parameter within [min, max]. */
export const sampling = (min: number, max: number) =>
  z.nullish(
    z
      .number(typed("a number"))
      .check(z.gte(min, { message: `must be at least ${min}` }), z.lte(max, { message: `must be at most ${max}` })),
  );

/** A JSON Schema, as tools and structured outputs carry them. */
export const jsonSchema = z.record(z.string(), z.unknown(), typed("a JSON object"));

/** Stop sequences: one, or several. */
export const stopSequences = z.nullish(z.union([z.string(), z.array(z.string())], typed("a string or an array of strings")));

/** What is Sluice's own (the `provider` field) comes out of a body forwarded as sent; everything else stays. */
export function withoutProvider<Body extends { provider?: string | undefined }>(body: Body): Omit<Body, "provider"> {
  if (body.provider === undefined) return body;
  const { provider: _provider, ...rest } = body;
  return rest;
}
