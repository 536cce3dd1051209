/**
 * Loading a project for any command: root, config path, state/cache dirs and
 * the graph definition from `<root>/pharos.build.ts`. Command files call
 * `loadProject(cmd.optsWithGlobals())`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PharosError } from '../errors.js';
import type { GraphContext, GraphDefinition } from '../graph/target.js';
import { BUILD_FILE, findRootSync } from './root.js';
import { runtime } from '../util/runtime.js';

/** The global options every command sees (`cmd.optsWithGlobals()`). */
export interface GlobalOptions {
  root?: string;
  config?: string;
  jobs?: number;
  keepGoing?: boolean;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export interface ProjectPaths {
  root: string;
  buildFile: string;
  /** Absolute config path: `-c`, else $PHAROS_CONFIG (both relative to the working directory, as every
   *  command reads them: see `explicitConfig`), else the project's `config/local.yaml`. */
  configPath: string;
  stateDir: string;
}

export interface Project extends ProjectPaths {
  definition: GraphDefinition;
}

/**
 * The config the user named, if any: `-c FILE`, else `$PHAROS_CONFIG`, made
 * absolute against the working directory. The one rule for every command
 * (build, list, validate, cluster, doctor…), so one relative path never means
 * two files.
 */
export function explicitConfig(config: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = config || env.PHAROS_CONFIG;
  return named ? resolve(process.cwd(), named) : undefined;
}

export function projectPaths(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): ProjectPaths {
  const root = findRootSync(opts.root);
  const configPath = explicitConfig(opts.config, env) ?? join(root, 'config', 'local.yaml');
  return { root, buildFile: join(root, BUILD_FILE), configPath, stateDir: join(root, '.pharos') };
}

let loads = 0;

/**
 * Imports `pharos.build.ts` and calls its default export. `fresh` loads the
 * whole module graph again (watch reloads after an edit).
 */
export async function loadProject(opts: GlobalOptions, o: { fresh?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Project> {
  const env = o.env ?? process.env;
  const paths = projectPaths(opts, env);
  if (!existsSync(paths.buildFile)) throw new PharosError(`${paths.buildFile} does not exist`);
  let mod: { default?: unknown };
  const url = pathToFileURL(paths.buildFile).href;
  const rt = runtime();
  try {
    if (o.fresh) {
      await rt?.registerTsx();
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(`${url}?reload=${++loads}`, import.meta.url)) as { default?: unknown };
    } else if (rt?.compiled && paths.root === rt.root) {
      // This checkout's own graph, compiled with the engine (fresh: checked at start-up).
      mod = (await import(pathToFileURL(join(rt.root, 'dist', 'pharos.build.js')).href)) as { default?: unknown };
    } else {
      // Load the public API (engine included) before the TypeScript hooks start: once they
      // run, every module resolved goes through their thread, which costs per module.
      if (rt?.compiled) await import('../index.js');
      await rt?.registerTsx();
      mod = (await import(url)) as { default?: unknown };
    }
  } catch (e) {
    if (e instanceof PharosError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new PharosError(`cannot load ${paths.buildFile}: ${msg.split('\n')[0]}`, { hint: 'fix the error above; run with -v for details' });
  }
  const factory = mod.default;
  if (typeof factory !== 'function') {
    throw new PharosError(`${paths.buildFile} must default-export a function (ctx) => ({ targets, aliases, pools })`);
  }
  const ctx: GraphContext = { root: paths.root, configPath: paths.configPath, env };
  const definition = (await (factory as (c: GraphContext) => unknown)(ctx)) as GraphDefinition;
  if (!definition || !Array.isArray(definition.targets)) {
    throw new PharosError(`${paths.buildFile}: the default export returned no { targets: [...] }`);
  }
  return { ...paths, definition };
}
