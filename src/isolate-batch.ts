// Work that requests of one isolate hand over to be done together. The first
// request to add an item to an open batch owns it: its deferred work waits a
// moment for others to join, closes the batch and does the work. Later
// requests join the open batch; with `waitForFlush` their deferred work also
// lasts until that batch is done (polling this isolate's own state, so no
// promise crosses from one request to another: the Workers runtime does not
// promise to deliver those), without it they leave at once and the owner's
// lifetime carries their item.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A batch takes at most this many items; the next one opens a batch of its own. */
const MAX_ITEMS = 1_000;

interface Batch<T> {
  items: T[];
  done: boolean;
}

export class IsolateBatch<T> {
  private open: Batch<T> | undefined;

  /**
   * @param flushItems does the work for a batch; it must not throw (retrying,
   *   parking or logging what it cannot do is its own business).
   * @param options.gatherMs how long a batch stays open for others to join.
   * @param options.waitForFlush whether a joining request waits for the batch to be done.
   * @param options.maxItems the most items a batch holds (1,000 unless told).
   */
  constructor(
    private readonly flushItems: (items: T[]) => Promise<void>,
    private readonly options: { gatherMs: number; waitForFlush: boolean; maxItems?: number },
  ) {}

  /** Adds an item; resolves once its batch is done (the owner always; others with `waitForFlush`). */
  async add(item: T): Promise<void> {
    const open = this.open;
    if (open) {
      open.items.push(item);
      // Full: closed to newcomers, so no batch grows past its bound however many requests arrive while it gathers.
      if (open.items.length >= (this.options.maxItems ?? MAX_ITEMS)) this.open = undefined;
      if (!this.options.waitForFlush) return;
      while (!open.done) await sleep(this.options.gatherMs);
      return;
    }
    const batch: Batch<T> = { items: [item], done: false };
    this.open = batch;
    try {
      await sleep(this.options.gatherMs);
      if (this.open === batch) this.open = undefined;
      await this.flushItems(batch.items);
    } finally {
      batch.done = true;
    }
  }
}
