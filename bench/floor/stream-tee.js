// tee(): one branch handed to the client as the body, the copy read in 64 KiB BYOB batches every 50 ms (for metering).
import { drain } from "./drain.js";

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const upstream = await fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, request);
    const [toClient, copy] = upstream.body.tee();
    ctx.waitUntil(drain(copy));
    return new Response(toClient, upstream);
  },
};
