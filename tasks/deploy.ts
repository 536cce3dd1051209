/**
 * Deploy targets: `inventory:<cluster>` (INI + YAML from the plan and the VMs'
 * live access) and one `deploy:<role>` per role the cluster uses, each running
 * that one role on just its hosts (the roles are listed in tasks/roles.ts).
 * Deploys whose hosts are disjoint run at the same time (tasks/host-locks.ts).
 * A role's key covers its files, the inventory, and the identity of every VM
 * (a VM that is a new machine gets every role again; a restarted one does not).
 */
import { target, type Target } from '../lib/index.js';
import { UnavailableError } from '../lib/errors.js';
import { buildInventory, inventoryDir, writeInventory, type NodeAccess } from '../lib/inventory/index.js';
import { PlaybookFailedError, deployStrategy, type PlaybookResult } from '../lib/tools/ansible.js';
import { profileLines } from '../lib/tools/ansible-events.js';
import { groupTable } from '../lib/inventory/groups.js';
import { HostLocks } from './host-locks.js';
import { readPublicKey } from '../lib/cluster/access.js';
import { deployRoles, runDeployRole } from './roles.js';
import type { ClusterTargets, KeysOut, VmOut } from './vms.js';

export interface InventoryOut {
  ini: string;
  yaml: string;
  /** Group -> its hosts (children included): which machines a deploy touches. */
  groups: Record<string, string[]>;
}

/** Only what the cluster looks like: a re-run that changed nothing has the
 *  same output, so the suites after it are cut off (counts go to the log). */
export interface DeployOut {
  role: string;
  hosts: string[];
  /** When a run last changed something on the hosts: dependents (the suites)
   *  re-run after a deploy that changed the cluster, and only then. */
  changedAt: string | null;
}

export interface DeployTargets {
  inventory: Target<InventoryOut>;
  roles: Target<DeployOut>[];
}

/** The mark a role's `fail` message starts with when something outside the machine is unreachable:
 *  `pharos-unavailable <what>: <sentence>` (see ansible/roles/kubernetes). */
export const UNAVAILABLE_MARK = 'pharos-unavailable';

/** The first marked message among what a playbook's failed tasks said, if any. */
export function unavailableIn(messages: readonly string[]): { what: string; message: string } | undefined {
  const re = new RegExp(`${UNAVAILABLE_MARK} (\\S+?): ([\\s\\S]+)`);
  for (const msg of messages) {
    const m = re.exec(msg);
    if (m?.[1] && m[2]) return { what: m[1], message: m[2].trim() };
  }
  return undefined;
}

export function deployTargets(ct: ClusterTargets, stateDir: string): DeployTargets {
  const plan = ct.plan;
  const vmDeps: Record<string, Target<VmOut>> = {};
  for (const [name, t] of ct.vms) vmDeps[name] = t;
  const dir = inventoryDir(stateDir, plan.name);

  const inventory = target<InventoryOut, Record<string, Target<unknown>>>({
    name: `inventory:${plan.name}`,
    description: `Ansible inventory of ${plan.name} (INI and YAML)`,
    deps: { keys: ct.keys, ...vmDeps },
    params: { plan },
    // The writers are part of what the files say (e.g. which values are !unsafe).
    inputs: ['lib/inventory/**'],
    outputFiles: (o) => [o.ini, o.yaml],
    run: async (ctx) => {
      const keys = ctx.deps.keys as KeysOut;
      const nodes = new Map<string, NodeAccess>();
      for (const name of ct.vms.keys()) {
        const v = ctx.deps[name] as VmOut;
        nodes.set(name, { host: v.sshHost, port: v.sshPort });
      }
      const publicKey = readPublicKey(keys.publicKey);
      const inv = buildInventory(plan, { nodes, user: 'root', keyFile: keys.privateKey, knownHostsFile: keys.knownHosts, ...(publicKey ? { publicKey } : {}) });
      return { ...(await writeInventory(inv, dir)), groups: groupTable(inv) };
    },
  });

  const roles: Target<DeployOut>[] = [];
  // Deploys run side by side only on disjoint hosts (the deploy pool is wider than 1).
  const locks = new HostLocks();
  const byRole = new Map<string, Target<DeployOut>>();
  for (const r of deployRoles(plan)) {
    const t = target<DeployOut, Record<string, Target<unknown>>>({
      name: `deploy:${r.role}`,
      description: `Ansible role ${r.role} on ${r.hosts}`,
      deps: { inventory, ...vmDeps },
      after: r.after.map((a) => byRole.get(a)).filter((x): x is Target<DeployOut> => x !== undefined),
      inputs: r.inputs,
      params: { role: r.role, hosts: r.hosts, extraVars: r.extraVars },
      tools: ['ansible-playbook'],
      pool: 'deploy',
      watchAlso: r.suites.map((x) => `test:${x}`),
      run: async (ctx) => {
        const inv = ctx.deps.inventory as InventoryOut;
        const hosts = [...new Set(r.touches.flatMap((g) => inv.groups[g] ?? []))];
        const busy = locks.holders(hosts);
        if (busy.length > 0) ctx.phase(`waiting for ${busy.join(', ')}`);
        const release = await locks.acquire(`deploy:${r.role}`, hosts, ctx.signal);
        let res: PlaybookResult;
        try {
          ctx.phase('ansible-playbook');
          ctx.log(`strategy: ${deployStrategy().strategy}`);
          res = await runDeployRole(r, {
            inventoryPath: inv.yaml,
            signal: ctx.signal,
            onLine: (l) => ctx.log(l),
            onTask: (t) => ctx.phase(t.name),
          });
        } catch (e) {
          // A role that found a vendor resource unreachable says so with a marked message.
          const u = ctx.signal?.aborted || !(e instanceof PlaybookFailedError) ? undefined : unavailableIn(e.failures.map((f) => f.msg));
          if (u) throw new UnavailableError(u.what, `deploy:${r.role}: ${u.message}`, { hint: 'this target needs the network outside this machine; what depends on it is skipped' });
          throw e;
        } finally {
          release();
        }
        ctx.log(`deploy:${r.role}: ok=${res.ok} changed=${res.changed}`);
        for (const l of profileLines(res.tasks, res.durationMs)) ctx.log(l);
        const prev = ctx.previous as DeployOut | undefined;
        const changedAt = res.changed > 0 ? new Date().toISOString() : (prev?.changedAt ?? null);
        return { role: r.role, hosts: Object.keys(res.recap).sort(), changedAt };
      },
    });
    byRole.set(r.role, t);
    roles.push(t);
  }
  return { inventory, roles };
}
