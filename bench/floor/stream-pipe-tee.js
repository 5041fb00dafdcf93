// The other order: the upstream piped into an IdentityTransformStream (left open
// for an error event), its readable tee'd, one branch the client's body, the
// copy read in batches. Nothing here notices a client that leaves.
// As Sluice's metering copy is read: a 64 KiB BYOB read takes whatever is queued, then waits 50 ms.
async function drain(stream) {
  const reader = stream.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(64 * 1024);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) return;
    buffer = value.buffer;
    if (value.byteLength < buffer.byteLength) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

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
