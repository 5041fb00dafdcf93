// Mistral: OpenAI's API; it reports usage on the last stream chunk without being asked.
import { apiKeyEnv, openaiCompatible } from "../openai/compatible.ts";

export const mistralProvider = openaiCompatible({
  kind: "mistral",
  env: apiKeyEnv("MISTRAL"),
  defaultBaseUrl: "https://api.mistral.ai/v1",
  models: /^(mistral-|codestral-|ministral-|magistral-|open-mistral-|pixtral-)/,
  streamUsageOption: false,
  reasoningEffort: false,
  prices: {
    "mistral-large": { input: 2, output: 6 },
    "mistral-small": { input: 0.1, output: 0.3 },
    codestral: { input: 0.3, output: 0.9 },
  },
});
