/**
 * Which hosts an inventory group stands for, its child groups included: the
 * hosts an Ansible play on that group touches.
 */
import type { Inventory } from './index.js';

/** Sorted host names of `group` and every group under it ([] for an unknown group). */
export function groupHosts(inv: Pick<Inventory, 'groups'>, group: string): string[] {
  const byName = new Map(inv.groups.map((g) => [g.name, g]));
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (name: string): void => {
    const g = byName.get(name);
    if (!g || seen.has(name)) return;
    seen.add(name);
    for (const h of g.hosts) out.add(h);
    for (const c of g.children) walk(c);
  };
  walk(group);
  return [...out].sort();
}

/** Every group's hosts, for a target's output (JSON-serialisable). */
export function groupTable(inv: Pick<Inventory, 'groups'>): Record<string, string[]> {
  return Object.fromEntries(inv.groups.map((g) => [g.name, groupHosts(inv, g.name)]));
}
