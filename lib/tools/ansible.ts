/**
 * ansible-playbook for the graph: one call runs a playbook with Pharos's
 * ansible.cfg, streams its output, and returns the per-host counts (a second
 * deploy must report `changed: 0`) and every task's time, both read from the
 * JSON-lines events of ansible/callback_plugins/pharos_events.py (never from
 * the PLAY RECAP text). Which roles a deploy runs, on which
 * hosts and in which order, is the catalogue in tasks/roles.ts.
 */
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PharosError, type ErrorDetail } from '../errors.js';
import { exec } from './exec.js';
import { shellQuote } from '../util/shell.js';
import { lastLines } from '../util/lines.js';
import { eventsEnv, PlaybookEvents, type HostRecap, type TaskFailure, type TaskTiming } from './ansible-events.js';

/** `ansible/` in this checkout. */
export const ANSIBLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'ansible');
export const ANSIBLE_CFG = join(ANSIBLE_DIR, 'ansible.cfg');
export const RUNTIME_PLAYBOOK = join(ANSIBLE_DIR, 'playbooks', 'playbook-hpc-runtime.yml');
export const DEPLOY_ROLE_PLAYBOOK = join(ANSIBLE_DIR, 'playbooks', 'deploy-role.yml');
export const IMAGE_PLAYBOOKS = {
  'hpc-controller': join(ANSIBLE_DIR, 'playbooks', 'image-hpc-controller.yml'),
  'hpc-compute': join(ANSIBLE_DIR, 'playbooks', 'image-hpc-compute.yml'),
} as const;

export type { HostRecap, TaskFailure, TaskTiming } from './ansible-events.js';

export interface PlaybookResult {
  /** Sums over every host. */
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
  recap: Record<string, HostRecap>;
  /** Every task in run order with its wall time, hosts and outcome. */
  tasks: TaskTiming[];
  durationMs: number;
  /** ansible-playbook's exit status (0 on success). */
  code: number;
  /** The command line, for "re-run with" hints. */
  command: string;
}

export type ExtraVarValue = string | number | boolean | ExtraVarValue[] | { [k: string]: ExtraVarValue };

export interface RunPlaybookOptions {
  /** Absolute, or relative to `ansible/playbooks/`. */
  playbook: string;
  inventoryPath: string;
  /** Host pattern for `--limit`. */
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  /** Passed as one JSON `-e` argument (typed values survive). */
  extraVars?: Record<string, ExtraVarValue>;
  check?: boolean;
  diff?: boolean;
  /** Extra -v flags (0–4). */
  verbosity?: number;
  signal?: AbortSignal;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Hears each task as it starts (`role : task name`): the status line. */
  onTask?: (task: TaskTiming) => void;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Throw a PharosError when a host failed or was unreachable (default true). */
  throwOnFailure?: boolean;
}

export function playbookArgs(opts: RunPlaybookOptions): string[] {
  const playbook = resolve(join(ANSIBLE_DIR, 'playbooks'), opts.playbook);
  const args = ['-i', opts.inventoryPath];
  if (opts.limit) args.push('--limit', opts.limit);
  if (opts.tags?.length) args.push('--tags', opts.tags.join(','));
  if (opts.skipTags?.length) args.push('--skip-tags', opts.skipTags.join(','));
  if (opts.extraVars && Object.keys(opts.extraVars).length > 0) args.push('-e', JSON.stringify(opts.extraVars));
  if (opts.check) args.push('--check');
  if (opts.diff) args.push('--diff');
  if (opts.verbosity && opts.verbosity > 0) args.push(`-${'v'.repeat(Math.min(4, opts.verbosity))}`);
  args.push(playbook);
  return args;
}

/** The environment every Pharos ansible run gets: our ansible.cfg, no colour
 *  (the log is plain text), unbuffered output (progress streams live). */
export function ansibleEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    ANSIBLE_CONFIG: ANSIBLE_CFG,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    PYTHONUNBUFFERED: '1',
  };
}

/** Debian's ansible-mitogen strategy plugin (the package also links it onto Ansible's strategy path). */
export const MITOGEN_STRATEGY_PLUGIN = '/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy/mitogen_linear.py';

/**
 * The strategy a cluster deploy runs with: Mitogen's `mitogen_linear` where
 * ansible-mitogen is installed — one resident Python per host for the whole
 * run instead of a fresh interpreter and AnsiballZ import per module, which
 * under TCG is most of a task's time. `PHAROS_MITOGEN=0` keeps Ansible's own
 * strategy, `PHAROS_MITOGEN=1` insists on Mitogen; an ANSIBLE_STRATEGY already
 * in the environment is left as it is.
 */
export function deployStrategy(env: NodeJS.ProcessEnv = process.env, installed: (path: string) => boolean = existsSync): { env: Record<string, string>; strategy: string } {
  if (env.ANSIBLE_STRATEGY) return { env: {}, strategy: env.ANSIBLE_STRATEGY };
  const want = env.PHAROS_MITOGEN ?? '';
  if (want !== '' && want !== '0' && want !== '1') {
    throw new PharosError(`PHAROS_MITOGEN is ${JSON.stringify(want)}`, { problems: [{ message: 'PHAROS_MITOGEN', expected: '0 (Ansible\'s own strategy) or 1 (Mitogen, required)' }], hint: 'unset it to use Mitogen where ansible-mitogen is installed' });
  }
  if (want === '0') return { env: {}, strategy: 'linear' };
  if (!installed(MITOGEN_STRATEGY_PLUGIN)) {
    if (want === '1') throw new PharosError('PHAROS_MITOGEN=1 but ansible-mitogen is not installed', { hint: 'apt-get install ansible-mitogen' });
    return { env: {}, strategy: 'linear' };
  }
  return { env: { ANSIBLE_STRATEGY: 'mitogen_linear' }, strategy: 'mitogen_linear' };
}

export async function runPlaybook(opts: RunPlaybookOptions): Promise<PlaybookResult> {
  const args = playbookArgs(opts);
  const command = shellQuote(['ANSIBLE_CONFIG=' + ANSIBLE_CFG, 'ansible-playbook', ...args]);
  const started = Date.now();
  const events = new PlaybookEvents(opts.onTask);
  const env = ansibleEnv(opts.env);
  const r = await exec('ansible-playbook', args, {
    cwd: ANSIBLE_DIR,
    env: { ...env, ...eventsEnv(ANSIBLE_DIR, env) },
    onLine: opts.onLine,
    onFd3Line: (l) => events.feed(l),
    signal: opts.signal,
    timeoutMs: opts.timeoutMs,
    timeoutWhat: `ansible-playbook ${opts.playbook}`,
    // Exit codes 1–8 still report per-host counts worth reporting.
    okCodes: [0, 1, 2, 3, 4, 5, 6, 7, 8],
    pkg: 'ansible-core',
  });
  const recap = events.recap;
  if (r.code === 0 && !events.finished) {
    // Never guess the counts: a deploy that changed something must say so.
    throw new PharosError(`ansible-playbook ${opts.playbook} succeeded but its pharos_events callback reported no final counts`, {
      problems: events.junk.map((message) => ({ message: `unreadable event line: ${message}` })),
      hint: `check ${join(ANSIBLE_DIR, 'callback_plugins', 'pharos_events.py')} against this ansible-core version`,
    });
  }
  const hosts = Object.values(recap);
  const sum = (k: keyof HostRecap): number => hosts.reduce((a, h) => a + h[k], 0);
  const result: PlaybookResult = {
    ok: sum('ok'),
    changed: sum('changed'),
    failed: sum('failed'),
    unreachable: sum('unreachable'),
    skipped: sum('skipped'),
    recap,
    tasks: events.tasks,
    durationMs: Date.now() - started,
    code: r.code,
    command,
  };
  if (r.code !== 0 && (opts.throwOnFailure ?? true)) {
    const bad = Object.entries(recap)
      .filter(([, h]) => h.failed > 0 || h.unreachable > 0)
      .map(([host, h]) => `${host} (${h.failed > 0 ? `${h.failed} failed` : ''}${h.failed > 0 && h.unreachable > 0 ? ', ' : ''}${h.unreachable > 0 ? 'unreachable' : ''})`);
    const tail = lastLines(r.stdout + r.stderr, 25);
    // What each failed task said on each host comes from the events; the
    // output's tail stays for context (a module's stderr is only there).
    const said = events.failures.slice(0, 6).map((f) => ({ message: `${f.host}: ${f.task}: ${f.msg.trim() || f.status}` }));
    throw new PlaybookFailedError(
      bad.length > 0
        ? `ansible-playbook ${opts.playbook} failed on ${bad.join(', ')}`
        : `ansible-playbook ${opts.playbook} exited with status ${r.code}\n${tail}`,
      events.failures,
      {
        hint: `re-run with: ${command}`,
        problems: bad.length > 0 ? [...said, { message: tail }] : said,
      },
    );
  }
  return result;
}

/** A playbook run that failed; `failures` are its hosts' failed tasks and what they said. */
export class PlaybookFailedError extends PharosError {
  constructor(
    message: string,
    readonly failures: readonly TaskFailure[],
    opts: { problems: ErrorDetail[]; hint: string },
  ) {
    super(message, { ...opts, exitCode: 1 });
    this.name = 'PlaybookFailedError';
  }
}
