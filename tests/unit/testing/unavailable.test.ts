/**
 * A target that cannot reach something outside the machine (UnavailableError)
 * fails with its own kind; `pharos test e2e` then counts the build good when
 * nothing else failed and reports each suite that waited on it as skipped,
 * check by check, with the reason — never as passed, never missing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, failText, target } from '../../../lib/index.js';
import { PharosError, UnavailableError } from '../../../lib/errors.js';
import { unavailableOutcome, unavailableSuiteResults } from '../../../lib/testing/unavailable.js';
import { parseCheck, type SuiteDef } from '../../../lib/suites/suite.js';
import { unavailableIn } from '../../../tasks/deploy.js';
import { tempRoot } from '../engine/helpers.js';

const REPO = 'https://pkgs.k8s.io/core:/stable:/v1.30/deb/';

function graph(otherFails: boolean) {
  const vm = target({ name: 'vm:a', run: async () => 1 });
  const k8s = target({ name: 'deploy:kubernetes', deps: { vm }, run: async () => Promise.reject(new UnavailableError(REPO, 'the repository is unreachable')) });
  const suite = target({ name: 'test:kubernetes', deps: { k8s }, run: async () => 1 });
  const nodes = target({ name: 'test:cloud-nodes', deps: { vm }, run: async () => 1 });
  const other = target({ name: 'deploy:other', deps: { vm }, run: async () => (otherFails ? Promise.reject(new PharosError('a real failure')) : 1) });
  return [vm, k8s, suite, nodes, other];
}

const defs: SuiteDef[] = [
  {
    name: 'kubernetes',
    dir: '/x',
    checks: ['check-10-nodes-ready.sh', 'check-20-gpu-labels.sh'].map((f) => parseCheck(`/x/${f}`, f, '# @nodes controller\n# @cluster cloud\ntrue\n')),
    prelude: '',
    files: [],
    cluster: 'cloud',
  },
];

test('the engine records an UnavailableError as its own failure kind', async () => {
  const s = await createEngine({ root: tempRoot(), definition: { targets: graph(false) }, jobs: 1, keepGoing: true }).build(['test:kubernetes', 'test:cloud-nodes', 'deploy:other']);
  assert.equal(s.targets['deploy:kubernetes']?.fail, { kind: 'unavailable', what: REPO });
  assert.is(s.targets['deploy:kubernetes']?.reason, `${REPO} cannot be reached`);
  assert.is(failText({ kind: 'unavailable', what: REPO }), `${REPO} cannot be reached`);
  assert.is(s.ok, false, 'the build itself still failed');
  const u = unavailableOutcome(s);
  assert.is(u.ok, true, 'only unavailable failures: the e2e build counts as good');
  assert.equal(u.suites.map((x) => [x.suite, x.target, x.what]), [['kubernetes', 'deploy:kubernetes', REPO]]);
  const results = unavailableSuiteResults(u.suites, defs, () => 'pharos-cloud', new Date(0));
  assert.equal(results.map((r) => r.checks.map((c) => `${r.cluster}/${c.suite}/${c.check}:${c.status}`)), [['pharos-cloud/kubernetes/nodes-ready:skip', 'pharos-cloud/kubernetes/gpu-labels:skip']]);
  assert.match(results[0]!.checks[0]!.message, `deploy:kubernetes could not reach ${REPO}`);
  assert.ok(results[0]!.checks.every((c) => c.status !== 'pass'));
});

test('any other failure beside it still fails the e2e build', async () => {
  const s = await createEngine({ root: tempRoot(), definition: { targets: graph(true) }, jobs: 1, keepGoing: true }).build(['test:kubernetes', 'test:cloud-nodes', 'deploy:other']);
  assert.is(s.targets['deploy:other']?.fail?.kind, 'error');
  assert.is(unavailableOutcome(s).ok, false);
});

test('a role says it with a marked fail message; the deploy target finds it among what the failed tasks said', () => {
  const msg = `pharos-unavailable ${REPO}: the Kubernetes package repository is unreachable from control-plane ("kubeadm" is not in Debian)\n`;
  assert.equal(unavailableIn(['non-zero return code', msg]), { what: REPO, message: 'the Kubernetes package repository is unreachable from control-plane ("kubeadm" is not in Debian)' });
  assert.is(unavailableIn(['some other failure', '']), undefined);
});

test.run();
