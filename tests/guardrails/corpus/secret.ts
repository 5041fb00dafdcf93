// Credentials by their shapes, and code and prose that merely talk about
// keys and tokens. Token bodies are made up from a seed, never real. A
// bearer token's span includes the word `Bearer`, as the header pasted has it.
import { labelled, randomish } from "./make.ts";

const HEX = "0123456789abcdef";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const jwt = (seed: number) => `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ${randomish(40, seed)}.${randomish(43, seed + 1)}`;
const pemBody = (seed: number) => [0, 1, 2].map((i) => randomish(64, seed + i, B64)).join("\n");

const KEYS = [
  `sk-${randomish(48, 1)}`, // OpenAI, older
  `sk-proj-${randomish(64, 2)}_${randomish(40, 3)}`, // OpenAI project keys
  `sk-svcacct-${randomish(60, 4)}`,
  `sk-ant-api03-${randomish(86, 5)}-${randomish(6, 6)}AA`, // Anthropic
  `sk-ant-admin01-${randomish(80, 7)}`,
  `sk-or-v1-${randomish(64, 8, HEX)}`, // OpenRouter
  `AIza${randomish(35, 9)}`, // Google
  `AKIA${randomish(16, 10, UPPER)}`, // AWS access key ids
  `ASIA${randomish(16, 11, UPPER)}`,
  "AKIAIOSFODNN7EXAMPLE",
  `ghp_${randomish(36, 12)}`, // GitHub
  `gho_${randomish(36, 13)}`,
  `ghs_${randomish(36, 14)}`,
  `github_pat_11${randomish(20, 15, UPPER)}_${randomish(59, 16)}`,
  `glpat-${randomish(20, 17)}`, // GitLab
  `xoxb-${randomish(11, 18, "0123456789")}-${randomish(13, 19, "0123456789")}-${randomish(24, 20)}`, // Slack
  `xoxp-${randomish(11, 21, "0123456789")}-${randomish(12, 22, "0123456789")}-${randomish(32, 23, HEX)}`,
  `sk_live_${randomish(24, 24)}`, // Stripe secret and restricted keys
  `rk_live_${randomish(24, 25)}`,
  `sk_test_${randomish(24, 26)}`,
  `gsk_${randomish(52, 27)}`, // Groq
  `hf_${randomish(34, 28)}`, // Hugging Face
  `xai-${randomish(80, 29)}`, // xAI
  `r8_${randomish(37, 30)}`, // Replicate
  `npm_${randomish(36, 31)}`, // npm
  `pplx-${randomish(48, 32)}`, // Perplexity
  jwt(33),
  jwt(35),
  `-----BEGIN RSA PRIVATE KEY-----\n${pemBody(37)}\n-----END RSA PRIVATE KEY-----`,
  `-----BEGIN PRIVATE KEY-----\n${pemBody(40)}\n-----END PRIVATE KEY-----`,
  `-----BEGIN EC PRIVATE KEY-----\n${pemBody(43)}\n-----END EC PRIVATE KEY-----`,
  `-----BEGIN OPENSSH PRIVATE KEY-----\n${pemBody(46)}\n-----END OPENSSH PRIVATE KEY-----`,
  `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${pemBody(49)}\n-----END ENCRYPTED PRIVATE KEY-----`,
  `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${pemBody(52)}\n-----END PGP PRIVATE KEY BLOCK-----`,
  `Bearer ${randomish(40, 55)}`,
  `Bearer ${jwt(56)}`,
  `Bearer ${randomish(32, 58, HEX)}`,
];

const POSITIVES = [
  ...KEYS.map((key) => `here it is:\n⟦${key}⟧\nthanks`),
  `OPENAI_API_KEY=⟦sk-proj-${randomish(48, 60)}⟧`,
  `{"apiKey": "⟦AIza${randomish(35, 61)}⟧"}`,
  `curl -H "Authorization: ⟦Bearer ${randomish(36, 62)}⟧" https://api.example.com`,
  `client = OpenAI(api_key="⟦sk-${randomish(48, 63)}⟧")`,
  `aws_access_key_id = ⟦AKIA${randomish(16, 64, UPPER)}⟧`,
  `aws_secret_access_key = ⟦${randomish(40, 65, B64)}⟧`,
  `AWS_SECRET_ACCESS_KEY=⟦${randomish(40, 66, B64)}⟧`,
  `the key was pasted without its end:\n⟦-----BEGIN RSA PRIVATE KEY-----\n${pemBody(67)}⟧`,
  `token: ⟦${jwt(70)}⟧ (expires soon)`,
];

const NEAR_MISSES = [
  "const key = process.env.API_KEY;",
  "const apiKey = process.env.OPENAI_API_KEY ?? '';",
  'headers: { "x-api-key": key, "anthropic-version": "2023-06-01" }',
  "for key, value in settings.items(): print(key)",
  "type Keys = keyof typeof config;",
  'private_key_path = "/etc/ssl/private/server.key"',
  "the sk- prefix marks a secret key",
  "task-management",
  "risk-assessment-matrix-for-the-quarterly-review",
  'class="sk-folding-cube-animation-wrapper"',
  "AKIA is how AWS ids start",
  "ASIA-PACIFIC-REGION",
  "-----BEGIN PUBLIC KEY-----",
  `-----BEGIN PUBLIC KEY-----\n${pemBody(80)}\n-----END PUBLIC KEY-----`,
  `-----BEGIN CERTIFICATE-----\n${pemBody(83)}\n-----END CERTIFICATE-----`,
  "-----BEGIN PRIVATE KEY----- is the line a PEM key starts with",
  `ssh-rsa AAAAB3NzaC1yc2E${randomish(60, 86, B64)} deploy@build`,
  `pk_live_${randomish(24, 87)}`,
  "Bearer token goes in the header",
  "Authorization: Bearer YOUR_ACCESS_TOKEN_GOES_HERE",
  "Authorization: Bearer $TOKEN",
  "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "sk-your-openai-api-key-goes-here",
  "AKIAXXXXXXXXXXXXXXXX",
  "monkey keyboard turkey",
  "commit e83c5163316f89bfbde7d9ab23ca2e25604af290",
  "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "id 123e4567-e89b-12d3-a456-426614174000",
  `data:image/png;base64,iVBORw0KGgo${randomish(60, 88, B64)}`,
  "eyJmb28iOiJiYXIifQ== is base64 for a small JSON object",
  "hf_hub_download(repo_id=repo)",
  "ghp_ tokens are GitHub's personal tokens",
  "use the bearer scheme (RFC 6750)",
];

export const SECRET = [...POSITIVES, ...NEAR_MISSES].map((text) => labelled("secret", text));
