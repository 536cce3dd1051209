/** The inventory value: one cluster's hosts, groups and variables, as
 *  `buildInventory` makes it and the INI and YAML writers print it. */
import type { ClusterPlan } from '../model.js';
import type { SshAccess } from '../cluster/access.js';

export type InventoryValue = string | number | boolean | InventoryValue[] | { [key: string]: InventoryValue };
export type InventoryVars = Record<string, InventoryValue>;

export interface InventoryGroup {
  name: string;
  /** Host names directly in this group. */
  hosts: string[];
  /** Names of child groups. */
  children: string[];
  vars: InventoryVars;
}

export interface Inventory {
  cluster: string;
  kind: ClusterPlan['kind'];
  /** Host variables, in node order. */
  hosts: Record<string, InventoryVars>;
  /** Groups in output order (parents before the children they list). */
  groups: InventoryGroup[];
}

/** Where SSH reaches each node (lib/cluster/access.ts, read from the cluster's
 *  state). Nodes missing here get their `nat` endpoint (cluster IP, port 22)
 *  in `nat` mode; in `user` mode a missing node is an error. */
export type InventoryAccess = SshAccess;
