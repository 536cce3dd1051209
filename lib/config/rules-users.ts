/**
 * Rules on `clusters.hpc.users` the schema cannot express: a name is not a
 * system account, and names, uids and primary gids are unique (a user's
 * primary group is named like the user and has `gid`, default the uid, so
 * two users with one gid would be two groups with one id).
 */
import type { ErrorDetail } from '../errors.js';
import type { ClusterUser } from './types.js';
import type { Path } from './rules.js';

/** Accounts a Debian 12 node of Pharos already has, or that its roles make
 *  (Slurm, munge, MariaDB, monitoring, NFS, BeeGFS): a config user of that
 *  name would take over a daemon's files. */
export const SYSTEM_ACCOUNTS: ReadonlySet<string> = new Set([
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy', 'www-data',
  'backup', 'list', 'irc', 'gnats', 'nobody', 'nogroup', '_apt', 'messagebus', 'sshd', 'polkitd', 'tss',
  'statd', '_rpc', 'ntp', '_chrony', 'avahi', 'dnsmasq', 'uuidd', 'tcpdump',
  'slurm', 'munge', 'mysql', 'prometheus', 'grafana', 'beegfs', 'nvidia-persistenced',
  'admin', 'debian',
]);

/** Groups a config user may not be put in: membership would give root-equivalent
 *  access, or a daemon's secrets (shadow, the munge key, the Slurm state). */
export const FORBIDDEN_GROUPS: ReadonlySet<string> = new Set(['root', 'shadow', 'sudo', 'adm', 'disk', 'kmem', 'slurm', 'munge', 'mysql']);

export function isSystemAccount(name: string): boolean {
  return SYSTEM_ACCOUNTS.has(name) || name.startsWith('systemd-');
}

type At = (path: Path, d: Omit<ErrorDetail, 'file' | 'field'>) => ErrorDetail;

export function checkUsers(users: readonly ClusterUser[], base: Path, at: At): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const names = new Map<string, number>();
  const uids = new Map<number, number>();
  const gids = new Map<number, number>();
  users.forEach((u, i) => {
    const p: Path = [...base, i];
    if (isSystemAccount(u.name)) {
      errors.push(
        at([...p, 'name'], {
          message: `\`${u.name}\` is a system account`,
          expected: 'the name of a person or a project, not an account the nodes already have',
          hint: 'root is for administration (pharos ssh NODE); pick another name, e.g. researcher',
        }),
      );
    }
    const prevName = names.get(u.name);
    if (prevName !== undefined) {
      errors.push(at([...p, 'name'], { message: `user \`${u.name}\` is listed twice (also users[${prevName}])`, expected: 'unique user names' }));
    } else names.set(u.name, i);
    const prevUid = uids.get(u.uid);
    if (prevUid !== undefined) {
      errors.push(
        at([...p, 'uid'], {
          message: `uid ${u.uid} of \`${u.name}\` is also the uid of \`${users[prevUid]!.name}\``,
          expected: 'a uid per user',
          hint: 'two names for one uid would own each other\'s files',
        }),
      );
    } else uids.set(u.uid, i);
    const gid = u.gid ?? u.uid;
    const prevGid = gids.get(gid);
    if (prevGid !== undefined) {
      const other = users[prevGid]!;
      errors.push(
        at([...p, u.gid === undefined ? 'uid' : 'gid'], {
          message: `primary gid ${gid} of \`${u.name}\` is also the primary gid of \`${other.name}\`${u.gid === undefined ? ' (the gid defaults to the uid)' : ''}`,
          expected: 'a primary gid per user (each user has a group named like it)',
          hint: 'to share files, put both users in one supplementary group (groups: [...])',
        }),
      );
    } else gids.set(gid, i);
    u.groups?.forEach((g, j) => {
      if (FORBIDDEN_GROUPS.has(g)) {
        errors.push(
          at([...p, 'groups', j], {
            message: `group \`${g}\` would give \`${u.name}\` root's or a daemon's access`,
            expected: `a project group, not one of: ${[...FORBIDDEN_GROUPS].join(', ')}`,
            hint: 'administration is root\'s (pharos ssh NODE)',
          }),
        );
      }
    });
  });
  return errors;
}
