/**
 * `pharos logs TARGET`: the log of the target's last run (`.pharos/logs/`,
 * written by the engine, kept until the next run or `pharos clean`).
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { PharosError } from '../../errors.js';
import { loadProject, type GlobalOptions } from '../project.js';

export function register(program: Command): void {
  program
    .command('logs')
    .description("print the log of a target's last run (from .pharos/logs)")
    .argument('<target>', 'target name')
    .option('--path', 'print only the log file path')
    .addHelpText('after', '\nWith --json: {target, path, text}. Exit status: 0 printed, 1 unknown target or no log yet.')
    .action(async (name: string, o: { path?: boolean }, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const { makeEngine } = await import('./engine.js');
      const engine = await makeEngine(opts, await loadProject(opts));
      const path = engine.logPath(name);
      if (!existsSync(path)) {
        if (!engine.graph.byName.has(name)) {
          // An unknown name: the graph's own error, with its "did you mean".
          const { select } = await import('../../graph/graph.js');
          const [n] = select(engine.graph, [name]);
          if (n?.name !== name) throw new PharosError(`logs needs one target name, got "${name}"`, { hint: 'see pharos list' });
        }
        throw new PharosError(`${name} has no log: it has not run since the last \`pharos clean\`, or never`, {
          hint: `pharos build ${name}`,
        });
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ target: name, path, text: readFileSync(path, 'utf8') }, null, 2)}\n`);
      } else if (o.path) {
        process.stdout.write(`${path}\n`);
      } else {
        await pipeline(createReadStream(path), process.stdout, { end: false });
      }
    });
}
