/**
 * The kubernetes role (vendor packages: lint, syntax and this render only —
 * no machine these tests run on reaches pkgs.k8s.io). Its kubeadm config is
 * rendered by the real ansible-playbook from an inventory written the way
 * Pharos writes it (`!unsafe` values), and read back as YAML: the fields
 * kubeadm needs, and a hostile cluster name that stays one string.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { ANSIBLE_DIR } from '../../../lib/tools/ansible.js';

const HOSTILE = 'c"l\'u{{ lookup("pipe", "id") }}\nster: x';

test('kubeadm config: systemd cgroups, the node address, the pod subnet, containerd, data stays data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-kubeadm-'));
  const out = join(dir, 'kubeadm.yaml');
  writeFileSync(
    join(dir, 'inventory.yml'),
    [
      'all:',
      '  hosts:',
      '    cp:',
      '      ansible_connection: local',
      `      ansible_python_interpreter: ${process.env.PHAROS_PYTHON ?? '/usr/bin/python3'}`,
      '      cluster_ip: !unsafe 10.78.0.10',
      `      pharos_cluster_name: !unsafe ${JSON.stringify(HOSTILE)}`,
      '      kubernetes_pod_subnet: !unsafe 10.244.0.0/16',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'play.yml'),
    `- hosts: cp\n  gather_facts: false\n  tasks:\n    - ansible.builtin.template:\n        src: ${join(ANSIBLE_DIR, 'roles', 'kubernetes', 'templates', 'kubeadm.yaml.j2')}\n        dest: ${out}\n        mode: "0600"\n`,
  );
  execFileSync('ansible-playbook', ['-i', join(dir, 'inventory.yml'), join(dir, 'play.yml')], { env: { ...process.env, ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg') }, stdio: 'pipe' });
  const docs = parseAllDocuments(readFileSync(out, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  const byKind = new Map(docs.map((d) => [d.kind, d]));
  const init = byKind.get('InitConfiguration') as { localAPIEndpoint: { advertiseAddress: string }; nodeRegistration: { criSocket: string; name: string } };
  const cluster = byKind.get('ClusterConfiguration') as { clusterName: string; networking: { podSubnet: string }; controlPlaneEndpoint: string };
  const kubelet = byKind.get('KubeletConfiguration') as { cgroupDriver: string };
  assert.is(init.localAPIEndpoint.advertiseAddress, '10.78.0.10');
  assert.is(init.nodeRegistration.criSocket, 'unix:///run/containerd/containerd.sock');
  assert.is(init.nodeRegistration.name, 'cp');
  assert.is(cluster.networking.podSubnet, '10.244.0.0/16');
  assert.is(cluster.controlPlaneEndpoint, '10.78.0.10:6443');
  assert.is(kubelet.cgroupDriver, 'systemd');
  assert.is(cluster.clusterName, HOSTILE, 'quotes, a newline and {{ }} stay one string, never templated');
});

test('the role and the image playbooks pass ansible-playbook --syntax-check', () => {
  for (const p of ['image-cloud-base.yml', 'image-cloud-gpu-worker.yml']) {
    execFileSync('ansible-playbook', ['--syntax-check', '-i', 'localhost,', join(ANSIBLE_DIR, 'playbooks', p)], { env: { ...process.env, ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg') }, stdio: 'pipe' });
  }
  for (const role of ['kubernetes', 'cloud-node']) {
    execFileSync('ansible-playbook', ['--syntax-check', '-i', 'localhost,', '-e', `pharos_role=${role}`, '-e', 'pharos_hosts=all', join(ANSIBLE_DIR, 'playbooks', 'deploy-role.yml')], {
      env: { ...process.env, ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg') },
      stdio: 'pipe',
    });
  }
});

test.run();
