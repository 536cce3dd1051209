/**
 * Storage pool XML: one `dir` pool per cluster (`<cluster>-pool`) holding the
 * VMs' qcow2 overlays. Overlays are created with `qemu-img` (libvirt's
 * vol-create cannot set a backing format as reliably across versions) and the
 * pool is refreshed afterwards so libvirt lists them.
 */
import { esc } from './xml.js';

export function poolName(cluster: string): string {
  return `${cluster}-pool`;
}

export function poolXml(name: string, dir: string): string {
  return [`<pool type='dir'>`, `  <name>${esc(name)}</name>`, '  <target>', `    <path>${esc(dir)}</path>`, '  </target>', '</pool>', ''].join('\n');
}
