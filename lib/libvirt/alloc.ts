/**
 * SSH forward ports for `user` networking when a VM cannot have the one its
 * plan names (MACs are the plan's: lib/config/plan.ts).
 *
 * Ports: the first choice is stable per VM name (base + hash % span); a port is
 * taken only if no cluster's state records it and a real bind on 127.0.0.1
 * succeeds. A port already recorded for this VM is reused without the bind test
 * (its running QEMU may be the one listening).
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { PharosError } from '../errors.js';

export const PORT_BASE = 22200;
export const PORT_SPAN = 2000;

/** Whether 127.0.0.1:port can be bound right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      srv.close(() => resolve(true));
    });
  });
}

export interface PortRequest {
  vm: string;
  /** Port recorded for this VM in its cluster's state, if any. */
  recorded?: number;
}

/**
 * Allocate SSH forward ports for VMs. `taken` holds every port recorded in any
 * cluster's state (including this cluster's other VMs).
 */
export async function allocatePorts(reqs: PortRequest[], taken: Set<number>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const used = new Set(taken);
  for (const r of reqs) if (r.recorded !== undefined) out.set(r.vm, r.recorded);
  for (const [, p] of out) used.add(p);
  for (const r of reqs) {
    if (out.has(r.vm)) continue;
    const h = createHash('sha256').update(r.vm).digest().readUInt32BE(0);
    const start = h % PORT_SPAN;
    let found: number | undefined;
    for (let i = 0; i < PORT_SPAN; i++) {
      const p = PORT_BASE + ((start + i) % PORT_SPAN);
      if (used.has(p)) continue;
      if (await portIsFree(p)) {
        found = p;
        break;
      }
    }
    if (found === undefined) throw new PharosError(`no free SSH forward port in ${PORT_BASE}-${PORT_BASE + PORT_SPAN - 1}`);
    used.add(found);
    out.set(r.vm, found);
  }
  return out;
}
