/**
 * `clean`: removes records and logs (all, or of the selected targets), never
 * the machine cache. It is the way out of a damaged state: it discards it
 * (every target rebuilds) and says so in `notes`, as it does for an
 * unreadable lock.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { select } from '../graph/graph.js';
import { acquireLock } from '../cache/lock.js';
import { openOrDiscard } from '../cache/recover.js';
import { io } from '../cache/ioerror.js';
import type { EngineContext } from './context.js';

export function clean(c: EngineContext, selectors?: readonly string[]): { removed: string[]; notes: string[] } {
  const { stateDir, graph } = c;
  const notes: string[] = [];
  const release =
    c.opts.lock !== false ? acquireLock(stateDir, undefined, { onUnreadable: (why) => notes.push(`removed ${join(stateDir, 'lock')}: ${why}`) }) : () => {};
  try {
    const opened = openOrDiscard(stateDir);
    notes.push(...opened.notes);
    const st = opened.store;
    c.resetStore(st);
    const names = selectors && selectors.length ? select(graph, selectors).map((n) => n.name) : [...new Set([...st.records.keys(), ...graph.nodes.map((n) => n.name)])];
    const removed: string[] = [];
    for (const name of names) {
      if (st.records.has(name)) removed.push(name);
      st.forget(name);
      const lp = c.logPath(name);
      io('remove', lp, () => rmSync(lp, { force: true, recursive: true }));
    }
    st.markDirty();
    st.save();
    return { removed, notes };
  } finally {
    release();
  }
}
