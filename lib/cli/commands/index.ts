/**
 * Every command group registers itself here. The engine's own commands (build,
 * list, why, graph, clean, watch) live in `engine.ts`; each domain area adds one
 * file and one line below. A registrar adds subcommands to the root program.
 */
import type { Command } from 'commander';
import { register as engine } from './engine.js';
import { register as inventory } from './inventory.js';
import { register as config } from './config.js';
import { register as host } from './host.js';
import { register as test } from './test.js';
import { register as cluster } from './cluster.js';
import { register as system } from './system.js';
import { register as gpu } from './gpu.js';
import { register as logs } from './logs.js';
import { register as cache } from './cache.js';
import { register as ssh } from './ssh.js';
import { register as completion } from './completion.js';
import { register as exportCmd } from './export.js';

export type Registrar = (program: Command) => void;

export const registrars: Registrar[] = [
  engine,
  inventory,
  config,
  host,
  test,
  cluster,
  system,
  gpu,
  logs,
  cache,
  ssh,
  completion,
  exportCmd,
  // engine, config, doctor, cluster, inventory, test — appended by each area
];
