// Work that requests of one isolate hand over to be done together. The first
// request to add an item to an open batch owns it: its deferred work waits a
// moment for others to join, closes the batch and does the work. Later
// requests join the open batch; with `waitForFlush` their deferred work also
// lasts until that batch is done (polling this isolate's own state, so no
// promise crosses from one request to another: the Workers runtime does not
// promise to deliver those), without it they leave at once and the owner's
// lifetime carries their item.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
   */
  constructor(
    private readonly flushItems: (items: T[]) => Promise<void>,
    private readonly options: { gatherMs: number; waitForFlush: boolean },
  ) {}

  /** Adds an item; resolves once its batch is done (the owner always; others with `waitForFlush`). */
  async add(item: T): Promise<void> {
    const open = this.open;
    if (open) {
      open.items.push(item);
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
