// Sluice's piped relay's shape without Sluice: tee(), the client's branch piped
// into an IdentityTransformStream (open for an error event), the copy read in batches.
import { drain } from "./drain.js";

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const upstream = await fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, request);
    const [toClient, copy] = upstream.body.tee();
    const { readable, writable } = new IdentityTransformStream();
    const metered = drain(copy);
    ctx.waitUntil(
      toClient
        .pipeTo(writable, { preventClose: true })
        .then(() => metered)
        .then(() => writable.getWriter().close()),
    );
    return new Response(readable, upstream);
  },
};
