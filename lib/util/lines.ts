/**
 * Text split into lines: `LineSplitter` turns a stream of chunks into whole
 * lines as they complete (what `onLine` callbacks of local and remote commands
 * see), `lastLines` keeps the end of an output for an error message.
 */

/**
 * Feeds text chunks, calls `onLine` for each complete line (without its `\n`);
 * `flush` hands over a last line that had no newline. A line longer than
 * `maxLine` characters is handed over in pieces of that size, so one endless
 * line cannot hold the memory.
 */
export class LineSplitter {
  private partial = '';
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = Infinity,
  ) {}

  push(text: string): void {
    if (!text) return;
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) this.onLine(l);
    while (this.partial.length > this.maxLine) {
      this.onLine(this.partial.slice(0, this.maxLine));
      this.partial = this.partial.slice(this.maxLine);
    }
  }

  /** Hands over the unfinished last line, if any. */
  flush(): void {
    const rest = this.partial;
    this.partial = '';
    if (rest) this.onLine(rest);
  }
}

/** The last `n` lines of `text`, surrounding white space trimmed first. */
export function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}
