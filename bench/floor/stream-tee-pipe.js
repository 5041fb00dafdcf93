// Sluice's piped relay's shape without Sluice: tee(), the client's branch piped
// into an IdentityTransformStream (open for an error event), the copy read in batches.
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
