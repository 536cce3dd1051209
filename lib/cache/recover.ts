/**
 * `pharos clean` on a damaged state: the state is a cache of past results,
 * so the way out is to discard it (every target rebuilds) and say so.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isPharosError } from '../errors.js';
import { io } from './ioerror.js';
import { StateStore } from './state.js';

/** The files of the state, for `discardState`. */
const STATE_FILES = ['state.json', 'journal.ndjson', 'keys.json', 'stamps.json'];

/** Removes the record files (whatever is in their place); returns the names it removed. */
export function discardState(stateDir: string): string[] {
  const gone: string[] = [];
  for (const f of STATE_FILES) {
    const p = join(stateDir, f);
    if (statSync(p, { throwIfNoEntry: false })) {
      io('remove', p, () => rmSync(p, { recursive: true, force: true }));
      gone.push(f);
    }
  }
  return gone;
}

/** The store, or (when it cannot be loaded) a fresh one over a discarded state, with a note saying what went. */
export function openOrDiscard(stateDir: string): { store: StateStore; notes: string[] } {
  const notes: string[] = [];
  let store: StateStore;
  try {
    store = new StateStore(stateDir);
  } catch (e) {
    if (!isPharosError(e)) throw e;
    const gone = discardState(stateDir);
    notes.push(`${e.message.replace(/^the build state is damaged: /, '')}: discarded ${gone.join(', ') || 'nothing'}; every target rebuilds`);
    store = new StateStore(stateDir);
  }
  const logs = join(stateDir, 'logs');
  const st = statSync(logs, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) {
    io('remove', logs, () => rmSync(logs, { force: true }));
    notes.push(`removed ${logs}: not a directory`);
  }
  return { store, notes };
}
