/** Who is calling. Users and keys join in as their auth lands. */
export type Principal = { type: "admin"; id: "admin" };
