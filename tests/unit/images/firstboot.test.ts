import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exec } from '../../../lib/tools/exec.js';
import { isPharosError } from '../../../lib/errors.js';
import {
  fwCfgQemuArg,
  knownHostsLines,
  knownHostsPattern,
  parseFirstbootConfig,
  parseHostKeyLines,
  renderFirstbootConfig,
  type FirstbootConfig,
} from '../../../lib/images/firstboot.js';

const SCRIPT = resolve('packer/base/pharos-firstboot.sh');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJN+elVVmOnAfBLfL3S5mcr6suaG9Z0a28QwmV0B35v4 pharos@test';

const full: FirstbootConfig = {
  hostname: 'hpc-compute-01',
  sshAuthorizedKeys: [KEY],
  clusterIp: '10.77.0.11/24',
  clusterMac: '52:54:00:AA:00:0B',
  mgmtMac: '52:54:00:bb:00:0b',
  hosts: [
    { name: 'hpc-controller', ip: '10.77.0.10' },
    { name: 'hpc-compute-01', ip: '10.77.0.11' },
  ],
};

test('render writes one key=value line per field, MACs lower-cased', () => {
  const text = renderFirstbootConfig(full);
  assert.is(
    text,
    [
      'hostname=hpc-compute-01',
      `ssh_authorized_key=${KEY}`,
      'cluster_ip=10.77.0.11/24',
      'cluster_mac=52:54:00:aa:00:0b',
      'mgmt_mac=52:54:00:bb:00:0b',
      'hosts=hpc-controller:10.77.0.10 hpc-compute-01:10.77.0.11',
      '',
    ].join('\n'),
  );
});

test('rendered text has no comma (libvirt 9.0 does not escape them for -fw_cfg)', () => {
  assert.not.ok(renderFirstbootConfig(full).includes(','));
  assert.equal(parseFirstbootConfig('hosts=a:1.1.1.1,b:2.2.2.2').hosts, [
    { name: 'a', ip: '1.1.1.1' },
    { name: 'b', ip: '2.2.2.2' },
  ]);
});

test('parse(render(x)) round-trips, ignores comments and unknown keys', () => {
  const back = parseFirstbootConfig(`# comment\nfuture_key=1\n${renderFirstbootConfig(full)}`);
  assert.equal(back, { ...full, clusterMac: full.clusterMac?.toLowerCase() });
});

test('render rejects values the guest could not use', () => {
  const cases: FirstbootConfig[] = [
    { hostname: 'bad_name' },
    { clusterIp: '10.77.0.300/24' },
    { clusterIp: '10.77.0.3' },
    { clusterMac: '52:54:00:aa:00' },
    { sshAuthorizedKeys: ['not a key'] },
    { sshAuthorizedKeys: [`${KEY}\nhostname=evil`] },
    { sshAuthorizedKeys: [`${KEY},x`] },
    { hosts: [{ name: 'x', ip: '1.2.3' }] },
  ];
  for (const c of cases) {
    try {
      renderFirstbootConfig(c);
      assert.unreachable(`accepted ${JSON.stringify(c)}`);
    } catch (e) {
      assert.ok(isPharosError(e), `PharosError for ${JSON.stringify(c)}`);
    }
  }
});

test('fw_cfg argument doubles commas (QEMU option syntax)', () => {
  assert.is(fwCfgQemuArg('hosts=a:1.1.1.1,b:2.2.2.2\n'), 'name=opt/pharos/config,string=hosts=a:1.1.1.1,,b:2.2.2.2\n');
});

test('host keys are read from a noisy console log; the latest boot wins', () => {
  const log = [
    '[  19.9] pharos-firstboot[193]: starting',
    'PHAROS-HOSTKEY ssh-ed25519 AAAAold',
    '\r\u001b[0mPHAROS-HOSTKEY ecdsa-sha2-nistp256 AAAAE2Vj+/=\r',
    'PHAROS-HOSTKEY ssh-ed25519 AAAAnew',
  ].join('\n');
  const keys = parseHostKeyLines(log);
  assert.equal(keys, [
    { type: 'ssh-ed25519', key: 'AAAAnew' },
    { type: 'ecdsa-sha2-nistp256', key: 'AAAAE2Vj+/=' },
  ]);
  assert.is(knownHostsLines(knownHostsPattern('127.0.0.1', 2222), keys.slice(0, 1)), '[127.0.0.1]:2222 ssh-ed25519 AAAAnew\n');
  assert.is(knownHostsPattern('10.0.0.1', 22), '10.0.0.1');
});

// The real guest script, run against a directory tree (PHAROS_FIRSTBOOT_ROOT):
// what TypeScript renders is what the shell script applies.
async function runScript(root: string, config: string): Promise<void> {
  await writeFile(join(root, 'config'), config);
  await exec('sh', [SCRIPT], {
    env: { ...process.env, PHAROS_FIRSTBOOT_ROOT: root, PHAROS_FIRSTBOOT_CONFIG: join(root, 'config') },
  });
}

async function tree(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'pharos-firstboot-'));
  await mkdir(join(root, 'etc/systemd/network'), { recursive: true });
  await mkdir(join(root, 'root'), { recursive: true });
  await writeFile(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n');
  return root;
}

test('guest script applies a rendered config: hostname, key, networkd, hosts', async () => {
  const root = await tree();
  try {
    await runScript(root, renderFirstbootConfig(full));
    assert.is((await readFile(join(root, 'etc/hostname'), 'utf8')).trim(), 'hpc-compute-01');
    assert.is(await readFile(join(root, 'root/.ssh/authorized_keys'), 'utf8'), `${KEY}\n`);
    assert.is((await stat(join(root, 'root/.ssh/authorized_keys'))).mode & 0o777, 0o600);
    const cluster = await readFile(join(root, 'etc/systemd/network/10-pharos-cluster.network'), 'utf8');
    assert.match(cluster, /MACAddress=52:54:00:aa:00:0b/);
    assert.match(cluster, /Address=10\.77\.0\.11\/24/);
    const mgmt = await readFile(join(root, 'etc/systemd/network/20-pharos-mgmt.network'), 'utf8');
    assert.match(mgmt, /MACAddress=52:54:00:bb:00:0b\n[\s\S]*DHCP=ipv4/);
    const hosts = await readFile(join(root, 'etc/hosts'), 'utf8');
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost\n# BEGIN pharos\n127\.0\.1\.1\thpc-compute-01\n10\.77\.0\.10\thpc-controller\n/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('guest script is idempotent and follows config changes', async () => {
  const root = await tree();
  try {
    await runScript(root, renderFirstbootConfig(full));
    await runScript(root, renderFirstbootConfig(full));
    const hosts = await readFile(join(root, 'etc/hosts'), 'utf8');
    assert.is(hosts.match(/# BEGIN pharos/g)?.length, 1, 'one managed block after two runs');
    // Cluster NIC and mgmt MAC removed from the config: their files go away.
    await runScript(root, renderFirstbootConfig({ hostname: 'renamed', sshAuthorizedKeys: [KEY] }));
    assert.is((await readFile(join(root, 'etc/hostname'), 'utf8')).trim(), 'renamed');
    for (const f of ['10-pharos-cluster.network', '20-pharos-mgmt.network']) {
      try {
        await stat(join(root, 'etc/systemd/network', f));
        assert.unreachable(`${f} should have been removed`);
      } catch (e) {
        assert.is((e as NodeJS.ErrnoException).code, 'ENOENT');
      }
    }
    assert.match(await readFile(join(root, 'etc/hosts'), 'utf8'), /127\.0\.1\.1\trenamed\n# END pharos/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
