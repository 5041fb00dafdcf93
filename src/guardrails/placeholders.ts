// Reversible redaction: each value taken out of a prompt gets a placeholder
// (`[EMAIL_1]`, the same one wherever the value recurs), and the answer gets
// the value back in its place. The mapping lives in this object, for one
// request, and nowhere else.

/** `[` then a category in capitals, `_`, a number and `]`. */
const PLACEHOLDER = /\[[A-Z][A-Z0-9_]*_\d+\]/g;

export class Placeholders {
  private readonly byValue = new Map<string, string>();
  private readonly originals = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  /** Keeps the request's own placeholder-like text (`[EMAIL_1]` typed by the caller) from being taken for one of ours. */
  reserveIn(text: string): void {
    if (!text.includes("[")) return;
    for (const [found] of text.matchAll(PLACEHOLDER)) {
      if (this.originals.has(found)) continue;
      const split = found.lastIndexOf("_");
      const label = found.slice(1, split);
      const n = Number(found.slice(split + 1, -1));
      this.counts.set(label, Math.max(this.counts.get(label) ?? 0, n));
    }
  }

  get size(): number {
    return this.originals.size;
  }

  /** The placeholder standing for `value`, found as `category`. */
  for(category: string, value: string): string {
    const known = this.byValue.get(value);
    if (known) return known;
    const label = category.toUpperCase();
    const n = (this.counts.get(label) ?? 0) + 1;
    this.counts.set(label, n);
    const placeholder = `[${label}_${n}]`;
    this.byValue.set(value, placeholder);
    this.originals.set(placeholder, value);
    return placeholder;
  }

  /** Text with every placeholder of this request replaced by its value; others are left as they are. */
  restore(text: string): string {
    if (!text.includes("[")) return text;
    return text.replace(PLACEHOLDER, (placeholder) => this.originals.get(placeholder) ?? placeholder);
  }

  /**
   * How much of a text's end might be the start of a placeholder cut by a
   * chunk boundary (`… [EMA`): held back until the next chunk says.
   */
  partialTail(text: string): number {
    const open = text.lastIndexOf("[");
    if (open < 0) return 0;
    const tail = text.slice(open);
    if (tail.includes("]")) return 0;
    for (const placeholder of this.originals.keys()) if (placeholder.startsWith(tail)) return tail.length;
    return 0;
  }
}

/** Restores placeholders in text that arrives in pieces, a placeholder split between pieces restored whole. */
export class StreamRestorer {
  private held = "";

  constructor(private readonly placeholders: Placeholders) {}

  push(piece: string): string {
    const text = this.held + piece;
    const keep = this.placeholders.partialTail(text);
    this.held = keep > 0 ? text.slice(text.length - keep) : "";
    return this.placeholders.restore(keep > 0 ? text.slice(0, text.length - keep) : text);
  }

  /** What is held back, when no more text comes. */
  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }
}
