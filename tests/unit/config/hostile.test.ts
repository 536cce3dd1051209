/**
 * Hostile configs (issue 10, items 2–6): each class of input a careless or
 * malicious config could carry is rejected with one located problem, or
 * neutralised. The table in tests/fixtures/configs/README.md names each test
 * here. Item 1 (values reach Ansible as data) is tests/unit/ansible/unsafe.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PharosError, type ErrorDetail } from '../../../lib/errors.js';
import { loadConfigText, loadSchema, REPO_ROOT } from '../../../lib/config/load.js';
import { mmdebstrapArgs } from '../../../lib/tools/mmdebstrap.js';
import * as qemuImg from '../../../lib/tools/qemu-img.js';
import { assertSafeName } from '../../../lib/tools/virsh.js';
import { planSystem } from '../../../lib/config/plan.js';
import { nthAddress, parseSubnet } from '../../../lib/config/ip.js';
import { networkXml } from '../../../lib/libvirt/network.js';
import { HOST } from './helpers.js';

const FIX = join(REPO_ROOT, 'tests', 'fixtures', 'configs');
const BASE = readFileSync(join(FIX, 'valid-base.yaml'), 'utf8');
const BIN = join(REPO_ROOT, 'bin', 'pharos.js');
const env = { HOME: '/home/tester' };

/** valid-base.yaml with `from` replaced by `to` (which must occur). */
function variant(from: string | RegExp, to: string): string {
  assert.ok(typeof from === 'string' ? BASE.includes(from) : from.test(BASE), `variant: ${String(from)} not found in valid-base.yaml`);
  return BASE.replace(from, to);
}

function reject(text: string, file = 'hostile.yaml'): ErrorDetail[] {
  try {
    loadConfigText(text, file, { env, host: HOST });
  } catch (e) {
    if (!(e instanceof PharosError)) throw new Error(`threw a non-PharosError (exit 70): ${String((e as Error).stack ?? e)}`);
    assert.is(e.exitCode, 2);
    return e.problems;
  }
  throw new Error('the config loaded, but it must be rejected');
}

/** The one problem at `field` whose message includes `msg`. */
function hit(details: ErrorDetail[], field: string | undefined, msg: string | RegExp): ErrorDetail {
  const d = details.find((x) => (field === undefined || x.field === field) && (typeof msg === 'string' ? x.message.includes(msg) : msg.test(x.message)));
  if (!d) throw new Error(`no problem ${field ?? ''} ~ ${String(msg)}; got:\n${details.map((x) => `  ${x.line}:${x.column} ${x.field ?? ''} ${x.message}`).join('\n')}`);
  assert.ok(d.line && d.column, `located: ${JSON.stringify(d)}`);
  return d;
}

function pharos(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

// ------------------------------------------------------------ item 6: YAML

test('item 6: billion laughs is one located problem, exit 2, no stack', () => {
  const r = pharos(['validate', join(FIX, 'hostile', 'billion-laughs.yaml')]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /billion-laughs\.yaml:11:\d+: YAML aliases expand the file to \d+ nodes/);
  assert.match(r.err, 'the limit is 100000');
  assert.not.match(r.err, '    at ');
  assert.not.match(r.err, 'this is a bug');
});

test('item 6: an undefined alias names the alias, file:line:column, exit 2', () => {
  const r = pharos(['validate', join(FIX, 'hostile', 'undefined-alias.yaml')]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, 'undefined-alias.yaml:28:26: YAML alias `*partition` refers to no anchor');
  assert.not.match(r.err, '    at ');
});

test('item 6: an alias inside its own anchor is a cycle, not a crash', () => {
  const d = reject(variant('partitions: ["debug"]', 'partitions: &p ["debug", *p]'));
  hit(d, undefined, 'is inside the node it refers to');
});

test('item 6: ordinary anchors and aliases still work', () => {
  const l = loadConfigText(variant('partitions: ["debug"]\n      default_partition: "debug"', 'partitions: [&d "debug"]\n      default_partition: *d'), 'ok.yaml', { env, host: HOST });
  assert.is(l.config.clusters.hpc?.slurm_config.default_partition, 'debug');
});

// ------------------------------------------------------------ item 4: sizes

const CTRL = 'cpu_cores: 1\n      memory_gb: 1\n      disk_gb: 4\n      ip_address';
for (const [field, value, limit, why] of [
  ['memory_gb', '1000000000000', 4096, 'MiB/GiB mix-up'],
  ['disk_gb', '1000000000000000', 65536, 'qcow2 limit'],
  ['cpu_cores', '1000000', 1024, "QEMU's limit"],
] as const) {
  test(`item 4: ${field}: ${value} is out of range, with the bound and why`, () => {
    const d = reject(variant(CTRL, CTRL.replace(new RegExp(`${field}: \\d+`), `${field}: ${value}`)));
    const p = hit(d, `clusters.hpc.controller.${field}`, 'out of range');
    assert.is(p.expected, `at most ${limit}`);
    assert.match(p.hint ?? '', why);
  });
}

test('item 4: a template count of 10^9 is refused before anything is expanded', () => {
  const d = reject(variant(/    compute_nodes:\n[\s\S]*?    slurm_config:/, '    compute_nodes:\n      count: 1000000000\n      ip: DHCP\n      cpu_cores: 1\n      memory_gb: 1\n      disk_gb: 4\n    slurm_config:'));
  // One problem about the count, not one per node that found no address.
  assert.is(d.length, 1, JSON.stringify(d));
  const p = hit(d, 'clusters.hpc.compute_nodes.count', 'out of range');
  assert.is(p.expected, 'at most 1024');
  assert.match(p.hint ?? '', 'before the template is expanded');
});

test('item 4: a list of more than 1024 nodes is refused', () => {
  const node = '      - cpu_cores: 1\n        memory_gb: 1\n        disk_gb: 4\n        ip: DHCP\n';
  const d = reject(variant(/    compute_nodes:\n[\s\S]*?    slurm_config:/, `    compute_nodes:\n${node.repeat(1025)}    slurm_config:`));
  hit(d, 'clusters.hpc.compute_nodes', 'the list has 1025 items');
});

test('item 4: the bounds themselves are accepted (samples.test.ts: every real sample still loads)', () => {
  const big = variant(CTRL, 'cpu_cores: 1024\n      memory_gb: 4096\n      disk_gb: 65536\n      ip_address');
  assert.ok(loadConfigText(big, 'big.yaml', { env, host: HOST }).config.clusters.hpc);
});

// ------------------------------------------------------------ item 5: subnets

test('item 5: every subnet prefix that validates also builds its network XML', () => {
  const agree: string[] = [];
  for (let prefix = 0; prefix <= 32; prefix++) {
    const net = `${nthAddress(parseSubnet(`10.9.0.0/${prefix}`), 0)}/${prefix}`;
    const text = variant('subnet: "10.9.0.0/24"', `subnet: "${net}"`);
    let valid = true;
    let plan;
    try {
      plan = planSystem(loadConfigText(text, `p${prefix}.yaml`, { env, host: HOST }));
    } catch (e) {
      if (!(e instanceof PharosError)) throw e;
      valid = false;
      const p = hit(e.problems, 'clusters.hpc.network.subnet', 'not in the expected form');
      assert.match(p.expected ?? '', '/8 to /28');
    }
    if (valid && plan) {
      const c = plan.clusters[0]!;
      // The plan's gateway is a host address of the subnet, and the XML builds.
      assert.ok(c.network.gateway !== '0.0.0.1', `/${prefix}: gateway ${c.network.gateway}`);
      assert.match(networkXml(c), `<ip address='${c.network.gateway}' netmask='${c.network.netmask}'>`);
      agree.push(`/${prefix}`);
    }
  }
  assert.equal(agree, Array.from({ length: 21 }, (_, i) => `/${i + 8}`));
});

// ------------------------------------------------ item 2: control characters, URLs, patterns

const BEEGFS = (mp: string): string =>
  variant('    slurm_config:', `    storage:\n      beegfs:\n        enabled: true\n        mount_point: ${JSON.stringify(mp)}\n        management_node: controller\n        metadata_nodes: [controller]\n        storage_nodes: [controller]\n    slurm_config:`);
const GLOBAL = (yaml: string): string => variant('clusters:\n', `global:\n${yaml}\nclusters:\n`);

test('item 2: a line break in beegfs.mount_point is refused (it would add a line to beegfs-mounts.conf)', () => {
  const d = reject(BEEGFS('/mnt/a\n/etc/evil /etc/beegfs/x.conf'));
  const p = hit(d, 'clusters.hpc.storage.beegfs.mount_point', 'not in the expected form');
  assert.match(p.message, '"/mnt/a\\n/etc/evil', 'the value is shown escaped');
  assert.not.match(p.message, '\n', 'no raw line break in the report');
  assert.match(p.expected ?? '', 'no spaces or control characters');
  // The same path without the line break is fine.
  assert.ok(loadConfigText(BEEGFS('/mnt/beegfs'), 'ok.yaml', { env, host: HOST }));
});

for (const [what, mirror] of [
  ['a line break adding a trusted source', 'http://deb.debian.org/debian\ndeb [trusted=yes] http://evil.example/ x main'],
  ['a space adding APT options', 'http://deb.debian.org/debian [trusted=yes]'],
  ['an ftp URL', 'ftp://deb.debian.org/debian'],
  ['a sources.list line', 'deb [trusted=yes] http://evil.example/ x main'],
] as const) {
  test(`item 2: mirror with ${what} is refused`, () => {
    const d = reject(GLOBAL(`  base_image:\n    source: mmdebstrap\n    mirror: ${JSON.stringify(mirror)}`));
    const p = hit(d, 'global.base_image.mirror', /not in the expected form|not a valid URL/);
    assert.match(p.expected ?? '', 'http, https or file');
  });
}

test('item 2: mirror and cloud-image URLs that are URLs still load', () => {
  for (const m of ['http://deb.debian.org/debian', 'https://mirror.example.org:8443/debian/', 'file:///srv/mirror/debian']) {
    const l = loadConfigText(GLOBAL(`  base_image:\n    source: mmdebstrap\n    mirror: "${m}"`), 'ok.yaml', { env, host: HOST });
    assert.ok(l.config.global?.base_image, m);
  }
});

test('item 2: mmdebstrap itself refuses a mirror that is not one URL (defence under the schema)', () => {
  assert.throws(() => mmdebstrapArgs({ suite: 'bookworm', target: '/tmp/t', include: [], mirror: 'http://a/\ndeb [trusted=yes] http://b/ x main' }), /mirror/);
  assert.throws(() => mmdebstrapArgs({ suite: 'bookworm\nx', target: '/tmp/t', include: [] }), /suite/);
  assert.equal(mmdebstrapArgs({ suite: 'bookworm', target: '/tmp/t', include: [], mirror: 'http://a/debian' }).slice(-3), ['bookworm', '/tmp/t', 'http://a/debian']);
});

for (const [field, from, to] of [
  ['clusters.hpc.libvirt_uri', '    name: "b"', '    name: "b"\n    libvirt_uri: "qemu:///system\\n--readonly"'],
  ['metadata.name', 'name: "broken"', 'name: "broken\\u202e"'],
  ['metadata.description', 'description: "broken corpus"', 'description: "a\\u001b[2Jb"'],
] as const) {
  test(`item 2: control characters in ${field} are refused`, () => {
    hit(reject(variant(from, to)), field, 'not in the expected form');
  });
}

test('item 2: a multi-line description is still text', () => {
  assert.ok(loadConfigText(variant('description: "broken corpus"', 'description: |\n    two\n    \tlines'), 'ok.yaml', { env, host: HOST }));
});

test('item 2: every schema pattern is anchored at both ends; every string is constrained', () => {
  const loose: string[] = [];
  const walk = (s: unknown, where: string): void => {
    if (!s || typeof s !== 'object') return;
    if (Array.isArray(s)) return s.forEach((x, i) => walk(x, `${where}[${i}]`));
    const o = s as Record<string, unknown>;
    const pat = o['pattern'];
    if (typeof pat === 'string') {
      // Anchored, and no alternation outside a group (`^a|b$` anchors each branch at one end only).
      let depth = 0;
      let topAlt = false;
      for (let i = 0; i < pat.length; i++) {
        const c = pat[i];
        if (c === '\\') i++;
        else if (c === '(') depth++;
        else if (c === ')') depth--;
        else if (c === '|' && depth === 0) topAlt = true;
      }
      if (!pat.startsWith('^') || !pat.endsWith('$') || pat.endsWith('\\$') || topAlt) loose.push(`${where}: ${pat}`);
    }
    if (o['type'] === 'string' && !('pattern' in o) && !('enum' in o) && !('const' in o) && !('format' in o) && !('anyOf' in o)) loose.push(`${where}: unconstrained string`);
    for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
  };
  walk(loadSchema(), '#');
  assert.equal(loose, []);
});

test('item 2: Kubernetes names are names (a template in kubernetes_config.cni is refused)', () => {
  const cloud = readFileSync(join(REPO_ROOT, 'config', 'example-multi-gpu-clusters.yaml'), 'utf8');
  assert.match(cloud, 'cni: "calico"');
  const d = reject(cloud.replace('cni: "calico"', `cni: "{{ lookup('pipe','touch /tmp/x') }}"`), 'example.yaml');
  hit(d, 'clusters.cloud.kubernetes_config.cni', 'not in the expected form');
});

// ------------------------------------------------ item 3: paths as options or URLs

const IMAGE = (p: string): string => variant('    name: "b"', `    name: "b"\n    base_image_path: ${JSON.stringify(p)}`);

for (const url of ['nbd://127.0.0.1:1/x.qcow2', 'json:{"file.driver":"nbd","file.host":"127.0.0.1"}.qcow2', 'file:x.qcow2', 'http://example.org/x.qcow2']) {
  test(`item 3: base_image_path ${url} is refused (QEMU would open it as a protocol)`, () => {
    const p = hit(reject(IMAGE(url)), 'clusters.hpc.base_image_path', 'not in the expected form');
    assert.match(p.expected ?? '', 'not a URL');
  });
}

test('item 3: a relative image path is a file beside the config, absolute in the plan', () => {
  const file = join(FIX, 'somewhere', 'c.yaml');
  for (const [given, want] of [
    ['-U.qcow2', join(dirname(file), '-U.qcow2')],
    ['images/a:b.qcow2', join(dirname(file), 'images', 'a:b.qcow2')],
    ['/srv/img/x.qcow2', '/srv/img/x.qcow2'],
  ] as const) {
    const plan = planSystem(loadConfigText(IMAGE(given), file, { env, host: HOST }));
    assert.equal(plan.clusters[0]!.nodes[0]!.image, { kind: 'path', path: want }, given);
  }
});

test('item 3: qemu-img gets every path so it cannot read it as an option or a protocol (real qemu-img)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-qarg-'));
  const cwd = process.cwd();
  try {
    process.chdir(dir);
    await qemuImg.create('-U.qcow2', 1024 * 1024);
    const i = await qemuImg.info('-U.qcow2');
    assert.is(i.virtualSize, 1024 * 1024);
    assert.is(i.filename, join(dir, '-U.qcow2'));
    await qemuImg.createOverlay('nbd:x.qcow2', '-U.qcow2');
    assert.is((await qemuImg.info('nbd:x.qcow2')).backingFilename, join(dir, '-U.qcow2'));
    // A URL-like name is looked up as a file, never connected to.
    try {
      await qemuImg.info('nbd://127.0.0.1:1/x.qcow2');
      assert.unreachable('no such file');
    } catch (e) {
      assert.match(String((e as Error).message), /No such file/);
      assert.not.match(String((e as Error).message), /Failed to connect/);
    }
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('item 3: a libvirt object name cannot start with "-" (virsh would read an option)', () => {
  assert.throws(() => assertSafeName('domain', '--all'), /invalid libvirt domain name/);
  assertSafeName('domain', 'pharos-controller');
});

test.run();
