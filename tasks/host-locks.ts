/**
 * Host locks for deploys: two `deploy:<role>` targets may run at once (the
 * `deploy` pool is wider than 1) only when the sets of hosts they touch are
 * disjoint. A deploy takes all of its hosts in one step (so two deploys never
 * wait on each other in a cycle) and waiters are served first come, first
 * served: a later deploy never overtakes an earlier one that wants one of its
 * hosts. The order between roles stays what their `after` edges say; this only
 * keeps two playbooks off the same machine at the same time.
 */
import { PharosError } from '../lib/errors.js';

interface Waiter {
  hosts: readonly string[];
  grant: () => void;
}

export class HostLocks {
  private readonly held = new Map<string, string>();
  private readonly queue: Waiter[] = [];

  /** Who holds each host now (host -> holder), for "waiting for" messages. */
  holders(hosts: readonly string[]): string[] {
    return [...new Set(hosts.map((h) => this.held.get(h)).filter((x): x is string => x !== undefined))].sort();
  }

  /**
   * Resolves once every host is free and no earlier waiter wants one of them;
   * the returned function releases them (calling it twice is harmless).
   */
  acquire(holder: string, hosts: readonly string[], signal?: AbortSignal): Promise<() => void> {
    const want = [...new Set(hosts)].sort();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new PharosError(`interrupted before ${holder} took its hosts`, { exitCode: 130 }));
        return;
      }
      const onAbort = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i < 0) return;
        this.queue.splice(i, 1);
        this.pump();
        reject(new PharosError(`interrupted while ${holder} waited for ${want.join(', ')}`, { exitCode: 130 }));
      };
      const waiter: Waiter = {
        hosts: want,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          for (const h of want) this.held.set(h, holder);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            for (const h of want) if (this.held.get(h) === holder) this.held.delete(h);
            this.pump();
          });
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  private pump(): void {
    const blocked = new Set<string>(this.held.keys());
    for (let i = 0; i < this.queue.length; ) {
      const w = this.queue[i] as Waiter;
      if (w.hosts.every((h) => !blocked.has(h))) {
        this.queue.splice(i, 1);
        w.grant();
        for (const h of w.hosts) blocked.add(h);
        continue;
      }
      // An earlier waiter keeps its hosts reserved against later ones.
      for (const h of w.hosts) blocked.add(h);
      i++;
    }
  }
}
