/**
 * THE SSH forward port policy for `user` networking (MACs are the plan's:
 * lib/config/plan.ts); lib/cluster/ports.ts feeds it from the clusters' state
 * for both ways a VM is brought up (the `vm:` target and `cluster start`).
 *
 * For each VM, in order:
 * 1. a port already used for it (recorded in its cluster's state, else the
 *    port its last build gave it) is kept, without the bind test: its running
 *    QEMU may be the one listening;
 * 2. else the port its plan offers (`NodePlan.sshPort`, what render-plan
 *    prints), when no other VM holds it and a real bind on 127.0.0.1 succeeds;
 * 3. else the first free port from a first choice that is stable per VM name
 *    (base + hash % span), skipping ports other VMs hold or something binds.
 * "Other VMs" are `taken` (every port recorded in any cluster's state for a VM
 * not in this request), the kept ports and the ones chosen earlier in the call.
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
  /** Port already used for this VM (its state record, else its last build's), if any. */
  recorded?: number;
  /** Port the VM's plan offers it (`NodePlan.sshPort`), if any. */
  planned?: number;
}

/**
 * SSH forward ports for VMs by the policy above. `taken` holds the ports other
 * VMs (not in `reqs`) hold in any cluster's state.
 */
export async function allocatePorts(reqs: PortRequest[], taken: Set<number>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const used = new Set(taken);
  for (const r of reqs) if (r.recorded !== undefined) out.set(r.vm, r.recorded);
  for (const [, p] of out) used.add(p);
  for (const r of reqs) {
    if (out.has(r.vm)) continue;
    if (r.planned !== undefined && !used.has(r.planned) && (await portIsFree(r.planned))) {
      used.add(r.planned);
      out.set(r.vm, r.planned);
      continue;
    }
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
