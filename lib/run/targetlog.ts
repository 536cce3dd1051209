/**
 * A target's log file (`.pharos/logs/NAME.log`). Writing never throws into the
 * target's output callbacks (a throw there would escape as a raw stack): the
 * first failure (full disk, EIO) is kept as a clear error naming the file,
 * later lines are dropped, and the engine fails the target with that error.
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

  constructor(readonly path: string) {
    io('create', dirname(path), () => mkdirSync(dirname(path), { recursive: true }));
    this.fd = io('create', path, () => openSync(path, 'w'));
  }

  write(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 30) this.tail.shift();
    if (this.error) return;
    try {
      writeSync(this.fd, `${line}\n`);
    } catch (e) {
      this.error = ioError(e, 'write the log', this.path);
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch (e) {
      this.error ??= ioError(e, 'write the log', this.path);
    }
  }
}
