// The shapes credentials have: provider keys by their prefixes, cloud keys,
// tokens, private key blocks. One pattern finds them all in a single pass;
// what it finds must then look generated (a digit, no long run of one
// character), so placeholders (`sk-xxxx…`, `Bearer YOUR_TOKEN`) and CSS
// class names that share a prefix are passed over.

const PRIVATE_KEY_LABEL = "(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----";

/** Shapes that start a word; one `\b` before them all lets the engine skip most of a text's positions at once. */
const WORD_SHAPES: readonly string[] = [
  // Anthropic, OpenAI and the many that copy its shape (OpenRouter, DeepSeek), GitLab
  "(?:sk-ant-|sk-(?:proj-|svcacct-|admin-)?|glpat-)[A-Za-z0-9_-]{20,}",
  "[sr]k_(?:live|test)_[A-Za-z0-9]{20,}", // Stripe secret and restricted keys
  String.raw`AIza[0-9A-Za-z_-]{35}\b`, // Google API keys
  String.raw`(?:AKIA|ASIA)[0-9A-Z]{16}\b`, // AWS access key ids
  String.raw`(?:gh[pousr]_[A-Za-z0-9]{36,}\b|github_pat_[A-Za-z0-9_]{60,})`, // GitHub
  "xox[abposr]-[A-Za-z0-9-]{10,}", // Slack
  "(?:gsk_|hf_|r8_|xai-|pplx-)[A-Za-z0-9]{30,}", // Groq, Hugging Face, Replicate, xAI, Perplexity
  String.raw`npm_[A-Za-z0-9]{36}\b`, // npm
  String.raw`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`, // JWTs (header and claims are JSON objects)
  "[Bb]earer [A-Za-z0-9._~+/-]{20,}=*", // bearer tokens in pasted headers
];

// A private key block, to its end or, pasted without one, over its base64 lines; a header alone is prose about keys.
const PRIVATE_KEY = String.raw`-----BEGIN ${PRIVATE_KEY_LABEL}(?:[\s\S]*?-----END ${PRIVATE_KEY_LABEL}|(?:\r?\n[A-Za-z0-9+/=]{16,})+)`;

// The key block first: a pattern that opens with a literal is scanned for it, several times faster on prose.
export const SECRET_PATTERN = new RegExp(String.raw`${PRIVATE_KEY}|\b(?:${WORD_SHAPES.join("|")})`, "g");

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

/** Whether a match of SECRET_PATTERN is a credential, not a placeholder or a name sharing its prefix (key blocks' base64 may repeat). */
export const secretMatchValid = ([match]: RegExpMatchArray): boolean => match.startsWith("-----") || looksGenerated(match);
