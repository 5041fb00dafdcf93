// What a caller's limits hold a request to. A limit counted in tokens (per
// minute, day or month) or in dollars depends on the reservation, so the
// upstream is held to the output cap reserved; a limit counted in dollars
// binds only what has a price, so an unpriced model is refused (it would be
// metered at $0). Callers limited in requests alone, or not at all, are held
// to neither; their unpriced rows carry no cost.
import type { Principal } from "../auth/principal.ts";
import { GatewayError } from "../http/errors.ts";
import { subjectsOf } from "./plan.ts";

/** Whether any of the caller's limits is counted in dollars: a key's budget, or a daily or monthly USD quota. */
export function spendsDollars(principal: Principal): boolean {
  if (principal.type === "key" && principal.budget !== null) return true;
  return subjectsOf(principal).some((subject) => subject.limits.usdPerDay !== null || subject.limits.usdPerMonth !== null);
}

/** Whether any of the caller's limits depends on what a request reserves: tokens or dollars. */
export function reservationBinds(principal: Principal): boolean {
  if (spendsDollars(principal)) return true;
  return subjectsOf(principal).some(
    ({ limits }) => limits.tokensPerMinute !== null || limits.tokensPerDay !== null || limits.tokensPerMonth !== null,
  );
}

export function unpricedRefusal(target: { model: string; provider: string }): GatewayError {
  return new GatewayError(
    403,
    "permission",
    `The model \`${target.model}\` has no price on \`${target.provider}\`, and this caller's spending is limited in dollars: an admin must price it in the catalog (POST /admin/models) first.`,
    { code: "model_unpriced", param: "model" },
  );
}
