import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isPharosError } from '../../../lib/errors.js';
import { exec } from '../../../lib/tools/exec.js';
import { packerFmtCheck, packerValidate, parseMachineLine, phaseOf, varArgs } from '../../../lib/tools/packer.js';
import { IMAGE_ROLES, makeBuildKey, packerDirFor, roleImageVars } from '../../../lib/images/role.js';

const STUB_PLAYBOOK = resolve('tests/slow/images/fixtures/stub-image-playbook.yml');

// Dummy but well-formed values: validate checks types, the key file and the
// playbook path, not that the base image exists.
async function dummyVars(role: (typeof IMAGE_ROLES)[number], dir: string, playbookFile?: string) {
  const key = await makeBuildKey();
  const vars = roleImageVars(
    { role, base: { qcow2: join(dir, 'base.qcow2'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img') }, outDir: dir, accelerator: 'tcg', playbookFile },
    { baseSha256: '0'.repeat(64), keyFile: key.keyFile, publicKey: key.publicKey, outputDirectory: join(dir, 'out'), bootFilesDir: join(dir, 'boot') },
  );
  return { vars, keyDir: key.dir };
}

for (const role of IMAGE_ROLES) {
  test(`packer validate packer/${role} (stub playbook)`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pharos-packer-'));
    const { vars, keyDir } = await dummyVars(role, dir, STUB_PLAYBOOK);
    try {
      await packerValidate(packerDirFor(role), vars);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(keyDir, { recursive: true, force: true });
    }
  });

  test(`packer validate packer/${role} with its real playbook ansible/playbooks/image-${role}.yml`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pharos-packer-'));
    const { vars, keyDir } = await dummyVars(role, dir);
    try {
      await packerValidate(packerDirFor(role), vars);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(keyDir, { recursive: true, force: true });
    }
  });

  test(`packer fmt -check packer/${role}`, async () => {
    await packerFmtCheck(packerDirFor(role));
  });
}

test('packer fmt -check packer/common', async () => {
  await packerFmtCheck(resolve('packer/common'));
});

test('packer validate fails on a bad accelerator-less template (the check can fail)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pharos-packer-bad-'));
  try {
    await writeFile(join(dir, 'bad.pkr.hcl'), 'source "qemu" "x" {\n  no_such_option = true\n}\nbuild {\n  sources = ["source.qemu.x"]\n}\n');
    await packerValidate(dir, {});
    assert.unreachable('validate accepted an unknown option');
  } catch (e) {
    assert.ok(isPharosError(e));
    assert.match((e as Error).message, /no_such_option|Unsupported argument/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('fmt -check fails on a badly formatted file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pharos-packer-fmt-'));
  try {
    await writeFile(join(dir, 'x.pkr.hcl'), 'variable "a" {\ntype=string\n}\n');
    await packerFmtCheck(dir);
    assert.unreachable('fmt -check accepted an unformatted file');
  } catch (e) {
    assert.ok(isPharosError(e));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('machine-readable lines are split and unescaped', () => {
  const m = parseMachineLine('1732540000,qemu.image,ui,say,==> qemu.image: a%!(PACKER_COMMA) b\\nnext');
  assert.equal(m, { time: '1732540000', target: 'qemu.image', type: 'ui', data: ['say', '==> qemu.image: a, b\nnext'] });
  assert.is(parseMachineLine('plain text'), undefined);
});

test('phases follow the qemu builder wording', () => {
  assert.is(phaseOf('==> qemu.image: Starting VM, booting disk image'), 'booting');
  assert.is(phaseOf('==> qemu.image: Waiting for SSH to become available...'), 'booting');
  assert.is(phaseOf('==> qemu.image: Connected to SSH!'), 'provisioning');
  assert.is(phaseOf('    qemu.image: PHAROS-PHASE cleanup'), 'cleanup');
  assert.is(phaseOf('==> qemu.image: Converting hard drive...'), 'compacting');
  assert.is(phaseOf('    qemu.image: ok: [default]'), undefined);
});

test('vars become sorted -var arguments with booleans and numbers as text', () => {
  assert.equal(varArgs({ b: true, a: 2, c: 'x y' }), ['-var', 'a=2', '-var', 'b=true', '-var', 'c=x y']);
});

test('the firstboot config var carries the build key with commas doubled', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pharos-packer-'));
  const { vars, keyDir } = await dummyVars('hpc-compute', dir, STUB_PLAYBOOK);
  try {
    assert.match(String(vars.firstboot_config), /^hostname=pharos-build-hpc-compute\nssh_authorized_key=ssh-ed25519 \S+ pharos-image-build\n$/);
    assert.is(vars.accelerator, 'tcg');
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(keyDir, { recursive: true, force: true });
  }
});

test('shellcheck passes on the image scripts', async () => {
  const scripts = ['packer/base/customize.sh', 'packer/base/pharos-firstboot.sh'];
  await exec('shellcheck', ['--shell=sh', ...scripts], { pkg: 'shellcheck' });
});

test.run();
