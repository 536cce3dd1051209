/**
 * The events of Pharos's Ansible callback (ansible/callback_plugins/
 * pharos_events.py), read as JSON lines from the playbook's descriptor 3:
 * which task runs now (the status line), what each task cost and on which
 * hosts (the target's log), and the final per-host counts that replace the
 * PLAY RECAP text.
 */
import { join } from 'node:path';

export interface HostRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export type ResultStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

/** One task as it ran: one line of a deploy's profile. */
export interface TaskTiming {
  /** `role : task name`, as Ansible prints it. */
  name: string;
  action: string;
  handler: boolean;
  /** Wall time from its start to the next task's (the tasks add up to the run). */
  ms: number;
  /** Host -> outcome; `ignored` is a failure the task let pass (ignore_errors). */
  hosts: Record<string, ResultStatus | 'ignored'>;
  /** Loop items over every host: each one is a module invocation of its own. */
  items: number;
}

/** Environment variables that enable the callback for one run. */
export function eventsEnv(ansibleDir: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const enabled = (base.ANSIBLE_CALLBACKS_ENABLED ?? '').split(',').filter((x) => x.trim() !== '' && x !== 'pharos_events');
  const plugins = (base.ANSIBLE_CALLBACK_PLUGINS ?? '').split(':').filter((x) => x !== '');
  return {
    ANSIBLE_CALLBACK_PLUGINS: [join(ansibleDir, 'callback_plugins'), ...plugins].join(':'),
    ANSIBLE_CALLBACKS_ENABLED: [...enabled, 'pharos_events'].join(','),
    PHAROS_ANSIBLE_EVENTS_FD: '3',
  };
}

type Event =
  | { e: 'task'; id: string; name: string; action: string; handler: boolean }
  | { e: 'result'; id: string; host: string; status: ResultStatus; ignored: boolean; items: number; ms: number; msg?: unknown }
  | { e: 'task_end'; id: string; ms: number }
  | { e: 'stats'; hosts: Record<string, HostRecap> };

const STATUSES: readonly string[] = ['ok', 'changed', 'failed', 'skipped', 'unreachable'];

function isEvent(v: unknown): v is Event {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  switch (o.e) {
    case 'task':
      return typeof o.id === 'string' && typeof o.name === 'string';
    case 'result':
      return typeof o.id === 'string' && typeof o.host === 'string' && STATUSES.includes(String(o.status));
    case 'task_end':
      return typeof o.id === 'string' && typeof o.ms === 'number';
    case 'stats':
      return !!o.hosts && typeof o.hosts === 'object';
    default:
      return false;
  }
}

const RECAP_KEYS: readonly (keyof HostRecap)[] = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'];

function recapOf(v: unknown): HostRecap {
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const r = { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };
  for (const k of RECAP_KEYS) r[k] = typeof o[k] === 'number' ? o[k] : 0;
  return r;
}

/** A host's failure that stopped it (not an ignored one): the task and what it said. */
export interface TaskFailure {
  task: string;
  host: string;
  status: 'failed' | 'unreachable';
  msg: string;
}

/** Collects one run's events; feed it every line of descriptor 3. */
export class PlaybookEvents {
  readonly tasks: TaskTiming[] = [];
  /** Failures that stopped a host, in the order they came. */
  readonly failures: TaskFailure[] = [];
  /** Per-host counts from the run's final stats (empty when it never got there). */
  recap: Record<string, HostRecap> = {};
  /** Whether the final stats arrived (a run that got to its end). */
  finished = false;
  /** Lines that were not events (a broken plugin shows up here, not silently). */
  readonly junk: string[] = [];
  private readonly byId = new Map<string, TaskTiming>();
  private current: TaskTiming | undefined;

  /** `onTask` hears each task as it starts (the status line). */
  constructor(private readonly onTask?: (t: TaskTiming) => void) {}

  feed(line: string): void {
    if (line.trim() === '') return;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      ev = undefined;
    }
    if (!isEvent(ev)) {
      if (this.junk.length < 20) this.junk.push(line.slice(0, 300));
      return;
    }
    switch (ev.e) {
      case 'task': {
        const t: TaskTiming = { name: ev.name, action: String(ev.action), handler: ev.handler === true, ms: 0, hosts: {}, items: 0 };
        this.tasks.push(t);
        this.byId.set(ev.id, t);
        this.current = t;
        this.onTask?.(t);
        break;
      }
      case 'result': {
        const t = this.byId.get(ev.id);
        if (!t) break;
        t.hosts[ev.host] = ev.status === 'failed' && ev.ignored === true ? 'ignored' : ev.status;
        t.items += typeof ev.items === 'number' ? ev.items : 0;
        t.ms = Math.max(t.ms, typeof ev.ms === 'number' ? ev.ms : 0);
        if ((ev.status === 'failed' || ev.status === 'unreachable') && ev.ignored !== true) {
          this.failures.push({ task: t.name, host: ev.host, status: ev.status, msg: typeof ev.msg === 'string' ? ev.msg : '' });
        }
        break;
      }
      case 'task_end': {
        const t = this.byId.get(ev.id);
        if (t) t.ms = ev.ms;
        if (t === this.current) this.current = undefined;
        break;
      }
      case 'stats': {
        // One stats event per ansible-playbook run, covering all its playbooks.
        const recap: Record<string, HostRecap> = {};
        for (const [h, v] of Object.entries(ev.hosts)) recap[h] = recapOf(v);
        this.recap = recap;
        this.finished = true;
        break;
      }
    }
  }
}

/** Actions that run on the controller only (no module is sent to a host). */
const LOCAL_ACTIONS = new Set(['assert', 'debug', 'fail', 'set_fact', 'meta', 'include_role', 'include_tasks', 'import_role', 'import_tasks', 'include_vars', 'add_host', 'group_by']);

const secs = (ms: number): string => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}:${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}` : `${(ms / 1000).toFixed(1)} s`);

/**
 * A deploy's profile for its log: every task with its time, hosts and
 * outcome, then the slowest few, so one can see where the deploy spent its time.
 */
export function profileLines(tasks: readonly TaskTiming[], totalMs: number, slowest = 5): string[] {
  if (tasks.length === 0) return [];
  const describe = (t: TaskTiming): string => {
    const counts = new Map<string, number>();
    for (const s of Object.values(t.hosts)) counts.set(s, (counts.get(s) ?? 0) + 1);
    const outcome = [...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'no host';
    const items = t.items > 0 ? `, ${t.items} items` : '';
    return `${secs(t.ms).padStart(7)}  ${t.handler ? 'handler ' : ''}${t.name} (${outcome}${items})`;
  };
  const invocations = tasks
    .filter((t) => !LOCAL_ACTIONS.has(t.action.replace(/^ansible\.(builtin|legacy)\./, '')))
    .reduce((a, t) => a + Math.max(t.items, Object.values(t.hosts).filter((s) => s !== 'skipped').length), 0);
  const out = [`profile: ${tasks.length} tasks, about ${invocations} module runs on the hosts, ${secs(totalMs)} in all`];
  for (const t of tasks) out.push(`  ${describe(t)}`);
  const top = [...tasks].sort((a, b) => b.ms - a.ms).slice(0, slowest);
  out.push(`slowest: ${top.map((t) => `${t.name} ${secs(t.ms)}`).join('; ')}`);
  return out;
}
