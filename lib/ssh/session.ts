/**
 * One root session on a cluster VM: wait for its SSH banner, connect with the
 * cluster's key (host key checked against the cluster's pinned known_hosts,
 * under the VM's domain name too), run the caller's work, always close.
 * What the registry push, the containerd preload and `gpu move` share.
 */
import { connect, type SshConnection } from '../tools/ssh.js';
import { waitForSsh } from './banner.js';

/** Where a VM's SSH answers (its state record or its `vm:` target's output). */
export interface VmAddress {
  name: string;
  sshHost: string;
  sshPort: number;
}

/** The cluster's key files. */
export interface ClusterKeyFiles {
  privateKey: string;
  knownHosts: string;
}

export interface SessionOptions {
  /** How long to wait for the banner (a VM may still be booting). */
  bannerTimeoutMs?: number;
  signal?: AbortSignal;
}

export async function withRootSession<T>(vm: VmAddress, keys: ClusterKeyFiles, work: (conn: SshConnection) => Promise<T>, o: SessionOptions = {}): Promise<T> {
  await waitForSsh({ host: vm.sshHost, port: vm.sshPort, timeoutMs: o.bannerTimeoutMs ?? 60_000, signal: o.signal });
  const conn = await connect({
    host: vm.sshHost,
    port: vm.sshPort,
    username: 'root',
    privateKeyPath: keys.privateKey,
    knownHostsPath: keys.knownHosts,
    hostAlias: vm.name,
    readyTimeoutMs: 30_000,
  });
  try {
    return await work(conn);
  } finally {
    conn.close();
  }
}
