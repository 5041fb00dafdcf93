// The dashboard's only way to the gateway: its public JSON routes, with the
// credential the operator signed in with as a Bearer header. The credential
// lives in sessionStorage (gone when the tab closes), never in a URL or cookie.
// A person signed in through single sign-on sends no header: the browser
// sends the gateway's HttpOnly session cookie, and its Origin.
const STORAGE_KEY = "sluice.credential";

export const credential = {
  get: () => sessionStorage.getItem(STORAGE_KEY) ?? "",
  set: (value: string) => sessionStorage.setItem(STORAGE_KEY, value),
  clear: () => sessionStorage.removeItem(STORAGE_KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The field the server named as wrong, as a path (`rule.arms.1.weight`). */
    readonly param?: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      ...(credential.get() ? { authorization: `Bearer ${credential.get()}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const message = json?.error?.message ?? `HTTP ${response.status}`;
    throw new ApiError(response.status, message, json?.error?.param ?? undefined);
  }
  return json as T;
}

/** What `GET /auth/sso/session` says: single sign-on's button, and who is signed in. */
export interface SsoSession {
  enabled: boolean;
  signed_in: boolean;
  provider: string;
  login_url: string;
  operator?: { email: string | null; name: string | null; org_role: string | null; team_roles: Record<string, string> };
}

/** The single sign-on session, or undefined when single sign-on is not configured. */
export async function ssoSession(): Promise<SsoSession | undefined> {
  const response = await fetch("/auth/sso/session");
  const session = response.ok ? ((await response.json()) as SsoSession) : undefined;
  return session?.enabled ? session : undefined;
}

export interface Group {
  day?: string;
  hour?: string;
  minute?: string;
  model?: string;
  provider?: string;
  user_id?: string | null;
  team_id?: string | null;
  key_id?: string | null;
  requests: number;
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  errors: number;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  p50_ttfb_ms: number | null;
  p95_ttfb_ms: number | null;
}

export interface UsageRow {
  request_id: string;
  created_at: string;
  model: string;
  provider: string;
  upstream_model: string | null;
  user_id: string | null;
  key_id: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  status: number;
  error: string | null;
  streamed: boolean;
  latency_ms: number;
  ttfb_ms: number | null;
  attempts: number;
  metadata: { route?: { provider: string; model: string; outcome: string; ms: number }[] } & Record<string, unknown>;
}

export const usd = (value: number) =>
  value >= 1 ? `$${value.toFixed(2)}` : value >= 0.01 ? `$${value.toFixed(3)}` : `$${value.toPrecision(2)}`;
export const count = (value: number) => new Intl.NumberFormat("en", { notation: "compact" }).format(value);
