/**
 * `# @cluster hpc|cloud`: the kind of cluster a check runs on (default hpc).
 * A suite is of one kind; a typo or a mixed suite is one clear error.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PharosError } from '../../../lib/errors.js';
import { listSuites, parseCheck } from '../../../lib/suites/suite.js';
import { suitesRoot } from '../../../lib/suites/paths.js';
import { REPO_ROOT } from '../../../lib/config/load.js';

test('the header, its default, a bad value', () => {
  assert.is(parseCheck('/s/check-10-a.sh', 'check-10-a.sh', '# @nodes all\ntrue\n').cluster, 'hpc');
  assert.is(parseCheck('/s/check-10-a.sh', 'check-10-a.sh', '# @nodes all\n# @cluster cloud\ntrue\n').cluster, 'cloud');
  try {
    parseCheck('/s/check-10-a.sh', 'check-10-a.sh', '# @nodes all\n# @cluster k8s\ntrue\n');
    assert.unreachable('a bad kind must throw');
  } catch (e) {
    assert.instance(e, PharosError);
    const p = (e as PharosError).problems[0];
    assert.equal([p?.line, p?.field, p?.expected], [2, '@cluster', 'hpc | cloud']);
  }
});

test('a suite mixing kinds is refused, naming the odd check', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pharos-kind-'));
  mkdirSync(join(root, 'mixed'));
  writeFileSync(join(root, 'mixed', 'check-10-a.sh'), '# @nodes all\n# @cluster cloud\ntrue\n');
  writeFileSync(join(root, 'mixed', 'check-20-b.sh'), '# @nodes all\ntrue\n');
  try {
    await listSuites(root);
    assert.unreachable('a mixed suite must throw');
  } catch (e) {
    assert.instance(e, PharosError);
    assert.match((e as Error).message, 'suite mixed mixes cluster kinds');
    assert.match((e as PharosError).hint ?? '', 'check-20-b.sh');
  }
});

test('# @deploys: the deploy roles a suite waits for, the union over its checks; a bad list is an error naming the line', async () => {
  assert.is(parseCheck('/s/check-10-a.sh', 'check-10-a.sh', '# @nodes all\ntrue\n').deploys, undefined);
  assert.equal(parseCheck('/s/check-10-a.sh', 'check-10-a.sh', '# @nodes all\n# @deploys cloud-node, base\ntrue\n').deploys, ['cloud-node', 'base']);
  try {
    parseCheck('/s/check-10-a.sh', 'check-10-a.sh', '# @nodes all\n# @deploys ../x\ntrue\n');
    assert.unreachable('a bad role list must throw');
  } catch (e) {
    const p = (e as PharosError).problems?.[0];
    assert.equal([p?.line, p?.field], [2, '@deploys']);
  }
  const root = mkdtempSync(join(tmpdir(), 'pharos-deploys-'));
  mkdirSync(join(root, 's'));
  writeFileSync(join(root, 's', 'check-10-a.sh'), '# @nodes all\n# @deploys cloud-node\ntrue\n');
  writeFileSync(join(root, 's', 'check-20-b.sh'), '# @nodes all\n# @deploys users cloud-node\ntrue\n');
  writeFileSync(join(root, 's', 'check-30-c.sh'), '# @nodes all\ntrue\n');
  assert.equal((await listSuites(root))[0]?.deploys, ['cloud-node', 'users']);
});

test("this repository's suites: the cloud ones say so, the rest are HPC", async () => {
  const suites = await listSuites(suitesRoot(REPO_ROOT));
  const cloud = suites.filter((s) => s.cluster === 'cloud').map((s) => s.name);
  assert.equal(cloud, ['cloud-nodes', 'kubernetes']);
  assert.ok(suites.some((s) => s.name === 'slurm-controller' && s.cluster === 'hpc'));
});

test.run();
