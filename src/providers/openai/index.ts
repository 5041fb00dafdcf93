// OpenAI, or any server that speaks its API (OPENAI_BASE_URL).
import { apiKeyEnv, openaiCompatible } from "./compatible.ts";

export const openaiProvider = openaiCompatible({
  kind: "openai",
  env: apiKeyEnv("OPENAI"),
  defaultBaseUrl: "https://api.openai.com/v1",
  models: /^(gpt-|o1|o3|o4|chatgpt-|text-embedding-)/,
  responses: true,
  prices: {
    "gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
    "gpt-4o": { input: 2.5, output: 10, cachedInput: 1.25 },
    "gpt-4.1-nano": { input: 0.1, output: 0.4, cachedInput: 0.025 },
    "gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
    "gpt-4.1": { input: 2, output: 8, cachedInput: 0.5 },
    "gpt-5-nano": { input: 0.05, output: 0.4, cachedInput: 0.005 },
    "gpt-5-mini": { input: 0.25, output: 2, cachedInput: 0.025 },
    "gpt-5": { input: 1.25, output: 10, cachedInput: 0.125 },
    "o3-mini": { input: 1.1, output: 4.4, cachedInput: 0.55 },
    o3: { input: 2, output: 8, cachedInput: 0.5 },
    "o4-mini": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  },
});
