// The one rule for URLs inside a stored credential (Vertex AI's token
// endpoint): the provider's own hosts, or the base URL its operator set.
// Anything else would let whoever stores a credential make the gateway call
// a host of their choosing, inside the gateway's network.

const originOf = (url: string | undefined): string | undefined => {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

/** Whether a credential may make the gateway call `url`, given the provider's own origins and its configured base URL. */
export function credentialUrlAllowed(url: string, input: { origins: readonly string[]; baseUrl: string | undefined }): boolean {
  const origin = originOf(url);
  if (!origin) return false;
  return input.origins.includes(origin) || origin === originOf(input.baseUrl);
}
