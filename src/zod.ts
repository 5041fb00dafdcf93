// zod's mini build, which shakes down to the parts used, with the English
// messages that callers' errors quote (the mini build sets no locale itself).
// Every module takes zod from here, so the messages are set before any parse.
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
