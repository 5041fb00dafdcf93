// The shapes credentials have: provider keys by their prefixes, cloud keys,
// tokens, private key blocks. One pattern finds them all in a single pass;
// what it finds must then look generated (a digit, no long run of one
// character), so placeholders (`sk-xxxx…`, `Bearer YOUR_TOKEN`) and CSS
// class names that share a prefix are passed over.

interface SecretShape {
  source: string;
  /** False for key material whose text may repeat a character (base64 of zeros in a PEM block). */
  generated: boolean;
}

const shape = (source: string, generated = true): SecretShape => ({ source, generated });

const PRIVATE_KEY_LABEL = "(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----";

const SHAPES: readonly SecretShape[] = [
  shape("\\bsk-ant-[A-Za-z0-9_-]{20,}"), // Anthropic
  shape("\\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), // OpenAI, and the many that copy its shape (OpenRouter, DeepSeek)
  shape("\\b[sr]k_(?:live|test)_[A-Za-z0-9]{20,}"), // Stripe secret and restricted keys
  shape("\\bAIza[0-9A-Za-z_-]{35}\\b"), // Google API keys
  shape("\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b"), // AWS access key ids
  shape("\\bgh[pousr]_[A-Za-z0-9]{36,}\\b"), // GitHub tokens
  shape("\\bgithub_pat_[A-Za-z0-9_]{60,}"), // GitHub fine-grained tokens
  shape("\\bglpat-[A-Za-z0-9_-]{20,}"), // GitLab
  shape("\\bxox[abposr]-[A-Za-z0-9-]{10,}"), // Slack
  shape("\\bgsk_[A-Za-z0-9]{40,}"), // Groq
  shape("\\bhf_[A-Za-z0-9]{30,}"), // Hugging Face
  shape("\\bxai-[A-Za-z0-9]{40,}"), // xAI
  shape("\\br8_[A-Za-z0-9]{30,}"), // Replicate
  shape("\\bpplx-[A-Za-z0-9]{40,}"), // Perplexity
  shape("\\bnpm_[A-Za-z0-9]{36}\\b"), // npm
  shape("\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}"), // JWTs (header and claims are JSON objects)
  // A private key block, to its end or, pasted without one, over its base64 lines; a header alone is prose about keys.
  shape(`-----BEGIN ${PRIVATE_KEY_LABEL}(?:[\\s\\S]*?-----END ${PRIVATE_KEY_LABEL}|(?:\\r?\\n[A-Za-z0-9+/=]{16,})+)`, false),
  shape("\\b[Bb]earer [A-Za-z0-9._~+/-]{20,}=*"), // bearer tokens in pasted headers
];

/** Every shape, each its own capturing group, so a match says which it is. */
export const SECRET_PATTERN = new RegExp(SHAPES.map((s) => `(${s.source})`).join("|"), "g");

const looksGenerated = (text: string) => /\d/.test(text) && !/(.)\1{3}/.test(text);

/**
 * An AWS secret key is 40 characters of base64 like many others: found only
 * where it is named (`aws_secret_access_key = …`). Its own pattern, run only
 * on text that says "secret", keeps the one pass above free of a lookbehind
 * tried at every character.
 */
const AWS_SECRET =
  /\b(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|SecretAccessKey|secretAccessKey|aws_secret_key|AWS_SECRET_KEY)["']?[ \t]{0,3}[:=][ \t]{0,3}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/g;

/** Where named AWS secret keys are in a text: the value alone, not its name. */
export function awsSecretSpans(text: string): [number, number][] {
  if (!/secret/i.test(text)) return [];
  const spans: [number, number][] = [];
  for (const match of text.matchAll(AWS_SECRET)) {
    const end = match.index + match[0].length;
    spans.push([end - (match[1]?.length ?? 0), end]);
  }
  return spans;
}

/** Whether a match of SECRET_PATTERN is a credential, not a placeholder or a name sharing its prefix. */
export function secretMatchValid(match: RegExpMatchArray): boolean {
  for (let i = 1; i < match.length; i++) {
    if (match[i] !== undefined) return !SHAPES[i - 1]?.generated || looksGenerated(match[i] as string);
  }
  return false;
}
