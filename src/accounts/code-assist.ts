// Code Assist, the API the Gemini CLI signs in to: an account's calls there
// name a Google Cloud project, which Google keeps for the account (the free
// tier's) or the operator names (GOOGLE_CLOUD_PROJECT). It is found, or the
// account onboarded, once, when the account connects.
import type { GoogleOAuthConfig } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";

/** Who is asking, as Code Assist wants it said. */
const CLIENT = { ideType: "IDE_UNSPECIFIED", platform: "PLATFORM_UNSPECIFIED", pluginType: "GEMINI" } as const;
const TIMEOUT_MS = 10_000;
/** How long onboarding is waited for before the user is asked to connect again. */
const ONBOARD_POLLS = 5;
const POLL_MS = 1_000;

interface LoadAnswer {
  currentTier?: { id?: string };
  allowedTiers?: { id?: string; isDefault?: boolean }[];
  cloudaicompanionProject?: string;
}

interface Operation {
  name?: string;
  done?: boolean;
  response?: { cloudaicompanionProject?: { id?: string } };
}

const setupFailed = (why: string) =>
  new GatewayError(502, "upstream", `Code Assist could not be set up for this account: ${why}`, {
    code: "code_assist_setup_failed",
  });

async function call<T>(google: GoogleOAuthConfig, token: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${google.codeAssistUrl}/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  // Google's words are not passed on: they can name the account and its projects.
  if (!response.ok) throw setupFailed(`${path.replace(/^v1internal[:/]/, "")} answered HTTP ${response.status}.`);
  return (await response.json()) as T;
}

/** The project the account's Code Assist calls name: its current one, or the one onboarding gives it. */
export async function codeAssistProject(google: GoogleOAuthConfig, token: string): Promise<string> {
  const chosen = google.project;
  const metadata = { ...CLIENT, ...(chosen && { duetProject: chosen }) };
  const loaded = await call<LoadAnswer>(google, token, "v1internal:loadCodeAssist", {
    cloudaicompanionProject: chosen,
    metadata,
  });
  if (loaded.currentTier) {
    const project = loaded.cloudaicompanionProject ?? chosen;
    if (!project) {
      throw new GatewayError(
        400,
        "invalid_request",
        "This account's Code Assist tier needs a Google Cloud project: set GOOGLE_CLOUD_PROJECT.",
        {
          code: "code_assist_project_required",
        },
      );
    }
    return project;
  }
  const tier = loaded.allowedTiers?.find((candidate) => candidate.isDefault)?.id ?? "legacy-tier";
  // The free tier runs in a project Google manages; naming one there is refused.
  const free = tier === "free-tier";
  let operation = await call<Operation>(google, token, "v1internal:onboardUser", {
    tierId: tier,
    cloudaicompanionProject: free ? undefined : chosen,
    metadata: free ? CLIENT : metadata,
  });
  for (let polls = 0; !operation.done && operation.name && polls < ONBOARD_POLLS; polls++) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    operation = await call<Operation>(google, token, `v1internal/${operation.name}`);
  }
  const project = operation.response?.cloudaicompanionProject?.id ?? (free ? undefined : chosen);
  if (!project)
    throw setupFailed(operation.done ? "Google named no project." : "onboarding is still under way; connect again shortly.");
  return project;
}
