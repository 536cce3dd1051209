/**
 * tasks/roles.ts against ansible/playbooks/playbook-hpc-runtime.yml: the whole
 * deploy runs the catalogue's roles, in the catalogue's order, each on the
 * catalogue's hosts; and the catalogue's order is a valid run order.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { RUNTIME_PLAYBOOK } from '../../../lib/tools/ansible.js';
import { ROLE_CATALOGUE } from '../../../tasks/roles.js';

interface Play {
  hosts: string;
  roles?: Array<string | { role: string }>;
}

const plays = parse(readFileSync(RUNTIME_PLAYBOOK, 'utf8')) as Play[];

test('the runtime playbook runs the HPC catalogue, in order, on the same hosts', () => {
  const fromPlaybook = plays.flatMap((p) =>
    (p.roles ?? []).map((r) => `${typeof r === 'string' ? r : r.role} on ${p.hosts}`),
  );
  // The cloud cluster's roles (on k8s_cluster) are deployed one by one, not by this playbook.
  const fromCatalogue = ROLE_CATALOGUE.filter((r) => r.hosts !== 'k8s_cluster').map((r) => `${r.role} on ${r.hosts}`);
  assert.equal(fromPlaybook, fromCatalogue);
});

test('every `after` in the catalogue names an earlier role', () => {
  const names = ROLE_CATALOGUE.map((r) => r.role);
  ROLE_CATALOGUE.forEach((r, i) => {
    for (const a of r.after) {
      const j = names.indexOf(a);
      assert.ok(j >= 0 && j < i, `${r.role} runs after ${a}, which is ${j < 0 ? 'not in the catalogue' : 'later'}`);
    }
  });
});

test('slurm-compute runs after shared storage and the GPU driver (slurmd stats gres.conf devices)', () => {
  const names = ROLE_CATALOGUE.map((r) => r.role);
  for (const before of ['nfs-client', 'beegfs-client', 'nvidia-gpu-drivers']) {
    assert.ok(names.indexOf(before) < names.indexOf('slurm-compute'), `${before} before slurm-compute`);
  }
});

test.run();
