/**
 * Reaching the VMs with OpenSSH, through the cluster's key and its pinned
 * known_hosts (options from `cluster/ssh-config.ts`):
 *   pharos ssh [-l USER] [-t] [-N] [-L SPEC]… [-R SPEC]… [-D PORT]… NODE [COMMAND [ARG…]]
 *   pharos ssh-config [--cluster NAME] [-l USER]   (ssh -F <(pharos ssh-config) NODE; scp; rsync -e)
 *
 * `-l USER` logs in as USER (default root) with the same cluster key: the
 * users role authorizes it for every user of `clusters.hpc.users`, so a
 * configured user needs no key of their own. USER must be a POSIX user name
 * (exit 2 otherwise).
 *
 * Everything after NODE belongs to the remote command, options included
 * (`pharos ssh controller ls -la`): `main.ts` stops parsing the global options
 * at `ssh` and the command passes what follows NODE through untouched. Both
 * work from the cluster state alone (no config, no checkout).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { PharosError } from '../../errors.js';
import { clusterPaths, defaultDataRoot, defaultStateRoot } from '../../cluster/paths.js';
import { listStates } from '../../cluster/state.js';
import { findVm } from '../../cluster/lifecycle.js';
import { assertLoginName, renderSshConfig, sshOptions } from '../../cluster/ssh-config.js';

interface SshOpts {
  user: string;
  tty?: boolean;
  forwardOnly?: boolean;
  localForward?: string[];
  remoteForward?: string[];
  dynamicForward?: string[];
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs ssh on this terminal (it must own it, which captured `exec` cannot give); signals sent to pharos reach it. */
function runSsh(args: string[]): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: 'inherit' });
    const forward = (s: NodeJS.Signals): void => void child.kill(s);
    for (const s of SIGNALS) process.on(s, forward);
    const off = (): void => {
      for (const s of SIGNALS) process.off(s, forward);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      off();
      reject(e.code === 'ENOENT' ? new PharosError('ssh: command not found', { hint: 'apt-get install openssh-client' }) : e);
    });
    child.on('close', (code, signal) => {
      off();
      // Killed by a signal: 128 + its number, as a shell reports it.
      resolve(code ?? (signal ? 128 + constants.signals[signal] : 255));
    });
  });
}

export function register(program: Command): void {
  program
    .command('ssh')
    .description('open an SSH session to a VM (or run COMMAND there) with the cluster key and pinned host keys')
    .argument('<node>', 'VM name (full or short)')
    .argument('[command...]', 'run this instead of a shell; its options need no --')
    // It uses no global option, and they could not follow `ssh` anyway (see main.ts).
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .option('-l, --user <user>', 'log in as USER (root, or a user of clusters.hpc.users) with the cluster key', 'root')
    .option('-t, --tty', 'allocate a terminal for COMMAND (top, htop, vim)')
    .option('-N, --forward-only', 'run no command: just keep the forwards open (Ctrl-C to close)')
    .option('-L, --local-forward <spec>', '[bind:]port:host:hostport on this machine to host:hostport seen from the VM (repeatable)', collect)
    .option('-R, --remote-forward <spec>', '[bind:]port:host:hostport on the VM to host:hostport seen from here (repeatable)', collect)
    .option('-D, --dynamic-forward <port>', 'a SOCKS proxy on this port into the cluster network (repeatable)', collect)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pharos ssh controller                      a shell on the controller, as root\n' +
        '  pharos ssh -l researcher controller        a shell as the configured user researcher (its jobs, its home)\n' +
        '  pharos ssh compute-01 ls -la /etc/slurm    options after NODE go to the command (a -- there is allowed)\n' +
        '  pharos ssh -N -L 9090:localhost:9090 controller   Prometheus at http://localhost:9090\n' +
        'Exit status: that of the remote command, or 255 when ssh itself fails (unknown host key, refused).',
    )
    .action(async (node: string, given: string[], o: SshOpts) => {
      assertLoginName(o.user);
      // `pharos ssh NODE -- CMD`, as with ssh or kubectl exec: the -- only separates.
      const command = given[0] === '--' ? given.slice(1) : given;
      const stateRoot = defaultStateRoot();
      const { state, vm } = await findVm(stateRoot, node);
      const paths = clusterPaths(state.cluster, stateRoot, defaultDataRoot(state.uri));
      const forwards = [
        ...(o.localForward ?? []).flatMap((f) => ['-L', f]),
        ...(o.remoteForward ?? []).flatMap((f) => ['-R', f]),
        ...(o.dynamicForward ?? []).flatMap((f) => ['-D', f]),
      ];
      if (o.forwardOnly && command.length) {
        throw new PharosError(`-N runs no command, and a command was given: ${command.join(' ')}`, { hint: 'drop -N, or the command', exitCode: 2 });
      }
      const args = [
        ...sshOptions(vm, paths, o.user).flatMap(([k, v]) => ['-o', `${k}=${v}`]),
        // Never prompt (the cluster key has no passphrase; an unknown host is an error).
        '-o', 'BatchMode=yes',
        // A forward that cannot be set up (port taken) fails the command instead of a warning.
        ...(forwards.length ? ['-o', 'ExitOnForwardFailure=yes', ...forwards] : []),
        ...(o.forwardOnly ? ['-N'] : []),
        ...(o.tty ? ['-t'] : []),
        // The host name is the alias: HostName/Port above say where it is.
        vm.name,
        ...(command.length ? ['--', ...command] : []),
      ];
      process.exitCode = await runSsh(args);
    });

  program
    .command('ssh-config')
    .description('print an OpenSSH config block per VM (key, pinned known_hosts): ssh -F <(pharos ssh-config) NODE, scp, rsync')
    .option('--cluster <name>', 'only this cluster (default: every cluster with state)')
    .option('-l, --user <user>', 'log in as USER (root, or a user of clusters.hpc.users) with the cluster key', 'root')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pharos ssh-config > ~/.ssh/pharos.conf    then "Include ~/.ssh/pharos.conf" in ~/.ssh/config\n' +
        '  ssh -F <(pharos ssh-config) controller\n' +
        '  scp -F <(pharos ssh-config) job.sh controller:/tmp/\n' +
        '  rsync -e "ssh -F $HOME/.ssh/pharos.conf" -a src/ controller:src/\n' +
        'Re-run it after a VM is recreated: forwarded ports can change.',
    )
    .action(async (o: { cluster?: string; user: string }) => {
      assertLoginName(o.user);
      const stateRoot = defaultStateRoot();
      const states = (await listStates(stateRoot)).filter((s) => !o.cluster || s.cluster === o.cluster);
      if (o.cluster && !states.length) throw new PharosError(`cluster ${o.cluster}: not created`, { hint: 'pharos cluster status lists the clusters with state' });
      const clusters = states.map((state) => ({ state, paths: clusterPaths(state.cluster, stateRoot, defaultDataRoot(state.uri)) }));
      process.stdout.write(renderSshConfig(clusters, o.user));
    });
}
