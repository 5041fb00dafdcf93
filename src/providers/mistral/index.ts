import { openaiCompatible } from "../openai/compatible.ts";

// Mistral reports usage on the last stream chunk without being asked.
export const mistralProvider = openaiCompatible({ name: "mistral", streamUsageOption: false });
