// The other order: the upstream piped into an IdentityTransformStream (left open
// for an error event), its readable tee'd, one branch the client's body, the
// copy read in batches. Nothing here notices a client that leaves.
import { drain } from "./drain.js";

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const upstream = await fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, request);
    const { readable, writable } = new IdentityTransformStream();
    ctx.waitUntil(upstream.body.pipeTo(writable, { preventClose: true }).then(() => writable.getWriter().close()));
    const [toClient, copy] = readable.tee();
    ctx.waitUntil(drain(copy));
    return new Response(toClient, upstream);
  },
};
