/**
 * How OpenSSH reaches a cluster's VM: the endpoint from state (lib/cluster/access.ts:
 * 127.0.0.1 + forwarded port for user networking, the node IP + 22 for nat),
 * the cluster's key, and its pinned known_hosts, checked under the endpoint
 * (`[127.0.0.1]:PORT` or the node IP), the name every pin carries — a
 * known_hosts pinned by endpoint alone, as the test verbs and older states
 * have, works as well as one pinned by name too. `pharos ssh` passes
 * these as `-o` options; `pharos ssh-config` prints them as `Host` blocks for
 * plain `ssh -F`, `scp`, `rsync` and editors' remote plugins.
 */
import { PharosError } from '../errors.js';
import type { ClusterState, VmRecord } from './state.js';
import { accessOf } from './access.js';
import { sshConfigValue } from '../util/shell.js';
import type { ClusterPaths } from './paths.js';

/** A login name `pharos ssh -l` and `ssh-config -l` accept: a POSIX user name
 *  as `clusters.hpc.users[].name` has it (the schema's posixName), so no value
 *  can add an option or a line to ssh's config. */
export const LOGIN_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Throws a usage error (exit 2) for a login name that is not one. */
export function assertLoginName(user: string): void {
  if (LOGIN_NAME.test(user)) return;
  throw new PharosError(`-l ${JSON.stringify(user)}: not a user name`, {
    hint: 'a lower-case letter or _, then lower-case letters, digits, _ or -, at most 32 characters: root, or a user of clusters.hpc.users',
    exitCode: 2,
  });
}

/** OpenSSH options (name, value) that reach `vm` of `state` as `user`, trusting only the pinned host key. */
export function sshOptions(vm: VmRecord, paths: Pick<ClusterPaths, 'privateKey' | 'knownHosts'>, user: string): [string, string][] {
  const a = accessOf(vm);
  return [
    ['HostName', a.host],
    ['Port', String(a.port)],
    ['User', user],
    ['IdentityFile', paths.privateKey],
    ['IdentitiesOnly', 'yes'],
    ['UserKnownHostsFile', paths.knownHosts],
    ['GlobalKnownHostsFile', '/dev/null'],
    ['StrictHostKeyChecking', 'yes'],
    ['CheckHostIP', 'no'],
  ];
}

export interface SshConfigCluster {
  state: ClusterState;
  paths: Pick<ClusterPaths, 'privateKey' | 'knownHosts'>;
}

/**
 * One `Host` block per VM, aliased by its name and, where no other VM printed
 * shares it, its short name.
 */
export function renderSshConfig(clusters: SshConfigCluster[], user = 'root'): string {
  const shortCount = new Map<string, number>();
  for (const c of clusters) for (const v of Object.values(c.state.vms)) shortCount.set(v.shortName, (shortCount.get(v.shortName) ?? 0) + 1);
  const blocks: string[] = [];
  for (const c of clusters) {
    const vms = Object.values(c.state.vms);
    if (!vms.length) continue;
    blocks.push(`# cluster ${c.state.cluster} (${c.state.networkMode} networking), written by pharos ssh-config`);
    for (const v of vms) {
      const aliases = [v.name, ...(v.shortName && v.shortName !== v.name && shortCount.get(v.shortName) === 1 ? [v.shortName] : [])];
      blocks.push(`Host ${aliases.join(' ')}`, ...sshOptions(v, c.paths, user).map(([k, val]) => `  ${k} ${sshConfigValue(val)}`), '');
    }
  }
  return blocks.length ? blocks.join('\n') : '# no cluster has VMs (pharos cluster start or pharos build vms creates them)\n';
}
