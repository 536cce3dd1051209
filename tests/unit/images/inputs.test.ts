import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { globby } from 'globby';
import { resolve } from 'node:path';
import { playbookRoles, roleImageInputs } from '../../../lib/images/inputs.js';

const ROOT = resolve('.');

test('compute image inputs follow the playbook roles and their meta dependencies', async () => {
  const roles = await playbookRoles(ROOT, 'ansible/playbooks/image-hpc-compute.yml');
  assert.ok(roles.includes('slurm-compute'));
  assert.ok(roles.includes('slurm-common'), 'meta dependency of slurm-compute');
  assert.not.ok(roles.includes('slurm-controller'));
});

test('deploy-only role files do not shape an image; install files and the template do', async () => {
  const globs = await roleImageInputs(ROOT, 'hpc-compute');
  const files = await globby(globs, { cwd: ROOT, followSymbolicLinks: false });
  assert.ok(files.includes('packer/common/image.pkr.hcl'));
  assert.ok(files.includes('ansible/playbooks/image-hpc-compute.yml'));
  assert.ok(files.includes('ansible/roles/munge/tasks/install.yml'));
  assert.ok(files.includes('ansible/roles/munge/tasks/main.yml'));
  assert.not.ok(files.includes('ansible/roles/munge/tasks/configure.yml'));
  assert.not.ok(files.some((f) => f.includes('/templates/')), 'templates are deploy-time');
  assert.not.ok(files.some((f) => f.startsWith('ansible/roles/slurm-controller/')), 'controller-only role');
  assert.not.ok(files.includes('ansible/playbooks/image-hpc-controller.yml'));
});

test.run();
