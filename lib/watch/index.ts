/**
 * `pharos watch`: rebuild the requested targets whenever an input of their
 * closure changes. The cache makes each run do only what the change made dirty.
 *
 * - chokidar v4 (no globs): we resolve input globs ourselves to files plus the
 *   glob's static directory (so new files are seen); outputs and `.pharos` are
 *   never watched.
 * - Changes are debounced (150 ms). A change landing while a run is in progress
 *   sets one flag: exactly one follow-up run, however many changes arrived.
 * - A failed build never ends the watch. A change to `pharos.build.ts` or the
 *   config reloads the graph (a broken edit is reported; the old graph stays).
 */
import type { GraphDefinition } from '../graph/target.js';
import { resolve } from 'node:path';
import type { Engine } from '../run/engine.js';
import type { BuildSummary } from '../run/events.js';
import { inIgnoredDir } from '../util/ignored.js';

export type WatchEvent =
  | { type: 'watching'; paths: number }
  | { type: 'change'; path: string; kind: string }
  /** A change arrived during a run: one follow-up run is queued (repeats coalesce). */
  | { type: 'queued' }
  | { type: 'run-start'; run: number; changed: string[] }
  | { type: 'run-done'; run: number; summary?: BuildSummary; error?: unknown }
  | { type: 'reload'; ok: boolean; error?: unknown };

export interface WatchOptions {
  targets: string[];
  /** Makes an engine from the current project files (called again on reload). */
  load: (fresh: boolean) => Promise<Engine>;
  /** Files whose change reloads the graph: pharos.build.ts, the config, and
   *  the files the graph read while it was made (the user's job scripts);
   *  asked again after each reload, since a config edit may name others. */
  reloadPaths: () => string[];
  /** Ends the watch (Ctrl-C); a running build is aborted. */
  signal: AbortSignal;
  /** Build options per run: the run's own abort signal is passed here. */
  build: (engine: Engine, targets: string[], signal: AbortSignal) => Promise<BuildSummary>;
  debounceMs?: number;
  onEvent?: (e: WatchEvent) => void;
}

/** Watches until `signal` aborts; resolves after the watcher is closed. */
export async function watch(o: WatchOptions): Promise<void> {
  const { watch: chokidarWatch } = await import('chokidar');
  const emit = (e: WatchEvent): void => o.onEvent?.(e);
  let reloadSet = new Set<string>();
  const syncReload = (): void => {
    reloadSet = new Set(o.reloadPaths().map((p) => resolve(p)));
  };
  let engine = await o.load(false);
  syncReload();
  const watcher = chokidarWatch([], { ignoreInitial: true, ignored: (p: string) => inIgnoredDir(p), awaitWriteFinish: false });
  let watched = new Set<string>();
  const syncPaths = async (): Promise<void> => {
    let paths: string[];
    try {
      paths = await engine.inputPaths(o.targets);
    } catch {
      paths = [];
    }
    const want = new Set([...paths, ...reloadSet].filter((p) => !inIgnoredDir(p)));
    const add = [...want].filter((p) => !watched.has(p));
    const drop = [...watched].filter((p) => !want.has(p));
    if (add.length) watcher.add(add);
    if (drop.length) watcher.unwatch(drop);
    watched = want;
    emit({ type: 'watching', paths: want.size });
  };

  let running = false;
  let pending = false;
  let needReload = false;
  let changed: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let runNo = 0;
  let current: AbortController | undefined;
  let loopDone: Promise<void> = Promise.resolve();

  const loop = async (): Promise<void> => {
    running = true;
    try {
      do {
        pending = false;
        if (o.signal.aborted) break;
        if (needReload) {
          needReload = false;
          try {
            engine = await o.load(true);
            syncReload();
            emit({ type: 'reload', ok: true });
            await syncPaths();
          } catch (error) {
            emit({ type: 'reload', ok: false, error });
          }
        }
        const run = ++runNo;
        emit({ type: 'run-start', run, changed });
        changed = [];
        current = new AbortController();
        const stopRun = (): void => current?.abort();
        o.signal.addEventListener('abort', stopRun, { once: true });
        try {
          const summary = await o.build(engine, o.targets, current.signal);
          emit({ type: 'run-done', run, summary });
        } catch (error) {
          emit({ type: 'run-done', run, error });
        } finally {
          o.signal.removeEventListener('abort', stopRun);
          current = undefined;
        }
        // Globs may match new files now; cheap when nothing changed.
        await syncPaths();
      } while (pending && !o.signal.aborted);
    } finally {
      running = false;
    }
  };

  const trigger = (): void => {
    if (o.signal.aborted) return;
    if (running) {
      pending = true; // one flag: any number of changes during a run -> one follow-up
      emit({ type: 'queued' });
      return;
    }
    loopDone = loop();
  };

  const onChange = (kind: string) => (path: string) => {
    const abs = resolve(path);
    if (reloadSet.has(abs)) needReload = true;
    changed.push(abs);
    emit({ type: 'change', path: abs, kind });
    if (timer) clearTimeout(timer);
    timer = setTimeout(trigger, o.debounceMs ?? 150);
  };
  for (const k of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) watcher.on(k, onChange(k));

  const ready = new Promise<void>((r) => watcher.once('ready', () => r()));
  await syncPaths();
  await ready;
  trigger();
  await new Promise<void>((r) => {
    if (o.signal.aborted) r();
    else o.signal.addEventListener('abort', () => r(), { once: true });
  });
  if (timer) clearTimeout(timer);
  await loopDone;
  await watcher.close();
}

/**
 * The targets to keep built for `pharos watch T…`: the named ones plus the
 * companions they declare in `watchAlso` (a deploy role's suites), in order,
 * without duplicates; companions missing from the graph are left out.
 */
export function withCompanions(definition: GraphDefinition, targets: string[]): string[] {
  const byName = new Map(definition.targets.map((t) => [t.name, t]));
  const out = [...targets];
  for (const name of targets) {
    for (const c of byName.get(name)?.spec.watchAlso ?? []) if (byName.has(c) && !out.includes(c)) out.push(c);
  }
  return out;
}
