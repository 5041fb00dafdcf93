// The upstream stream piped by the runtime into an IdentityTransformStream, left open for an error event after it.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const upstream = await fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, request);
    const { readable, writable } = new IdentityTransformStream();
    ctx.waitUntil(upstream.body.pipeTo(writable, { preventClose: true }).then(() => writable.getWriter().close()));
    return new Response(readable, upstream);
  },
};
