// Ollama, vLLM, LiteLLM and the like: OpenAI's API at a base URL of their own,
// configured as catalog providers (`/admin/providers`, kind `openai-compatible`).
import { openaiCompatible } from "../openai/compatible.ts";

export const openaiCompatibleProvider = openaiCompatible({ kind: "openai-compatible" });
