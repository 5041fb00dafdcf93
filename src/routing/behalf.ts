// Calls the gateway makes to itself for a caller (a guardrail's judge), and
// the caller they are made for: that caller's data controls and retention
// hold on them too, as if the caller had made them.
import type { Principal } from "../auth/principal.ts";

const onBehalfOf = new WeakMap<Request, Principal>();

/** Holds `request`, made as the gateway, to `caller`'s data controls as well as its own. */
export function callOnBehalfOf(request: Request, caller: Principal): void {
  onBehalfOf.set(request, caller);
}

/** The caller a gateway-made request is on behalf of, if any. */
export const behalfOf = (request: Request): Principal | undefined => onBehalfOf.get(request);
