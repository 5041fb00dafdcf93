// Mistral: OpenAI's API; it reports usage on the last stream chunk without being asked.
import { apiKeyEnv, openaiCompatible } from "../openai/compatible.ts";
import { MISTRAL_PRICES } from "./prices.ts";

export const mistralProvider = openaiCompatible({
  kind: "mistral",
  env: apiKeyEnv("MISTRAL"),
  defaultBaseUrl: "https://api.mistral.ai/v1",
  models: /^(mistral-|codestral-|devstral-|ministral-|magistral-|open-mistral-|open-mixtral-|open-codestral-|pixtral-|voxtral-)/,
  streamUsageOption: false,
  reasoningEffort: false,
  prices: MISTRAL_PRICES,
  // Voxtral transcribes at /audio/transcriptions, as OpenAI shapes it.
  media: ["audio/transcriptions"],
});
