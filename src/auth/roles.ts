/** What a person or an admin token may do in an organization or one of its teams. */
export type Role = "owner" | "admin" | "member" | "viewer" | "billing";
