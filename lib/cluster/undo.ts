/**
 * The undo stack `startCluster` and `convergeVm` push their steps onto, and
 * two small helpers the operations share (`exists`, `ignoreNotFound`).
 */
import { stat } from 'node:fs/promises';
import * as virsh from '../tools/virsh.js';
import type { Log } from './env.js';

/** Actions to revert, run newest first; failures are logged, not thrown. */
export class UndoStack {
  private readonly steps: { what: string; fn: () => Promise<void> }[] = [];
  push(what: string, fn: () => Promise<void>): void {
    this.steps.push({ what, fn });
  }
  get size(): number {
    return this.steps.length;
  }
  async run(log: Log): Promise<string[]> {
    const failed: string[] = [];
    while (this.steps.length) {
      const s = this.steps.pop()!;
      try {
        await s.fn();
        log(`rolled back: ${s.what}`);
      } catch (e) {
        failed.push(`${s.what}: ${(e as Error).message}`);
      }
    }
    return failed;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!virsh.isNotFound(e) && !/not (active|running)|is not active/i.test((e as Error).message)) throw e;
  }
}
