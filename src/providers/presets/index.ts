// OpenAI-compatible clouds and local servers, each one line in the registry:
// a kind, where it lives, and what it serves by name. They take
// `<KIND>_API_KEY` and `<KIND>_BASE_URL` like Mistral; a model reaches one by
// `kind/model` (`groq/llama-3.3-70b-versatile`), or by its own name where the
// preset claims a pattern no other provider uses (`grok-4`, `sonar-pro`).
import type { PriceList } from "../../usage/prices.ts";
import { apiKeyEnv, type OpenAICompatibleOptions, openaiCompatible } from "../openai/compatible.ts";
import type { ProviderDescriptor } from "../types.ts";
import { PRESET_PRICES } from "./prices.ts";

type PresetOptions = Pick<OpenAICompatibleOptions<string>, "models" | "streamUsageOption" | "reasoningEffort" | "rerank">;

/**
 * A preset: the variables are the kind in capitals (`together` reads
 * `TOGETHER_API_KEY`), prices come from its table in `prices.ts`. Without a
 * default base URL (a server of the operator's own) it is configured by its
 * base URL alone, and a key is optional.
 */
export function preset<Kind extends string>(
  kind: Kind,
  defaultBaseUrl: string | undefined,
  options: PresetOptions = {},
): ProviderDescriptor<Kind> {
  const prices: PriceList | undefined = PRESET_PRICES[kind];
  return openaiCompatible({
    kind,
    env: apiKeyEnv(kind.toUpperCase()),
    ...(defaultBaseUrl && { defaultBaseUrl }),
    ...(prices && { prices }),
    ...options,
  });
}
