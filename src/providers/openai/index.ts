// OpenAI, or any server that speaks its API (OPENAI_BASE_URL).

import type { ProviderDescriptor } from "../types.ts";
import { ALL_MEDIA, apiKeyEnv, openaiCompatible } from "./compatible.ts";
import { OPENAI_PRICES, openaiToolFees } from "./prices.ts";

const compatible = openaiCompatible({
  kind: "openai",
  env: apiKeyEnv("OPENAI"),
  defaultBaseUrl: "https://api.openai.com/v1",
  models: /^(gpt-|o1|o3|o4|chatgpt-|codex-|text-embedding-|whisper-|tts-|dall-e-|omni-moderation-|text-moderation-)/,
  responses: true,
  media: ALL_MEDIA,
  prices: OPENAI_PRICES,
  toolFees: openaiToolFees,
});

export const openaiProvider: ProviderDescriptor<"openai"> = {
  ...compatible,
  realtime: {
    // A WebSocket from the edge: an HTTP(S) request asking to upgrade, the provider's key in its header.
    request: (settings, upstreamModel) =>
      new Request(`${settings.baseUrl}/realtime?model=${encodeURIComponent(upstreamModel)}`, {
        headers: {
          upgrade: "websocket",
          ...(settings.secret && { authorization: `Bearer ${settings.secret}` }),
        },
      }),
  },
};
