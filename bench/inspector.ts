// A minimal Chrome DevTools protocol client for the isolates of a workerd
// process started with its inspector open: the profile's CPU samples and the
// soak's heap readings go through it.

export interface InspectorSession {
  title: string;
  send(method: string, params?: object): Promise<unknown>;
  close(): void;
}

/** Every isolate the inspector on `port` offers whose title `matches`, as a session each. */
export async function inspectorSessions(port: number, matches: (title: string) => boolean): Promise<InspectorSession[]> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    webSocketDebuggerUrl: string;
    title?: string;
  }[];
  return Promise.all(targets.filter((t) => matches(t.title ?? "")).map((t) => session(t.title ?? "", t.webSocketDebuggerUrl)));
}

/** The Worker under test: Miniflare's own workers (the queue broker among them) have targets too, titled otherwise. */
export async function inspector(port: number): Promise<InspectorSession> {
  const [worker] = await inspectorSessions(port, (title) => title.includes("core:user"));
  if (!worker) throw new Error(`no inspector target for the Worker on port ${port}`);
  return worker;
}

async function session(title: string, url: string): Promise<InspectorSession> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  };
  return {
    title,
    send: (method, params = {}) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

export interface HeapReading {
  /** The isolate's JavaScript heap in use after a full collection, MiB. */
  usedMiB: number;
  /** Array buffers' backing stores it holds outside that heap, MiB. */
  backingMiB: number;
}

/**
 * A full collection, then what the isolate's heap holds: what its code
 * keeps, without what is merely not yet collected. The runtime carries the
 * command out when the isolate next runs, so an idle one is woken by `poke`
 * (a request to it) until it has; undefined when it never did.
 */
export async function heapAfterCollection(
  isolate: InspectorSession,
  poke: () => Promise<unknown>,
): Promise<HeapReading | undefined> {
  let collected = false;
  const collection = isolate.send("HeapProfiler.collectGarbage").then(() => {
    collected = true;
  });
  for (let tries = 0; !collected && tries < 50; tries++) {
    await Promise.race([collection, poke().then(() => new Promise((resolve) => setTimeout(resolve, 100)))]);
  }
  if (!collected) return undefined;
  const usage = (await isolate.send("Runtime.getHeapUsage")) as { usedSize: number; backingStorageSize?: number };
  return { usedMiB: usage.usedSize / 2 ** 20, backingMiB: (usage.backingStorageSize ?? 0) / 2 ** 20 };
}
