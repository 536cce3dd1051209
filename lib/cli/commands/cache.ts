/**
 * `pharos cache list|prune [--keep N]`: the machine image cache
 * (`$PHAROS_CACHE/images`, see lib/images/store.ts). Which VM disks are
 * overlays on an entry comes from every cluster's state (any checkout's).
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { GlobalOptions } from '../project.js';

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected an integer >= 0');
  return n;
}

async function entriesWithUsers() {
  const { defaultCacheDir } = await import('../../cache/dir.js');
  const { backingUsers, listEntries } = await import('../../images/entries.js');
  const { listStates } = await import('../../cluster/state.js');
  const { defaultStateRoot } = await import('../../cluster/paths.js');
  const cacheDir = defaultCacheDir();
  const disks = (await listStates(defaultStateRoot())).flatMap((s) => Object.values(s.vms).map((v) => ({ vm: v.name, disk: v.disk })));
  return { cacheDir, entries: await listEntries(cacheDir, await backingUsers(disks)) };
}

export function register(program: Command): void {
  const cache = program
    .command('cache')
    .description('the machine image cache ($PHAROS_CACHE, default ~/.cache/pharos): list entries, prune old ones');

  cache
    .command('list')
    .description('every cached image: key, file, size on disk, when stored, which VMs run on it')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { formatBytes } = await import('../../images/entries.js');
      const { cacheDir, entries } = await entriesWithUsers();
      if (g.json) {
        process.stdout.write(`${JSON.stringify({ cacheDir, entries }, null, 2)}\n`);
        return;
      }
      const w = Math.max(5, ...entries.map((e) => e.image.length));
      for (const e of entries) {
        const used = e.usedBy.length ? `  used by ${e.usedBy.join(', ')}` : '';
        process.stdout.write(`${e.key.slice(0, 16).padEnd(16)}  ${e.image.padEnd(w)}  ${formatBytes(e.bytes).padStart(9)}  ${e.storedAt.slice(0, 19).replace('T', ' ')}${used}\n`);
      }
      const total = entries.reduce((a, e) => a + e.bytes, 0);
      process.stdout.write(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${formatBytes(total)} in ${cacheDir}/images\n`);
    });

  cache
    .command('prune')
    .description('remove all but the N newest entries of each image; entries a VM disk is an overlay on are kept')
    .option('--keep <n>', 'entries to keep per image name', nonNegativeInt, 1)
    .addHelpText('after', '\nWith -n/--dry-run: print what would be removed. An image target whose entry was removed\nis rebuilt (or found again) by the next build.')
    .action(async (o: { keep: number }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { formatBytes, planPrune, removeEntries } = await import('../../images/entries.js');
      const { cacheDir, entries } = await entriesWithUsers();
      const plan = planPrune(entries, o.keep);
      if (!g.dryRun) await removeEntries(plan.remove);
      const freed = plan.remove.reduce((a, e) => a + e.bytes, 0);
      if (g.json) {
        process.stdout.write(`${JSON.stringify({ cacheDir, dryRun: !!g.dryRun, removed: plan.remove, kept: plan.keep, freedBytes: freed }, null, 2)}\n`);
        return;
      }
      const verb = g.dryRun ? 'would remove' : 'removed';
      for (const e of plan.remove) process.stdout.write(`${verb} ${e.key.slice(0, 16)}  ${e.image}  ${formatBytes(e.bytes)}\n`);
      for (const e of plan.keep.filter((x) => x.usedBy.length > 0)) process.stdout.write(`kept ${e.key.slice(0, 16)}  ${e.image}: used by ${e.usedBy.join(', ')}\n`);
      process.stdout.write(`${verb} ${plan.remove.length} entr${plan.remove.length === 1 ? 'y' : 'ies'} (${formatBytes(freed)}), kept ${plan.keep.length}\n`);
    });
}
