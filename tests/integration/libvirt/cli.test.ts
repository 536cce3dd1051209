/**
 * `pharos -c CONFIG cluster start` end to end through the bin: a 3-VM user-mode
 * cluster of tiny TCG guests from a real config file, timed from the command to
 * SSH-ready; then status, stop and destroy through the CLI.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../../lib/tools/exec.js';
import { cleanup, clusterName, leftovers, sandbox, URI, type Sandbox } from './helpers.js';

let sb: Sandbox;
test.before(async () => {
  sb = await sandbox();
});
test.after(async () => {
  await cleanup(sb);
});

const BIN = fileURLToPath(new URL('../../../bin/pharos.js', import.meta.url));

test('pharos cluster start → 3 VMs SSH-ready; status, stop, destroy', async () => {
  const name = clusterName(sb);
  // the tiny guest as a "user image" with a kernel beside it (direct kernel boot)
  const img = join(sb.dataRoot, 'guest', 'tiny.qcow2');
  copyFileSync(sb.guest.base, img);
  copyFileSync(sb.guest.kernel, join(sb.dataRoot, 'guest', 'tiny.vmlinuz'));
  copyFileSync(sb.guest.initrd, join(sb.dataRoot, 'guest', 'tiny.initrd'));
  const octet = (parseInt(sb.id.slice(0, 2), 16) % 200) + 20;
  const node = (ip: string) => `      - cpu_cores: 1\n        memory_gb: 1\n        disk_gb: 2\n        ip: "${ip}"\n`;
  const cfg = join(sb.stateRoot, 'cluster.yaml');
  writeFileSync(
    cfg,
    `version: "1.0"
metadata:
  name: "pht-cli"
  description: "libvirt CLI integration test"
clusters:
  hpc:
    name: "${name}"
    libvirt_uri: "${URI}"
    base_image_path: "${img}"
    network:
      mode: user
      subnet: "10.${octet}.250.0/24"
      bridge: "pht${sb.id}c"
    hardware:
      acceleration:
        mode: tcg
    controller:
      cpu_cores: 1
      memory_gb: 1
      disk_gb: 2
      ip_address: "10.${octet}.250.10"
    compute_nodes:
${node(`10.${octet}.250.11`)}${node(`10.${octet}.250.12`)}    slurm_config:
      partitions: ["debug"]
      default_partition: "debug"
`,
  );
  const env = { ...process.env, PHAROS_STATE_DIR: sb.stateRoot, PHAROS_DATA_DIR: sb.dataRoot };
  const t0 = Date.now();
  const r = await exec('node', [BIN, '-c', cfg, '--json', 'cluster', 'start'], { env, okCodes: [0, 1, 2], timeoutMs: 300_000 });
  const ms = Date.now() - t0;
  assert.is(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as { vms: { name: string; domain: string; sshReadyMs: number }[] };
  assert.is(rep.vms.length, 3);
  assert.ok(rep.vms.every((v) => v.domain === 'created' && v.sshReadyMs > 0));
  console.log(`\n  pharos cluster start → 3 VMs SSH-ready: ${(ms / 1000).toFixed(1)} s (bin start-up included)`);

  const st = await exec('node', [BIN, 'cluster', 'status', '--cluster', name], { env });
  assert.is(st.stdout.match(/ running /g)?.length, 3, st.stdout);
  const stop = await exec('node', [BIN, '--json', 'cluster', 'stop', '--cluster', name], { env });
  assert.equal((JSON.parse(stop.stdout) as { vms: { action: string }[] }).vms.map((v) => v.action), ['shutdown', 'shutdown', 'shutdown']);
  const d = await exec('node', [BIN, 'cluster', 'destroy', name, '--yes'], { env });
  assert.match(d.stdout, 'removed:');
  assert.equal(await leftovers(name), []);
});

test.run();
