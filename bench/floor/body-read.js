// The body read into the isolate, those bytes sent upstream: what reading a prompt costs before anything looks at it.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const bytes = await request.arrayBuffer();
    return fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, { method: "POST", headers: request.headers, body: bytes });
  },
};
