/**
 * Golden domain/network/pool XML. Regenerate after an intended change with
 * PHAROS_UPDATE_GOLDEN=1 and review the diff. Every golden file is also checked
 * against libvirt's own RNG schema with `virt-xml-validate`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { domainXml, specHash } from '../../../lib/libvirt/domain.js';
import { networkXml, networkFingerprint, subnetInfo } from '../../../lib/libvirt/network.js';
import { poolXml } from '../../../lib/libvirt/pool.js';
import { clusterEnv, buildDomainSpec } from '../../../lib/cluster/ops.js';
import { exec } from '../../../lib/tools/exec.js';
import type { ClusterPlan } from '../../../lib/model.js';
import { exampleHpcPlan, hugepagesPlan, localUserPlan } from './plans.js';

const GOLDEN = fileURLToPath(new URL('../../fixtures/golden/', import.meta.url));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPharosGoldenTestKeyPharosGoldenTestKey0 pharos-golden';

function specsFor(plan: ClusterPlan, hostCpus?: number[]) {
  const env = clusterEnv(plan, { stateRoot: '/var/lib/pharos-golden/state', dataRoot: '/var/lib/pharos-golden', hostCpus });
  return plan.nodes.map((node, i) =>
    buildDomainSpec(plan, env, {
      node,
      image: { image: `/images/${node.role}.qcow2` },
      disk: `/var/lib/pharos-golden/pools/${plan.name}/${node.name}.qcow2`,
      sshPort: plan.network.mode === 'user' ? 22200 + i : undefined,
      authorizedKey: KEY,
    }),
  );
}

const scratch = mkdtempSync(join(tmpdir(), 'pht-golden-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

async function golden(name: string, text: string, kind: 'domain' | 'network' | 'storagepool'): Promise<void> {
  const file = join(GOLDEN, name);
  if (process.env.PHAROS_UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
  }
  assert.ok(existsSync(file), `golden file ${file} is missing (create it with PHAROS_UPDATE_GOLDEN=1)`);
  assert.fixture(text, readFileSync(file, 'utf8'), `${name} differs from its golden file (PHAROS_UPDATE_GOLDEN=1 to accept)`);
  const tmp = join(scratch, name);
  writeFileSync(tmp, text);
  const r = await exec('virt-xml-validate', [tmp, kind], { okCodes: [0, 1, 2, 3, 4, 5] });
  assert.is(r.code, 0, `${name} fails libvirt's schema:\n${r.stderr}${r.stdout}`);
}

test('example hpc cluster: passthrough + virtiofs domains match golden files', async () => {
  for (const spec of specsFor(exampleHpcPlan())) await golden(`domain-${spec.name}.xml`, domainXml(spec), 'domain');
});

test('hugepages + pinning variant matches its golden file', async () => {
  const [, compute] = specsFor(hugepagesPlan(), [2, 3, 4, 5]);
  await golden('domain-hugepages-compute.xml', domainXml(compute!), 'domain');
});

test('local user-mode TCG nodes match golden files', async () => {
  for (const spec of specsFor(localUserPlan())) await golden(`domain-${spec.name}.xml`, domainXml(spec), 'domain');
});

test('networks and pool match golden files', async () => {
  await golden('network-hpc-nat.xml', networkXml(exampleHpcPlan()), 'network');
  await golden('network-local-user.xml', networkXml(localUserPlan()), 'network');
  await golden('pool-hpc.xml', poolXml('hpc-pool', '/var/lib/pharos/pools/hpc'), 'storagepool');
});

test('GPU domain: KVM hidden, GPU function first with ROM BAR, no graphics, shared memfd', () => {
  const [, , c2] = specsFor(exampleHpcPlan());
  const xml = domainXml(c2!);
  assert.match(xml, "<hidden state='on'/>");
  assert.not.match(xml, '<graphics');
  assert.ok(xml.indexOf("slot='0x00' function='0x0'") < xml.indexOf("slot='0x00' function='0x1'"), 'GPU function listed first');
  assert.is(xml.match(/<rom bar='on'\/>/g)?.length, 1);
  assert.match(xml, "<source type='memfd'/>");
  assert.match(xml, "<cpu mode='host-passthrough'");
  assert.match(xml, "<feature policy='require' name='avx2'/>");
});

test('virtio-fs under TCG: shared memfd memory, one vhost-user filesystem per mount, no binary path, no readonly', async () => {
  const p = localUserPlan();
  p.memoryBacking.memfd = false; // the mounts alone must turn shared memory on
  p.nodes[0]!.virtiofs = [
    { tag: 'scratch', hostPath: '/var/lib/pharos/vfs/scratch', mountPoint: '/mnt/scratch', create: true, field: 'clusters.hpc.controller.virtio_fs_mounts[0].host_path' },
    { tag: 'ref', hostPath: "/srv/a&b'c", mountPoint: '/opt/ref', options: 'ro' },
  ];
  const [s] = specsFor(p);
  const xml = domainXml(s!);
  assert.match(xml, "<domain type='qemu'");
  assert.match(xml, "  <memoryBacking>\n    <source type='memfd'/>\n    <access mode='shared'/>\n  </memoryBacking>\n");
  assert.is(xml.match(/<driver type='virtiofs' queue='1024'\/>/g)?.length, 2);
  assert.match(xml, "<source dir='/var/lib/pharos/vfs/scratch'/>\n      <target dir='scratch'/>");
  assert.match(xml, "<source dir='/srv/a&amp;b&apos;c'/>");
  // libvirt 9.0 refuses <readonly/> for virtiofs; virtiofsd comes from QEMU's vhost-user descriptor.
  assert.not.match(xml, '<readonly');
  assert.not.match(xml, '<binary');
  // create/field are host-side only: they neither reach the spec nor its hash.
  assert.equal(s!.virtiofs.map((m) => Object.keys(m).sort()), [['hostPath', 'mountPoint', 'tag'], ['hostPath', 'mountPoint', 'options', 'tag']]);
  const tmp = join(scratch, 'virtiofs.xml');
  writeFileSync(tmp, xml);
  const r = await exec('virt-xml-validate', [tmp, 'domain'], { okCodes: [0, 1, 2, 3, 4, 5] });
  assert.is(r.code, 0, `${r.stderr}${r.stdout}`);
});

test('TCG: no host-passthrough, maximum CPU with optional features, type qemu', () => {
  const p = localUserPlan();
  p.cpu.features = ['+sse4.2'];
  const [s] = specsFor(p);
  const xml = domainXml(s!);
  assert.match(xml, "<domain type='qemu'");
  assert.match(xml, "<cpu mode='maximum'");
  assert.match(xml, "<feature policy='optional' name='sse4.2'/>");
  assert.not.match(xml, 'host-passthrough');
  assert.match(xml, 'hostfwd=tcp:127.0.0.1:22200-:22');
  assert.match(xml, "<entry name='opt/pharos/config'>hostname=local-controller\n");
  assert.match(xml, '\ncluster_ip=10.77.0.10/24\n');
});

test('spec hash changes with anything that shapes the domain, and only then', () => {
  const [a] = specsFor(localUserPlan());
  const [b] = specsFor(localUserPlan());
  assert.is(specHash(a!), specHash(b!));
  assert.is.not(specHash(a!), specHash({ ...a!, memoryMiB: a!.memoryMiB + 1 }));
  assert.is.not(specHash(a!), specHash({ ...a!, kernel: '/boot/vmlinuz' }));
  assert.match(domainXml(a!), `>${specHash(a!)}</pharos:spec>`);
});

test('direct kernel boot replaces the boot device', () => {
  const [a] = specsFor(localUserPlan());
  const xml = domainXml({ ...a!, kernel: '/k', initrd: '/i', cmdline: 'console=ttyS0 root=/dev/vda1' });
  assert.match(xml, '<kernel>/k</kernel>');
  assert.match(xml, '<initrd>/i</initrd>');
  assert.match(xml, '<cmdline>console=ttyS0 root=/dev/vda1</cmdline>');
  assert.not.match(xml, "<boot dev='hd'/>");
});

test('subnet arithmetic: gateway +1, DHCP from +10 to broadcast-1', () => {
  assert.equal(subnetInfo('192.168.100.0/24'), {
    network: '192.168.100.0',
    prefix: 24,
    netmask: '255.255.255.0',
    gateway: '192.168.100.1',
    dhcpStart: '192.168.100.10',
    dhcpEnd: '192.168.100.254',
  });
  assert.throws(() => subnetInfo('10.0.0.0/33'), /bad subnet/);
});

test('user network: isolated (no forward, no ip); long bridge names rejected', () => {
  const xml = networkXml(localUserPlan());
  assert.not.match(xml, '<forward');
  assert.not.match(xml, '<ip');
  const p = localUserPlan();
  p.network.bridge = 'a-very-long-bridge-name';
  assert.throws(() => networkXml(p), /not a valid Linux interface name/);
});

test('network fingerprint sees host changes but not libvirt-added uuid/mac', () => {
  const p = exampleHpcPlan();
  const a = networkXml(p);
  const withUuid = a.replace('<name>hpc-network</name>', "<name>hpc-network</name>\n  <uuid>1234</uuid>\n  <mac address='52:54:00:00:00:01'/>");
  assert.is(networkFingerprint(withUuid), networkFingerprint(a));
  p.nodes[1]!.ip = '192.168.100.99';
  assert.is.not(networkFingerprint(networkXml(p)), networkFingerprint(a));
});

test('CPU topology always multiplies out to the vCPU count', () => {
  for (const spec of specsFor(exampleHpcPlan())) {
    const m = /<topology sockets='(\d+)' dies='1' cores='(\d+)' threads='(\d+)'\/>/.exec(domainXml(spec))!;
    assert.is(Number(m[1]) * Number(m[2]) * Number(m[3]), spec.vcpus, spec.name);
  }
});

test.run();
