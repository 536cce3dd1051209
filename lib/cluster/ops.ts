/**
 * Convergence operations on one cluster's libvirt objects — what the `vm:*`,
 * `network:*` and `pool:*` targets and the `pharos cluster|vm` commands call.
 *
 * Each `ensure*` compares the real world with the plan and does the least that
 * makes them equal, reporting what it did. `startCluster` chains them under an
 * undo stack: when any step fails, what THIS run created (networks, pools,
 * overlays, domains, started VMs) is undone in reverse order, so a failed start
 * leaves no orphans and no half-written state. `destroyCluster` is idempotent and
 * removes only what is the cluster's own: domains whose Pharos metadata names it,
 * networks and pools its state records; anything else sharing the `<cluster>-`
 * prefix is reported and left alone. The `ensure*` steps likewise refuse to
 * adopt a same-named object Pharos did not create.
 *
 * This file only gathers the API; each concern has its own file: env.ts (the
 * cluster's environment and shared result types), undo.ts, network.ts, pool.ts,
 * disk.ts, domain.ts (spec, define, start, stop, SSH readiness), gpus.ts (the
 * GPU record), probe.ts (and the one freshness rule, `vmFreshness`), start.ts
 * (`startCluster`, `planStart` for -n), lifecycle.ts (stop, destroy, status, one
 * VM); one VM's convergence is vm.ts, its SSH port ports.ts, the state file state.ts.
 */
export * from './env.js';
export { UndoStack } from './undo.js';
export * from './network.js';
export * from './pool.js';
export * from './disk.js';
export * from './domain.js';
export * from './gpus.js';
export * from './probe.js';
export * from './start.js';
export * from './lifecycle.js';
