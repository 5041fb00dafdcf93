// Work that requests of one isolate hand over to be done together: each
// request adds its item, and the request that finds no flush under way runs
// the next one, for everything added by then. Each request's deferred work
// lasts until a flush holding its item is over, so no item depends on another
// request's lifetime, and no promise crosses from one request to another
// (the Workers runtime does not promise to deliver those): waiting is by
// polling this isolate's own counters.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 3;

export class IsolateBatch<T> {
  private items: T[] = [];
  private added = 0;
  private flushed = 0;
  private flushing = false;

  /**
   * @param flushItems does the work for a batch; it must not throw (retrying,
   *   parking or logging what it cannot do is its own business).
   * @param gatherMs how long a flush waits for more items to join it.
   */
  constructor(
    private readonly flushItems: (items: T[]) => Promise<void>,
    private readonly gatherMs: number,
  ) {}

  /** Adds an item; resolves once a flush holding it is over. */
  async add(item: T): Promise<void> {
    this.items.push(item);
    const mine = ++this.added;
    // A flush under way may already hold this item (it gathers first): look again once it could be over.
    while (this.flushed < mine) {
      if (!this.flushing) await this.flush();
      else await sleep(this.gatherMs + POLL_MS);
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      if (this.gatherMs > 0) await sleep(this.gatherMs);
      const through = this.added;
      const items = this.items;
      this.items = [];
      await this.flushItems(items);
      this.flushed = through;
    } finally {
      this.flushing = false;
    }
  }
}
