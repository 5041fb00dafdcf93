// The cookie that binds a sign-in or connection flow to the browser that
// started it: `__Host-` over HTTPS (no other site, or subdomain, can set or
// read it), plain on a local HTTP gateway; HttpOnly, SameSite=Lax.
import type { Context } from "hono";
import { getCookie } from "hono/cookie";

export interface BindingCookie {
  read(c: Context): string | undefined;
  /** Sets it for `maxAge` seconds; `("", 0)` clears it. */
  set(c: Context, value: string, maxAge: number): void;
}

/** The flow's cookie, named `sluice-<flow>` (`__Host-sluice-<flow>` over HTTPS). */
export function bindingCookie(flow: string): BindingCookie {
  const of = (c: Context) =>
    new URL(c.req.url).protocol === "https:"
      ? { name: `__Host-sluice-${flow}`, secure: "; Secure" }
      : { name: `sluice-${flow}`, secure: "" };
  return {
    read: (c) => getCookie(c, of(c).name),
    set: (c, value, maxAge) => {
      const { name, secure } = of(c);
      c.header("set-cookie", `${name}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`);
    },
  };
}
