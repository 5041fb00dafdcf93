// One watchdog for a whole stream, not a timer per chunk: when it fires it
// looks at when the last chunk came, and either sleeps for the rest of the
// wait or calls the stream silent (the relay then aborts the upstream).
export interface IdleWatchdog {
  /** A chunk came. */
  heard(): void;
  stop(): void;
  /** Whether the stream went quiet for the whole wait. */
  readonly silent: boolean;
}

/** Watches for `idleMs` of silence (none when `idleMs` is 0), and calls `onSilent` once when it comes. */
export function idleWatchdog(idleMs: number, onSilent: () => void): IdleWatchdog {
  let lastChunkAt = Date.now();
  let silent = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = (ms: number) => {
    timer = setTimeout(() => {
      const quiet = Date.now() - lastChunkAt;
      if (quiet < idleMs) return watch(idleMs - quiet);
      silent = true;
      onSilent();
    }, ms);
  };
  if (idleMs > 0) watch(idleMs);
  return {
    heard: () => {
      lastChunkAt = Date.now();
    },
    stop: () => {
      if (timer !== undefined) clearTimeout(timer);
    },
    get silent() {
      return silent;
    },
  };
}
