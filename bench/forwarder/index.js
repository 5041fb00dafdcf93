// The runtime's floor: a Worker that only forwards each request to the upstream.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, request);
  },
};
