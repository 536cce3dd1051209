/**
 * Every command group registers itself here. The engine's own commands (build,
 * list, why, graph, clean, watch) live in `engine.ts`; each domain area adds one
 * file and one line below. A registrar adds subcommands to the root program.
 */
import type { Command } from 'commander';

export type Registrar = (program: Command) => void;

export const registrars: Registrar[] = [
  // engine, config, doctor, cluster, inventory, test — appended by each area
];
