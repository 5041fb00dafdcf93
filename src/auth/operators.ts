// Who a signed-in person is to Sluice: the roles their identity provider's
// claims map to. (Stored memberships combine with these where organizations
// keep them; here the mapped roles are the whole answer.)
import type { Services } from "../services.ts";
import type { OperatorIdentity } from "./principal.ts";
import type { Role } from "./roles.ts";

export interface OperatorClaims {
  orgId: string;
  subject: string;
  email: string | null;
  name: string | null;
  orgRole: Role | null;
  teamRoles: Record<string, Role>;
}

export async function resolveOperator(_services: Services, claims: OperatorClaims): Promise<OperatorIdentity> {
  return { ...claims, orgId: claims.orgId || "default", teamRoles: { ...claims.teamRoles }, scopes: null };
}
