// The provider registry: one line per provider. Everything that lists
// providers — the kinds, the settings read from the environment, the model
// names each serves by default, the admin API's validation — comes from here.
import { anthropicProvider } from "./anthropic/index.ts";
import { azureProvider } from "./azure/index.ts";
import { bedrockProvider } from "./bedrock/index.ts";
import { cohereProvider } from "./cohere/index.ts";
import { geminiProvider } from "./gemini/index.ts";
import { mistralProvider } from "./mistral/index.ts";
import { mockProvider } from "./mock/index.ts";
import { openaiProvider } from "./openai/index.ts";
import { openaiCompatibleProvider } from "./openai-compatible/index.ts";
import { preset } from "./presets/index.ts";
import type { ProviderDescriptor } from "./types.ts";
import { vertexProvider } from "./vertex/index.ts";
import { workersAiProvider } from "./workers-ai/index.ts";

export const PROVIDERS = [
  openaiProvider,
  anthropicProvider,
  geminiProvider,
  mistralProvider,
  bedrockProvider,
  vertexProvider,
  azureProvider,
  cohereProvider,
  workersAiProvider,
  openaiCompatibleProvider,
  preset("openrouter", "https://openrouter.ai/api/v1"),
  preset("groq", "https://api.groq.com/openai/v1"),
  preset("xai", "https://api.x.ai/v1", { models: /^grok-/ }),
  preset("deepseek", "https://api.deepseek.com/v1", { models: /^deepseek-(?:chat|reasoner)$/, reasoningEffort: false }),
  preset("together", "https://api.together.xyz/v1"),
  preset("fireworks", "https://api.fireworks.ai/inference/v1", { models: /^accounts\/fireworks\// }),
  preset("cerebras", "https://api.cerebras.ai/v1"),
  preset("perplexity", "https://api.perplexity.ai", { models: /^sonar(?:-|$)/, reasoningEffort: false }),
  preset("ollama", undefined),
  preset("vllm", undefined, { rerank: true }),
  mockProvider,
] as const satisfies readonly ProviderDescriptor[];

export type ProviderKind = (typeof PROVIDERS)[number]["kind"];

export const PROVIDER_KINDS = PROVIDERS.map((provider) => provider.kind) as [ProviderKind, ...ProviderKind[]];

const byKind = new Map<string, ProviderDescriptor>(PROVIDERS.map((provider) => [provider.kind, provider]));

export function providerOf(kind: string): ProviderDescriptor | undefined {
  return byKind.get(kind);
}

export const isProviderKind = (value: string): value is ProviderKind => byKind.has(value);
