// The person's consent, between their sign-in and the client's code. Every
// registered client signs people in through the gateway's one client at the
// identity provider, which may remember their consent and send them straight
// back: without a step of Sluice's own, a link to /oauth/authorize with a
// stranger's client and redirect URI would hand that stranger a code for the
// person clicking it. So what the code would grant waits, sealed in a short
// cookie of this browser's, until the person, shown who is asking and where
// the code would go, allows it by the form on that very page (a nonce ties
// the two); only then is the code issued.

import { openFor, seal } from "../auth/sealed.ts";
import type { Config } from "../config/index.ts";
import { escapeHtml } from "../http/plain-page.ts";
import * as z from "../zod.ts";

const CONSENT_PURPOSE = "sluice oauth consent v1";
export const CONSENT_COOKIE = "sluice-oauth-consent";
export const CONSENT_SECONDS = 300;

const consentSchema = z.object({
  /** Names the page this consent was asked on: its form must carry it. */
  nonce: z.string(),
  grant: z.object({
    client: z.string(),
    userId: z.string(),
    resource: z.string(),
    scope: z.nullable(z.string()),
    family: z.string(),
    redirectUri: z.string(),
    challenge: z.string(),
  }),
  state: z.nullable(z.string()),
  issuer: z.string(),
});
export type PendingConsent = z.infer<typeof consentSchema>;

export const sealConsent = (config: Config, consent: PendingConsent) =>
  seal(config.adminKey, CONSENT_PURPOSE, consent, CONSENT_SECONDS);

/** The consent this browser was asked for, or undefined when its cookie is missing, expired or not ours. */
export const openConsent = (config: Config, cookie: string | undefined) =>
  openFor(config.adminKey, CONSENT_PURPOSE, cookie, consentSchema);

/** What the consent page says, as HTML: who asks, for whom, where the code would go, and the form that answers. */
export function consentBody(input: { clientName: string | null; redirectUri: string; person: string; nonce: string }): string {
  const client = input.clientName ? `“${escapeHtml(input.clientName)}”` : "An application";
  const target = escapeHtml(new URL(input.redirectUri).origin);
  return `<p>${client} asks to use this gateway's MCP servers as <strong>${escapeHtml(input.person)}</strong>.</p><p>If you allow it, its code goes to <code>${target}</code>. Allow it only if you started this sign-in from that application.</p><form method="post" action="/oauth/consent"><input type="hidden" name="nonce" value="${escapeHtml(input.nonce)}"><button name="decision" value="allow">Allow</button><button name="decision" value="deny">Deny</button></form>`;
}
