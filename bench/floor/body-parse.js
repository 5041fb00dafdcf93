// Sluice's first steps alone: the body read, decoded and parsed, the bytes sent
// upstream, the parsed body and its text held until the answer is read.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const bytes = new Uint8Array(await request.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    const body = JSON.parse(text);
    if (typeof body.model !== "string") return Response.json({ error: "no model" }, { status: 400 });
    const upstream = await fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, {
      method: "POST",
      headers: request.headers,
      body: bytes,
    });
    const answer = await upstream.text();
    const usage = JSON.parse(answer).usage;
    // Read after the answer, so neither is collected before it.
    const held = body.messages.length + text.length + (usage ? 1 : 0);
    return new Response(answer, {
      status: upstream.status,
      headers: { "content-type": "application/json", "x-held": String(held) },
    });
  },
};
