// Data controls: the providers a caller's traffic may reach, from its
// settings (`allowed_providers`, `denied_providers`). The route's own target
// is refused when it is not allowed; a fallback that is not is passed over, so
// failover never carries a caller's prompt somewhere its policy forbids.
import { type Principal, principalPolicy } from "../auth/principal.ts";
import { GatewayError } from "../http/errors.ts";
import type { Target } from "./resolve.ts";

/** Whether the caller's policy lets its traffic reach `provider`; true at once for a caller with no data controls. */
export function providerAllowed(principal: Principal, provider: string): boolean {
  const policy = principalPolicy(principal);
  if (!policy) return true;
  const { allowed_providers: allowed, denied_providers: denied } = policy;
  if (allowed && !allowed.includes(provider)) return false;
  return !denied?.includes(provider);
}

/** 403 unless the caller may send its traffic to the target's provider. */
export function assertProviderAllowed(principal: Principal, target: Target): void {
  if (providerAllowed(principal, target.provider)) return;
  throw new GatewayError(
    403,
    "permission",
    `This caller's data controls do not allow the provider \`${target.provider}\` (which serves \`${target.model}\`).`,
    { code: "provider_not_allowed", param: "model" },
  );
}
