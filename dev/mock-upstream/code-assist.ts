// The mock's Code Assist, the API the Gemini CLI signs in to: account setup
// (loadCodeAssist, then onboardUser as a long-running operation polled once)
// and generateContent / streamGenerateContent, Gemini's answers wrapped in
// `{response, traceId}`. Calls need a token the mock's Google issued and the
// project onboarding gave.
import { type GeminiRequest, geminiError, geminiResponse, geminiStreamEvents } from "./gemini.ts";
import type { MockAnswer } from "./models.ts";

export const CODE_ASSIST_PROJECT = "mock-code-assist-project";
export const CODE_ASSIST_PATH = /^\/v1internal:(generateContent|streamGenerateContent)$/;

export interface CodeAssistRequest {
  model?: string;
  project?: string;
  user_prompt_id?: string;
  request?: GeminiRequest;
}

const wrap = (response: unknown, traceId: string) => ({ response, traceId });

export const codeAssistResponse = (id: string, model: string, answer: MockAnswer) => wrap(geminiResponse(id, model, answer), id);

/** Each of Gemini's stream events, wrapped as Code Assist sends it. */
export function codeAssistStreamEvents(id: string, model: string, answer: MockAnswer, pieces: string[]): string[] {
  return geminiStreamEvents(id, model, answer, pieces).map((event) => {
    const data = event.replace(/^data: /, "").trim();
    return `data: ${JSON.stringify(wrap(JSON.parse(data), id))}\r\n\r\n`;
  });
}

/** What the call must carry beyond a token: the project onboarding gave. */
export function codeAssistProblem(body: CodeAssistRequest): { status: number; body: unknown } | undefined {
  if (body.project !== CODE_ASSIST_PROJECT) {
    return { status: 403, body: geminiError(403, `Permission denied on resource project ${body.project ?? "(none)"}.`) };
  }
  if (!body.request || !Array.isArray(body.request.contents)) {
    return { status: 400, body: geminiError(400, "Invalid JSON payload: `request.contents` is required.") };
  }
  return undefined;
}

/** Setup: accounts start unonboarded; onboarding is an operation that is done when first polled. */
export function mockCodeAssistSetup() {
  const operations = new Map<string, boolean>();
  let next = 0;
  return {
    handle(method: string, path: string): { status: number; body: unknown } | undefined {
      if (method === "POST" && path === "/v1internal:loadCodeAssist") {
        return { status: 200, body: { allowedTiers: [{ id: "free-tier", isDefault: true }, { id: "standard-tier" }] } };
      }
      if (method === "POST" && path === "/v1internal:onboardUser") {
        const name = `operations/mock-${++next}`;
        operations.set(name, false);
        return { status: 200, body: { name, done: false } };
      }
      const operation = /^\/v1internal\/(operations\/[\w-]+)$/.exec(path)?.[1];
      if (method === "GET" && operation && operations.has(operation)) {
        return {
          status: 200,
          body: { name: operation, done: true, response: { cloudaicompanionProject: { id: CODE_ASSIST_PROJECT } } },
        };
      }
      return undefined;
    },
  };
}
