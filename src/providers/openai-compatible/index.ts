// Ollama, vLLM, LiteLLM and the like: OpenAI's API at a base URL of their own,
// configured as catalog providers (`/admin/providers`, kind `openai-compatible`).
import { ALL_MEDIA, openaiCompatible } from "../openai/compatible.ts";

// A server without one of the media APIs, or without rerank, answers it with its own 404.
export const openaiCompatibleProvider = openaiCompatible({ kind: "openai-compatible", media: ALL_MEDIA, rerank: true });
