// Allowed and denied kinds of input in request shape limits: what each client
// format's media parts are read as, how levels combine, and the refusal.
import { describe, expect, it } from "vitest";
import { checkRequestLimits, type RequestLimits, requestLimitsSection } from "../../src/guardrails/request-limits.ts";

const facts = { inputTokens: () => 0, outputCap: undefined };
const check = (body: Record<string, unknown>, limits: RequestLimits) => {
  const refused = checkRequestLimits(body, limits, facts);
  return refused && { message: refused.error.message, param: refused.error.param, categories: refused.verdict.categories };
};
const textOnly: RequestLimits = { input_modalities: ["text"] };
const user = (content: unknown) => ({ messages: [{ role: "user", content }] });

const MEDIA: [string, Record<string, unknown>, string, string][] = [
  [
    "OpenAI chat image_url",
    user([
      { type: "text", text: "what is this" },
      { type: "image_url", image_url: { url: "https://x/y.png" } },
    ]),
    "image",
    "messages[0].content[1]",
  ],
  [
    "OpenAI chat input_audio",
    user([{ type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }]),
    "audio",
    "messages[0].content[0]",
  ],
  [
    "OpenAI chat file",
    user([{ type: "file", file: { file_data: "data:application/pdf;base64,AAAA", filename: "a.pdf" } }]),
    "file (document)",
    "messages[0].content[0]",
  ],
  [
    "Responses input_image",
    { input: [{ role: "user", content: [{ type: "input_image", image_url: "https://x/y.png" }] }] },
    "image",
    "input[0].content[0]",
  ],
  [
    "Responses input_file",
    { input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }] },
    "file (document)",
    "input[0].content[0]",
  ],
  [
    "Responses input_audio",
    { input: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AAAA", format: "mp3" } }] }] },
    "audio",
    "input[0].content[0]",
  ],
  [
    "Anthropic image",
    user([{ type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }]),
    "image",
    "messages[0].content[0]",
  ],
  [
    "Anthropic document",
    user([{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "AAAA" } }]),
    "file (document)",
    "messages[0].content[0]",
  ],
  [
    "Anthropic image in a tool result",
    user([{ type: "tool_result", tool_use_id: "t", content: [{ type: "image", source: { type: "url", url: "https://x" } }] }]),
    "image",
    "messages[0].content[0].content[0]",
  ],
  [
    "Gemini inlineData image",
    { contents: [{ role: "user", parts: [{ text: "hi" }, { inlineData: { mimeType: "image/jpeg", data: "AAAA" } }] }] },
    "image",
    "contents[0].parts[1]",
  ],
  [
    "Gemini fileData video",
    { contents: [{ role: "user", parts: [{ fileData: { mimeType: "video/mp4", fileUri: "gs://b/v.mp4" } }] }] },
    "video",
    "contents[0].parts[0]",
  ],
  [
    "Gemini inline_data audio",
    { contents: [{ parts: [{ inline_data: { mime_type: "audio/ogg", data: "AAAA" } }] }] },
    "audio",
    "contents[0].parts[0]",
  ],
  [
    "Gemini fileData PDF",
    { contents: [{ parts: [{ fileData: { mimeType: "application/pdf", fileUri: "gs://b/a.pdf" } }] }] },
    "file (document)",
    "contents[0].parts[0]",
  ],
  [
    "Cohere v2 image_url",
    user([{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }]),
    "image",
    "messages[0].content[0]",
  ],
  ["Bedrock Converse image", user([{ image: { format: "png", source: { bytes: "AAAA" } } }]), "image", "messages[0].content[0]"],
  [
    "Bedrock Converse document",
    user([{ document: { format: "pdf", name: "a", source: { bytes: "AAAA" } } }]),
    "file (document)",
    "messages[0].content[0]",
  ],
  [
    "Bedrock Converse video",
    user([{ video: { format: "mp4", source: { s3Location: { uri: "s3://b/v.mp4" } } } }]),
    "video",
    "messages[0].content[0]",
  ],
];

describe("allowed kinds of input", () => {
  it.each(MEDIA)("refuse %s to a text-only caller, naming the kind and where it is", (_, body, kind, field) => {
    expect(check(body, textOnly)).toEqual({
      message: `The request sends ${kind} input at \`${field}\`; this caller may send only text.`,
      param: field,
      categories: ["input_modalities"],
    });
  });

  it.each(MEDIA)("let %s through to a caller that allows every kind", (_, body) => {
    expect(check(body, { input_modalities: ["text", "image", "audio", "file", "video"] })).toBeUndefined();
  });

  it("let text through in every shape, and read Cohere's grounding documents and text blocks as text", () => {
    expect(check(user("hello"), textOnly)).toBeUndefined();
    expect(check({ input: "hello" }, textOnly)).toBeUndefined();
    expect(check({ contents: [{ parts: [{ text: "hi" }] }] }, textOnly)).toBeUndefined();
    expect(check({ ...user([{ text: "hi" }]), system: [{ text: "be brief" }] }, textOnly)).toBeUndefined();
    expect(check({ ...user("hi"), documents: [{ data: { text: "a document" } }] }, textOnly)).toBeUndefined();
  });

  it("refuse text to a caller allowed only images, and a denied kind whatever is allowed", () => {
    expect(check(user("describe it"), { input_modalities: ["image"] })).toEqual({
      message: "The request sends text input; this caller may send only image.",
      param: "messages",
      categories: ["input_modalities"],
    });
    const image = user([{ type: "image_url", image_url: { url: "https://x/y.png" } }]);
    expect(check(image, { denied_modalities: ["image"] })).toEqual({
      message: "The request sends image input at `messages[0].content[0]`; this caller may not send it.",
      param: "messages[0].content[0]",
      categories: ["denied_modalities"],
    });
    expect(check(image, { denied_modalities: ["audio"] })).toBeUndefined();
  });
});

describe("kinds of input across levels", () => {
  it("narrow the allowed kinds to what every level allows, and add up the denied ones", () => {
    expect(
      requestLimitsSection.merge(
        { input_modalities: ["text", "image", "file"], denied_modalities: ["video"] },
        { input_modalities: ["text", "audio", "file"], denied_modalities: ["file"] },
      ),
    ).toEqual({ input_modalities: ["text", "file"], denied_modalities: ["video", "file"] });
    expect(requestLimitsSection.merge({ input_modalities: ["text"] }, {})).toEqual({ input_modalities: ["text"] });
    expect(requestLimitsSection.merge({}, { input_modalities: ["text"] })).toEqual({ input_modalities: ["text"] });
  });

  it("are validated, a kind that does not exist named in the error", () => {
    expect(requestLimitsSection.schema.safeParse({ input_modalities: ["text", "image"] }).success).toBe(true);
    const wrong = requestLimitsSection.schema.safeParse({ input_modalities: ["smell"] });
    expect(wrong.error?.issues[0]?.message).toBe("must be one of text, image, audio, file, video");
    const notList = requestLimitsSection.schema.safeParse({ denied_modalities: "image" });
    expect(notList.error?.issues[0]?.message).toBe("must be a list of input kinds (text, image, audio, file, video)");
  });
});
