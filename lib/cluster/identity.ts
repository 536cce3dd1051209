/**
 * SSH identity of a cluster.
 *
 * - Client key: one ed25519 key pair per cluster (`ssh/id_ed25519`, 0600),
 *   made with `ssh-keygen`; its public half is handed to every VM through fw_cfg
 *   (`ssh_authorized_key=`), so images carry no keys.
 * - Host keys: a Pharos image generates its host keys on first boot and
 *   announces the public halves on the serial console as
 *   `PHAROS-HOSTKEY <type> <base64>` (packer/base/pharos-firstboot.sh). The host
 *   reads them from the console log that virtlogd writes — a channel only the
 *   host and the VM share — and pins them in the cluster's `known_hosts`. They are
 *   pinned once: when a domain is (re)created its old entries are removed, and the
 *   next boot's announcement is pinned (lib/ssh/known-hosts.ts holds the file's
 *   format, matching and the serialized, atomic updates). Nothing ever connects with
 *   `StrictHostKeyChecking=no`, and no key is accepted from the network.
 */
import { mkdir, readFile, stat, chmod } from 'node:fs/promises';
import { exec } from '../tools/exec.js';
import { PharosError } from '../errors.js';
import { parseHostKeyLines, type HostKey } from '../images/firstboot.js';
import type { ClusterPaths } from './paths.js';
import { pollWithBackoff } from '../util/poll.js';

export async function ensureClusterKey(paths: ClusterPaths, comment: string): Promise<{ created: boolean; publicKey: string }> {
  await mkdir(paths.sshDir, { recursive: true, mode: 0o700 });
  let created = false;
  try {
    await stat(paths.privateKey);
  } catch {
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', paths.privateKey], { pkg: 'openssh-client' });
    created = true;
  }
  await chmod(paths.privateKey, 0o600);
  const publicKey = (await readFile(paths.publicKey, 'utf8')).trim();
  return { created, publicKey };
}

export { isPinned, pinHost, pinPatterns, unpinHost } from '../ssh/known-hosts.js';

/** Poll the console log until the guest announced its host keys. */
export async function waitForHostKeys(consoleLog: string, timeoutMs: number, what: string): Promise<HostKey[]> {
  const got = await pollWithBackoff(
    async () => {
      try {
        const keys = parseHostKeyLines(await readFile(consoleLog, 'utf8'));
        if (keys.length > 0) return keys;
      } catch {
        /* the log appears when the domain starts */
      }
      return undefined;
    },
    { timeoutMs, firstDelayMs: 200, maxDelayMs: 2000 },
  );
  if (got) return got.value;
  throw new PharosError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what} to announce its SSH host keys on the serial console (${consoleLog})`, {
    hint: 'the image must run pharos-firstboot (it prints PHAROS-HOSTKEY lines); look at the console log for how far it booted',
  });
}
