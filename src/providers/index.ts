// The provider registry: one line per adapter.
import type { ProviderName } from "../config/index.ts";
import { anthropicProvider } from "./anthropic/index.ts";
import { geminiProvider } from "./gemini/index.ts";
import { mistralProvider } from "./mistral/index.ts";
import { mockProvider } from "./mock/index.ts";
import { openaiCompatible } from "./openai/compatible.ts";
import { openaiProvider } from "./openai/index.ts";
import type { ProviderAdapter } from "./types.ts";

const ADAPTERS: Partial<Record<ProviderName, ProviderAdapter>> = {
  openai: openaiProvider,
  anthropic: anthropicProvider,
  gemini: geminiProvider,
  mistral: mistralProvider,
  mock: mockProvider,
  // Ollama, vLLM, LiteLLM and the like: OpenAI's API at a base URL of their own.
  "openai-compatible": openaiCompatible({ name: "openai-compatible" }),
};

export function adapterFor(provider: ProviderName): ProviderAdapter | undefined {
  return ADAPTERS[provider];
}
