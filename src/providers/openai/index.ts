// OpenAI, or any server that speaks its API (OPENAI_BASE_URL).
import { apiKeyEnv, openaiCompatible } from "./compatible.ts";
import { OPENAI_PRICES, openaiToolFees } from "./prices.ts";

export const openaiProvider = openaiCompatible({
  kind: "openai",
  env: apiKeyEnv("OPENAI"),
  defaultBaseUrl: "https://api.openai.com/v1",
  models: /^(gpt-|o1|o3|o4|chatgpt-|codex-|text-embedding-)/,
  responses: true,
  prices: OPENAI_PRICES,
  toolFees: openaiToolFees,
});
