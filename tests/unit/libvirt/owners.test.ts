/**
 * The cluster owner record (`<stateRoot>/cluster-owners/<cluster>.json`): the
 * first checkout claims a name, any other is refused with the owner's path, the
 * owner releases it, a record whose checkout is gone is taken over with a
 * warning, a corrupt record is one clear error, and processes racing for a new
 * name end with exactly one owner (real processes, no mocks).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { checkClusterOwner, claimCluster, clusterOwnerFile, readClusterOwner, releaseCluster, type OwnerEnv } from '../../../lib/cluster/owners.js';
import { PharosError } from '../../../lib/errors.js';

const made: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'pht-owners-'));
  made.push(d);
  return d;
};
test.after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function envs(): { root: string; a: OwnerEnv; b: OwnerEnv; logs: string[] } {
  const root = tmp();
  const logs: string[] = [];
  const checkout = (n: string): string => {
    const d = join(root, n);
    mkdirSync(d);
    return d;
  };
  const state = join(root, 'state');
  return {
    root,
    logs,
    a: { stateRoot: state, cluster: 'pharos', owner: checkout('a'), log: (l) => logs.push(l) },
    b: { stateRoot: state, cluster: 'pharos', owner: checkout('b'), log: (l) => logs.push(l) },
  };
}

async function error(p: Promise<unknown>): Promise<PharosError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.instance(e, PharosError);
  return e as PharosError;
}

test('the first checkout claims the name; another is refused with the owner and how to proceed', async () => {
  const { a, b } = envs();
  assert.is(await claimCluster(a, 'starting'), 'unowned');
  assert.is(await claimCluster(a, 'changing'), 'ours');
  assert.is((await readClusterOwner(a.stateRoot, 'pharos'))?.owner, a.owner);
  const e = await error(claimCluster(b, 'starting'));
  assert.match(e.message, `cluster pharos belongs to another checkout: ${a.owner}`);
  assert.match(e.message, `not starting it from ${b.owner}`);
  assert.match(e.hint ?? '', `cd ${a.owner} && pharos cluster destroy pharos`);
  assert.match(e.hint ?? '', 'another name');
  assert.match((await error(checkClusterOwner(b, 'destroying'))).message, 'not destroying it');
  await releaseCluster(b);
  assert.is((await readClusterOwner(a.stateRoot, 'pharos'))?.owner, a.owner, "another checkout cannot release the owner's record");
  await releaseCluster(a);
  assert.is(await readClusterOwner(a.stateRoot, 'pharos'), undefined);
  assert.is(await claimCluster(b, 'starting'), 'unowned', 'once released, the name is free');
});

test('a record whose checkout no longer exists is taken over, with a warning naming it', async () => {
  const { a, b, logs } = envs();
  await claimCluster(a, 'starting');
  rmSync(a.owner, { recursive: true });
  assert.is(await checkClusterOwner(b, 'stopping'), 'stale');
  assert.is(await claimCluster(b, 'starting'), 'stale');
  assert.is((await readClusterOwner(b.stateRoot, 'pharos'))?.owner, b.owner);
  assert.equal(logs, [`warning: cluster pharos was owned by ${a.owner}, which no longer exists; ${b.owner} takes it over`]);
});

test('a corrupt record is one clear error naming the file', async () => {
  const { a } = envs();
  const file = clusterOwnerFile(a.stateRoot, 'pharos');
  mkdirSync(join(a.stateRoot, 'cluster-owners'), { recursive: true });
  writeFileSync(file, 'null\n');
  const e = await error(claimCluster(a, 'starting'));
  assert.match(e.message, `${file} is not a cluster owner record`);
  assert.match(e.hint ?? '', 'delete it');
});

const OWNERS = fileURLToPath(new URL('../../../lib/cluster/owners.ts', import.meta.url));

test('six processes racing for a new name: exactly one owns it, the others are refused naming it', async () => {
  const { root } = envs();
  const state = join(root, 'state');
  const script = `
    import { claimCluster } from ${JSON.stringify(OWNERS)};
    const owner = process.argv[1];
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      try {
        const r = await claimCluster({ stateRoot: ${JSON.stringify(state)}, cluster: 'race', owner, log: () => {} }, 'starting');
        process.stdout.write('won ' + r + '\\n');
      } catch (e) {
        process.stdout.write('refused ' + e.message + '\\n');
      }
      process.exit(0);
    });`;
  const owners = [1, 2, 3, 4, 5, 6].map((i) => {
    const d = join(root, `c${i}`);
    mkdirSync(d);
    return d;
  });
  const kids = owners.map((o) => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, o], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = kids.map(
    (k) =>
      new Promise<string>((resolve) => {
        let out = '';
        k.stdout.on('data', (c: Buffer) => (out += c.toString()));
        k.on('close', () => resolve(out));
      }),
  );
  // Everyone loaded and waiting, then all go at once.
  await Promise.all(kids.map((k) => new Promise<void>((resolve) => k.stdout.once('data', () => resolve()))));
  for (const k of kids) k.stdin.write('go\n');
  const results = await Promise.all(outputs);
  const record = JSON.parse(readFileSync(clusterOwnerFile(state, 'race'), 'utf8')) as { owner: string };
  const winners = results.filter((r) => r.includes('won unowned'));
  assert.is(winners.length, 1, results.join(''));
  assert.is(winners[0], results[owners.indexOf(record.owner)], 'the winner is the recorded owner');
  for (const r of results) if (r !== winners[0]) assert.match(r, `refused cluster race belongs to another checkout: ${record.owner}`);
});

test.run();
