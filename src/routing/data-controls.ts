// Data controls: the providers and regions a caller's traffic may reach, from
// its settings (`allowed_providers`, `denied_providers`, `allowed_regions`).
// The route's own target is refused when it is not allowed; a fallback that is
// not is passed over, so failover never carries a caller's prompt somewhere
// its policy forbids. A deployment whose region is unknown fails a region pin.
import { type Principal, principalPolicy } from "../auth/principal.ts";
import { GatewayError } from "../http/errors.ts";
import type { CallerPolicy } from "../policy/index.ts";
import { LEVEL_BREAK } from "../policy/sections.ts";
import { regionFromUrl, regionMatches } from "../providers/regions.ts";
import type { Target } from "./resolve.ts";

/** Whether the caller's policy lets its traffic reach `provider`; true at once for a caller with no data controls. */
export function providerAllowed(principal: Principal, provider: string): boolean {
  const policy = principalPolicy(principal);
  if (!policy) return true;
  return providerPasses(policy, provider);
}

function providerPasses(policy: CallerPolicy, provider: string): boolean {
  const { allowed_providers: allowed, denied_providers: denied } = policy;
  if (allowed && !allowed.includes(provider)) return false;
  return !denied?.includes(provider);
}

/**
 * Bedrock's cross-region inference profiles (`eu.anthropic.…`, `global.…`)
 * run in any region of their geography, whichever region is called: the
 * geography is where such a model runs. AWS's prefixes, by jurisdiction.
 */
const BEDROCK_PROFILES: Record<string, string> = {
  us: "us",
  "us-gov": "us",
  eu: "eu",
  apac: "apac",
  jp: "apac",
  au: "apac",
  ca: "ca",
  global: "global",
};

/**
 * Where a target runs: a Bedrock inference profile's geography, else what its
 * endpoint's host says, else the region its operator set; undefined when none does.
 */
export function targetRegion(
  target: Pick<Target, "settings"> & Partial<Pick<Target, "descriptor" | "upstreamModel">>,
): string | undefined {
  if (target.descriptor?.kind === "bedrock" && target.upstreamModel) {
    const prefix = /^([a-z-]+)\./.exec(target.upstreamModel)?.[1];
    const profile = prefix === undefined ? undefined : BEDROCK_PROFILES[prefix];
    if (profile) return profile;
  }
  return regionFromUrl(target.settings.baseUrl) ?? target.settings.region;
}

/** Whether `region` passes every level's `allowed_regions` (a region or jurisdiction each); unknown passes none. */
function regionPasses(allowed: readonly string[], region: string | undefined): boolean {
  if (region === undefined) return false;
  let levelPassed = false;
  for (const entry of allowed) {
    if (entry === LEVEL_BREAK) {
      if (!levelPassed) return false;
      levelPassed = false;
    } else if (!levelPassed && regionMatches(region, entry)) levelPassed = true;
  }
  return levelPassed;
}

/** Whether the caller may send its traffic to the target (its provider and its region); true at once without data controls. */
export function targetAllowed(principal: Principal, target: Target): boolean {
  const policy = principalPolicy(principal);
  if (!policy) return true;
  if (!providerPasses(policy, target.provider)) return false;
  return !policy.allowed_regions || regionPasses(policy.allowed_regions, targetRegion(target));
}

/** 403 unless the caller may send its traffic to the target's provider, in the target's region. */
export function assertTargetAllowed(principal: Principal, target: Target): void {
  const policy = principalPolicy(principal);
  if (!policy) return;
  if (!providerPasses(policy, target.provider)) {
    throw new GatewayError(
      403,
      "permission",
      `This caller's data controls do not allow the provider \`${target.provider}\` (which serves \`${target.model}\`).`,
      { code: "provider_not_allowed", param: "model" },
    );
  }
  if (!policy.allowed_regions) return;
  const region = targetRegion(target);
  if (regionPasses(policy.allowed_regions, region)) return;
  const where = region ? `the region \`${region}\`` : "a region that is not known (it must be set for the provider)";
  throw new GatewayError(
    403,
    "permission",
    `This caller's data controls do not allow the provider \`${target.provider}\` (which serves \`${target.model}\`) in ${where}.`,
    { code: "region_not_allowed", param: "model" },
  );
}
