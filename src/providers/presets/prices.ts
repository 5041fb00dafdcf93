// List prices of the presets' own models, in USD per million tokens, by the
// id each provider gives them, as published in late 2026. Models served
// through a router (OpenRouter) or a local server (Ollama, vLLM) have no list
// price here: give them one in the catalog (`/admin/models`) to meter cost.
import type { PriceList } from "../../usage/prices.ts";

export const PRESET_PRICES: Readonly<Record<string, PriceList>> = {
  groq: {
    "llama-3.1-8b-instant": { input: 0.05, output: 0.08 },
    "llama-3.3-70b-versatile": { input: 0.59, output: 0.79 },
    "openai/gpt-oss-20b": { input: 0.075, output: 0.3 },
    "openai/gpt-oss-120b": { input: 0.15, output: 0.6 },
    "moonshotai/kimi-k2-instruct-0905": { input: 1, output: 3 },
    "qwen/qwen3-32b": { input: 0.29, output: 0.59 },
  },
  xai: {
    "grok-4": { input: 3, output: 15, cachedInput: 0.75 },
    "grok-4-fast-reasoning": { input: 0.2, output: 0.5, cachedInput: 0.05 },
    "grok-4-fast-non-reasoning": { input: 0.2, output: 0.5, cachedInput: 0.05 },
    "grok-code-fast-1": { input: 0.2, output: 1.5, cachedInput: 0.02 },
    "grok-3": { input: 3, output: 15, cachedInput: 0.75 },
    "grok-3-mini": { input: 0.3, output: 0.5, cachedInput: 0.075 },
  },
  deepseek: {
    "deepseek-chat": { input: 0.28, output: 0.42, cachedInput: 0.028 },
    "deepseek-reasoner": { input: 0.28, output: 0.42, cachedInput: 0.028 },
  },
  together: {
    "meta-llama/Llama-3.3-70B-Instruct-Turbo": { input: 0.88, output: 0.88 },
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo": { input: 0.18, output: 0.18 },
    "deepseek-ai/DeepSeek-V3": { input: 1.25, output: 1.25 },
    "Qwen/Qwen2.5-72B-Instruct-Turbo": { input: 1.2, output: 1.2 },
    "openai/gpt-oss-120b": { input: 0.15, output: 0.6 },
  },
  fireworks: {
    "accounts/fireworks/models/llama-v3p3-70b-instruct": { input: 0.9, output: 0.9 },
    "accounts/fireworks/models/llama-v3p1-8b-instruct": { input: 0.2, output: 0.2 },
    "accounts/fireworks/models/deepseek-v3": { input: 0.9, output: 0.9 },
    "accounts/fireworks/models/gpt-oss-120b": { input: 0.15, output: 0.6 },
  },
  cerebras: {
    "llama3.1-8b": { input: 0.1, output: 0.1 },
    "llama-3.3-70b": { input: 0.85, output: 1.2 },
    "gpt-oss-120b": { input: 0.35, output: 0.75 },
    "qwen-3-32b": { input: 0.4, output: 0.8 },
  },
  perplexity: {
    sonar: { input: 1, output: 1 },
    "sonar-pro": { input: 3, output: 15 },
    "sonar-reasoning": { input: 1, output: 5 },
    "sonar-reasoning-pro": { input: 2, output: 8 },
    "sonar-deep-research": { input: 2, output: 8 },
  },
};
