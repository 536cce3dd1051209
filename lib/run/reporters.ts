/**
 * Renderers of build events: a ninja-style status line on a terminal, plain
 * lines otherwise (also under NO_COLOR or TERM=dumb), NDJSON for machines. Target output goes to the log files,
 * not the screen; a failure prints the log tail, the log path and the command
 * that re-runs it.
 */
import { relative } from 'node:path';
import type { BuildEvent, BuildSummary, Reporter } from './events.js';
import { formatDuration } from '../util/duration.js';

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function rel(p: string | undefined): string {
  if (!p) return '';
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

function failureText(e: Extract<BuildEvent, { type: 'target-done' }>): string {
  const lines = [`FAILED: ${e.name}${e.error ? `: ${e.error}` : ''}`];
  if (e.logTail && e.logTail.length) {
    lines.push(`---- last ${e.logTail.length} lines of ${rel(e.logPath)} ----`);
    for (const l of e.logTail) lines.push(`  ${l}`);
    lines.push('----');
  }
  if (e.logPath) lines.push(`log: ${rel(e.logPath)}`);
  lines.push(`re-run: pharos build ${e.name}`);
  return `${lines.join('\n')}\n`;
}

export function summaryText(s: BuildSummary): string {
  const c = s.counts;
  const parts = [
    c.built && `${c.built} built`,
    c.cached && `${c.cached} up to date`,
    c['would-build'] && `${c['would-build']} would build`,
    c['may-cut-off'] && `${c['may-cut-off']} may be cut off`,
    c.failed && `${c.failed} failed`,
    c.skipped && `${c.skipped} skipped`,
  ].filter(Boolean);
  let out = `${s.interrupted ? 'interrupted' : s.ok ? (s.dryRun ? 'dry run' : 'ok') : 'FAILED'}: ${parts.join(', ') || 'nothing to do'} in ${formatDuration(s.wallMs)}`;
  if (s.criticalPath.targets.length > 1) out += `\ncritical path (${formatDuration(s.criticalPath.durationMs)}): ${s.criticalPath.targets.join(' -> ')}`;
  return `${out}\n`;
}

export interface ReporterOptions {
  out?: NodeJS.WriteStream | NodeJS.WritableStream;
  verbose?: boolean;
}

/** One plain line per event of interest: for logs, CI and pipes. */
export function plainReporter(o: ReporterOptions = {}): Reporter {
  const out = o.out ?? process.stderr;
  const t0 = Date.now();
  return {
    event(e) {
      switch (e.type) {
        case 'target-start':
          out.write(`[${e.index}] ${clock(Date.now() - t0)} ${e.name} (${e.reason})\n`);
          break;
        case 'target-phase':
          if (o.verbose) out.write(`    ${e.name}: ${e.text}\n`);
          break;
        case 'target-output':
          if (o.verbose) out.write(`    ${e.name}| ${e.line}\n`);
          break;
        case 'target-done':
          if (e.status === 'failed') out.write(failureText(e));
          else if (e.status === 'built') out.write(`done ${e.name} in ${formatDuration(e.durationMs)}\n`);
          else if (e.status === 'would-build') out.write(`would build ${e.name}: ${e.reason}\n`);
          else if (e.status === 'may-cut-off') out.write(`may be cut off ${e.name}: ${e.reason}\n`);
          else if (e.status === 'skipped' || o.verbose) out.write(`${e.status} ${e.name}${e.reason ? `: ${e.reason}` : ''}\n`);
          break;
        case 'build-done':
          out.write(summaryText(e.summary));
          break;
        case 'note':
          out.write(`note: ${e.text}\n`);
          break;
        default:
          break;
      }
    },
  };
}

/** Ninja-style: one status line rewritten in place; finished work scrolls above it.
 *  Only for a terminal that takes escapes (`util/terminal.ts` `styledOutput`). */
export function ttyReporter(o: ReporterOptions = {}): Reporter {
  const out = (o.out ?? process.stderr) as NodeJS.WriteStream;
  const t0 = Date.now();
  const running = new Map<string, string>(); // name -> phase
  let finished = 0;
  let total = 0;
  let shown = false;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const width = (): number => Math.max(20, (out.columns || 100) - 1);
  const clear = (): void => {
    if (shown) out.write('\r\x1b[K');
    shown = false;
  };
  const draw = (): void => {
    last = Date.now();
    const [name, phase] = [...running][running.size - 1] ?? [];
    if (!name) return clear();
    const more = running.size > 1 ? ` +${running.size - 1}` : '';
    const line = `[${finished}/${total} ${clock(Date.now() - t0)}] ${name}${phase ? ` (${phase})` : ''}${more}`;
    out.write(`\r\x1b[K${line.slice(0, width())}`);
    shown = true;
  };
  const above = (text: string): void => {
    clear();
    out.write(text);
    draw();
  };
  return {
    event(e) {
      switch (e.type) {
        case 'build-start':
          total = e.total;
          timer = setInterval(draw, 1000);
          timer.unref();
          break;
        case 'target-start':
          running.set(e.name, '');
          draw();
          break;
        case 'target-phase':
          running.set(e.name, e.text);
          draw();
          break;
        case 'target-output':
          if (o.verbose) above(`${e.name}| ${e.line}\n`);
          break;
        case 'target-done':
          finished = e.finished;
          running.delete(e.name);
          if (e.status === 'failed') above(failureText(e));
          else if (e.status === 'built') above(`done ${e.name} in ${formatDuration(e.durationMs)}\n`);
          else if (e.status === 'would-build') above(`would build ${e.name}: ${e.reason}\n`);
          else if (e.status === 'may-cut-off') above(`may be cut off ${e.name}: ${e.reason}\n`);
          else if (e.status === 'skipped' && e.skip?.kind !== 'interrupted') above(`skipped ${e.name}: ${e.reason}\n`);
          else if (Date.now() - last > 50) draw();
          break;
        case 'build-done':
          if (timer) clearInterval(timer);
          clear();
          out.write(summaryText(e.summary));
          break;
        case 'note':
          above(`note: ${e.text}\n`);
          break;
        default:
          break;
      }
    },
    close() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}

/** NDJSON: one event per line on stdout. */
export function jsonReporter(o: { out?: NodeJS.WritableStream } = {}): Reporter {
  const out = o.out ?? process.stdout;
  return {
    event(e) {
      out.write(`${JSON.stringify(e)}\n`);
    },
  };
}

/** Keeps every event (tests, watch). */
export function memoryReporter(): Reporter & { events: BuildEvent[] } {
  const events: BuildEvent[] = [];
  return { events, event: (e) => void events.push(e) };
}

/** Every event to each reporter in turn (the screen and a `--trace` file); `close()` closes them all. */
export function teeReporter(...reporters: Reporter[]): Reporter {
  return {
    event(e) {
      for (const r of reporters) r.event(e);
    },
    close() {
      for (const r of reporters) r.close?.();
    },
  };
}
