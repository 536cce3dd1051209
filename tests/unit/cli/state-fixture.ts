/**
 * A cluster's state file as `cluster start` writes it, for CLI tests against
 * libvirt's test driver: VMs named after the test domains of `nodeXml`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeClusterState(root: string, stateRoot: string, nodeXml: string, cluster: string, vms: string[]): void {
  const dir = join(stateRoot, 'clusters', cluster);
  mkdirSync(dir, { recursive: true });
  const record = (name: string, i: number) => ({
    name, shortName: name, ip: `192.168.100.${10 + i}`, mac: `52:54:00:00:00:1${i}`, sshHost: '127.0.0.1', sshPort: 2200 + i,
    disk: join(root, 'data', `${name}.qcow2`), consoleLog: join(root, 'data', `${name}.log`), pci: [],
  });
  const state = {
    version: 1, cluster, uri: `test://${nodeXml}`, networkMode: 'user', network: `${cluster}-net`, pool: `${cluster}-pool`,
    poolDir: join(root, 'data'), vms: Object.fromEntries(vms.map((n, i) => [n, record(n, i)])), updatedAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
}
