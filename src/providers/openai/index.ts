import { openaiCompatible } from "./compatible.ts";

export const openaiProvider = openaiCompatible({ name: "openai" });
