// Server-sent events: splitting a byte stream into whole events.

const EVENT_END = /\r?\n\r?\n/;

/** Collects text and hands back each complete event (without its blank line). */
export class SseSplitter {
  private buffer = "";

  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    for (let match = EVENT_END.exec(this.buffer); match; match = EVENT_END.exec(this.buffer)) {
      events.push(this.buffer.slice(0, match.index));
      this.buffer = this.buffer.slice(match.index + match[0].length);
    }
    return events;
  }

  /** Whatever arrived after the last complete event. */
  get pending(): string {
    return this.buffer;
  }
}

/** The `data:` payload of one event, multi-line data joined by newlines. */
export function sseData(event: string): string | undefined {
  let data: string | undefined;
  for (const line of event.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
} as const;

/** How a relayed stream ended: whole, cut by the upstream, or abandoned by the client. */
export interface StreamEnd {
  kind: "complete" | "upstream_error" | "client_closed";
  error?: string;
}
