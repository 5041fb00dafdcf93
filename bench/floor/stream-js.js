// Every chunk read and handed on in JavaScript, nothing else done: what hiding one chunk of a stream costs at least.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const upstream = await fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, request);
    const reader = upstream.body.getReader();
    const relayed = new ReadableStream(
      {
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(relayed, upstream);
  },
};
