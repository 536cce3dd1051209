/**
 * Where a cluster's files live.
 *
 * - State (small, private): `<stateRoot>/clusters/<cluster>/` — `state.json`
 *   (+ `.backup`), `ssh/id_ed25519{,.pub}` (the cluster's key pair) and
 *   `known_hosts`. `<stateRoot>/gpu-owners.json` is the machine-wide GPU record,
 *   `<stateRoot>/cluster-owners/<cluster>.json` which checkout owns each cluster
 *   name (owners.ts).
 *   stateRoot: `$PHAROS_STATE_DIR`, else `$XDG_STATE_HOME/pharos`, else
 *   `~/.local/state/pharos` — per user, not per checkout, because libvirt objects
 *   and ports are per machine, so every checkout must see every cluster.
 * - Data QEMU must open (overlays, console logs): `<dataRoot>/pools/<cluster>/`
 *   and `<dataRoot>/console/<cluster>/`. Under `qemu:///system` QEMU runs as
 *   `libvirt-qemu`, which cannot traverse `/root`, so the default there is
 *   `/var/lib/pharos`; for session URIs it is `$XDG_DATA_HOME/pharos`
 *   (`~/.local/share/pharos`). `$PHAROS_DATA_DIR` overrides both.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultStateRoot(): string {
  if (process.env.PHAROS_STATE_DIR) return process.env.PHAROS_STATE_DIR;
  const xdg = process.env.XDG_STATE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'state'), 'pharos');
}

export function defaultDataRoot(uri: string): string {
  if (process.env.PHAROS_DATA_DIR) return process.env.PHAROS_DATA_DIR;
  if (/\/system$/.test(uri) && process.getuid?.() === 0) return '/var/lib/pharos';
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share'), 'pharos');
}

export interface ClusterPaths {
  stateDir: string;
  stateFile: string;
  sshDir: string;
  privateKey: string;
  publicKey: string;
  knownHosts: string;
  poolDir: string;
  consoleDir: string;
}

export function clusterPaths(cluster: string, stateRoot: string, dataRoot: string): ClusterPaths {
  const stateDir = join(stateRoot, 'clusters', cluster);
  const sshDir = join(stateDir, 'ssh');
  return {
    stateDir,
    stateFile: join(stateDir, 'state.json'),
    sshDir,
    privateKey: join(sshDir, 'id_ed25519'),
    publicKey: join(sshDir, 'id_ed25519.pub'),
    knownHosts: join(stateDir, 'known_hosts'),
    poolDir: join(dataRoot, 'pools', cluster),
    consoleDir: join(dataRoot, 'console', cluster),
  };
}
