/**
 * A target's log file (`.pharos/logs/NAME.log`). Writing never throws into the
 * target's output callbacks (a throw there would escape as a raw stack): the
 * first failure (full disk, EIO) is kept as a clear error naming the file,
 * later lines are dropped, and the engine fails the target with that error.
 * Lines written in one turn of the event loop (a chunk of a child's output)
 * go to the file in one `write`, at the end of that turn or at `close`.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PharosError } from '../errors.js';
import { io, ioError } from '../cache/ioerror.js';

export class TargetLog {
  /** The last lines (for the failure report). */
  readonly tail: string[] = [];
  /** Set by the first write that failed. */
  error: PharosError | undefined;
  private readonly fd: number;
  private pending = '';
  private closed = false;

  constructor(readonly path: string) {
    io('create', dirname(path), () => mkdirSync(dirname(path), { recursive: true }));
    this.fd = io('create', path, () => openSync(path, 'w'));
  }

  write(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 30) this.tail.shift();
    if (this.error || this.closed) return;
    if (this.pending === '') queueMicrotask(() => this.flush());
    this.pending += `${line}\n`;
  }

  private flush(): void {
    const text = this.pending;
    this.pending = '';
    if (!text || this.error || this.closed) return;
    try {
      writeSync(this.fd, text);
    } catch (e) {
      this.error = ioError(e, 'write the log', this.path);
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch (e) {
      this.error ??= ioError(e, 'write the log', this.path);
    }
  }
}
