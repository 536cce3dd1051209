/**
 * Real libvirtd, no VM booted: the domain XML Pharos writes for a node with
 * virtio-fs mounts (TCG, as the local default runs) is accepted by `virsh
 * define`, and libvirt turns it into QEMU's vhost-user-fs device on shared
 * memfd memory (`domxml-to-native qemu-argv`), finding virtiofsd through
 * QEMU's vhost-user descriptor, with no `<binary path>`. libvirt 9.0 refuses
 * `<readonly/>` on a virtiofs filesystem, which is why read-only is the
 * guest's `ro` mount option. The test domain is `pharos-test-vfs-<random>`,
 * undefined at the end; nothing else on the connection is touched.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as virsh from '../../../lib/tools/virsh.js';
import { domainXml } from '../../../lib/libvirt/domain.js';
import { buildDomainSpec, clusterEnv } from '../../../lib/cluster/ops.js';
import { qemuMacFor } from '../../../lib/config/plan.js';
import type { ClusterPlan } from '../../../lib/model.js';
import { leftovers, requireLibvirt, URI } from './helpers.js';

const PREFIX = `pharos-test-vfs-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
const defined = new Set<string>();

test.before(async () => {
  await requireLibvirt();
});
test.after(async () => {
  for (const d of defined) await virsh.domain.undefine(URI, d).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

function plan(): ClusterPlan {
  const name = `${PREFIX}-controller`;
  return {
    name: PREFIX,
    kind: 'hpc',
    libvirtUri: URI,
    acceleration: 'tcg',
    users: [],
    cpu: { model: 'host-model', features: [], pinning: false, nested: false },
    memoryBacking: { hugepages: false, hugepageSize: '2M', memfd: false },
    network: { mode: 'user', subnet: '10.99.0.0/24', prefix: 24, gateway: '10.99.0.1', netmask: '255.255.255.0', libvirtName: `${PREFIX}-cluster`, bridge: 'phtvfs0' },
    nodes: [
      {
        name, shortName: 'controller', cluster: PREFIX, role: 'controller', vcpus: 1, memoryMiB: 256, diskGb: 1, ip: '10.99.0.10',
        mac: qemuMacFor(name), mgmtMac: qemuMacFor(name, 'mgmt'), image: { kind: 'path', path: join(dir, 'base.qcow2') }, autoStart: false, pcie: [], emulatedGpus: 0,
        virtiofs: [
          { tag: 'scratch', hostPath: dir, mountPoint: '/mnt/scratch', create: true, field: 'x' },
          { tag: 'ref', hostPath: dir, mountPoint: '/opt/ref', options: 'ro' },
        ],
      },
    ],
    storage: { shared: 'none', mountPoint: '/shared', virtiofs: true },
    monitoring: { prometheus: false, nodeExporter: false, grafana: false, dcgm: false },
  };
}

function xmlFor(p: ClusterPlan): string {
  const env = clusterEnv(p, { stateRoot: join(dir, 'state'), dataRoot: join(dir, 'data') });
  const node = p.nodes[0]!;
  return domainXml(buildDomainSpec(p, env, { node, image: { image: join(dir, 'base.qcow2') }, disk: join(dir, 'disk.qcow2'), sshPort: 22999, authorizedKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPharosVfsTest pharos-test' }));
}

test('libvirt accepts the virtio-fs domain and makes vhost-user-fs devices on shared memfd memory', async () => {
  const p = plan();
  const name = p.nodes[0]!.name;
  const xml = xmlFor(p);
  defined.add(name);
  await virsh.domain.define(URI, xml);
  try {
    const live = await virsh.domain.dumpxml(URI, name, true);
    assert.match(live, /<filesystem type='mount' accessmode='passthrough'>\s*<driver type='virtiofs' queue='1024'\/>/);
    assert.match(live, "<target dir='scratch'/>");
    assert.match(live, "<access mode='shared'/>");
    const argv = await virsh.virsh(URI, ['domxml-to-native', 'qemu-argv', '--domain', name]);
    assert.match(argv, /"qom-type":"memory-backend-memfd"[^}]*"share":true/);
    for (const tag of ['scratch', 'ref']) assert.match(argv, new RegExp(`"driver":"vhost-user-fs-pci"[^}]*"tag":"${tag}"`));
    assert.is(argv.match(/-chardev socket,id=chr-vu-fs\d,path=/g)?.length, 2);
  } finally {
    await virsh.domain.undefine(URI, name);
    defined.delete(name);
  }
  assert.equal(await leftovers(PREFIX), []);
});

test('virtiofsd is found through a vhost-user descriptor of type fs (no <binary path> needed)', () => {
  const dirs = ['/etc/qemu/vhost-user', '/usr/share/qemu/vhost-user'];
  const found: string[] = [];
  for (const d of dirs) {
    let files: string[] = [];
    try {
      files = readdirSync(d).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of files) {
      const j = JSON.parse(readFileSync(join(d, f), 'utf8')) as { type?: string; binary?: string };
      if (j.type !== 'fs' || !j.binary) continue;
      accessSync(j.binary, constants.X_OK);
      found.push(j.binary);
    }
  }
  assert.ok(found.length > 0, `no vhost-user descriptor of type fs in ${dirs.join(' or ')} (Debian: qemu-system-common ships 50-qemu-virtiofsd.json)`);
});

test('libvirt 9.0 refuses <readonly/> on virtiofs, so ro is the guest mount option', async () => {
  const p = plan();
  const name = `${p.nodes[0]!.name}-ro`;
  const xml = xmlFor(p).replace(`<name>${p.nodes[0]!.name}</name>`, `<name>${name}</name>`).replace("<target dir='ref'/>", "<target dir='ref'/>\n      <readonly/>");
  defined.add(name);
  const e = await virsh.domain.define(URI, xml).then(() => undefined, (x: unknown) => x as Error);
  if (!e) {
    await virsh.domain.undefine(URI, name);
    assert.unreachable('this libvirt accepts <readonly/> on virtiofs: the role could rely on it (update domain.ts and README)');
  }
  defined.delete(name);
  assert.match(e!.message, 'virtiofs does not yet support read-only mode');
});

test.run();
