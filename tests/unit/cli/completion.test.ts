/**
 * Shell completion through the real bin: the script `pharos completion bash`
 * prints is sourced into a real bash, and its function is called as bash calls
 * it on a TAB (COMP_LINE, COMP_POINT, and COMP_WORDS split the way bash splits
 * them, at ':' too); it runs `pharos __complete` for target and VM names.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GRAPH_URL, REPO, cli, tempRoot } from '../engine/helpers.js';

const root = tempRoot('pharos-complete-');
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { target, alias } from ${JSON.stringify(GRAPH_URL)};
export default () => {
  const t = (name: string) => target({ name, run: async () => 1 });
  const base = t('image:base');
  const vms = [t('vm:pharos-compute-01'), t('vm:pharos-compute-02'), t('vm:pharos-controller')];
  return { targets: [base, ...vms, t('deploy:slurm-compute')], aliases: [alias('cluster', vms)] };
};
`,
);
// `pharos` on PATH is the real bin.
const binDir = join(root, 'bin');
mkdirSync(binDir);
writeFileSync(join(binDir, 'pharos'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(REPO, 'bin/pharos.js'))} "$@"\n`);
chmodSync(join(binDir, 'pharos'), 0o755);
// One cluster with one VM, for `ssh <TAB>`.
const stateRoot = join(root, 'state');
mkdirSync(join(stateRoot, 'clusters', 'cc'), { recursive: true });
writeFileSync(
  join(stateRoot, 'clusters', 'cc', 'state.json'),
  JSON.stringify({
    version: 1, cluster: 'cc', uri: 'qemu:///session', networkMode: 'user', network: 'cc-net', pool: 'cc-pool', poolDir: root, updatedAt: new Date().toISOString(),
    vms: { 'cc-controller': { name: 'cc-controller', shortName: 'controller', ip: '192.168.100.10', mac: '52:54:00:00:00:10', sshHost: '127.0.0.1', sshPort: 2222, disk: 'd', consoleLog: 'l', pci: [] } },
  }),
);
const env = { ...process.env, PATH: `${binDir}:${process.env.PATH}`, PHAROS_STATE_DIR: stateRoot };

let script = '';

test.before(async () => {
  const c = cli(root, ['completion', 'bash']);
  const r = await c.exit;
  assert.is(r.code, 0, c.stderr());
  script = join(root, 'pharos.bash');
  writeFileSync(script, c.stdout());
});

/** What bash offers for `line` + TAB: `words` as bash splits the line (the last is the word under the cursor). */
async function complete(words: string[], line = words.join(' ')): Promise<string[]> {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const prog = [
    `source ${q(script)}`,
    `COMP_LINE=${q(line)}`,
    'COMP_POINT=${#COMP_LINE}',
    `COMP_WORDS=(${words.map(q).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_pharos',
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  // From / , so the project is found only through the -C on the line.
  const child = spawn('bash', ['--norc', '--noprofile', '-c', prog], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.is(code, 0, err);
  assert.is(err, '', 'the completion function writes nothing to the terminal');
  return out.split('\n').filter(Boolean).sort();
}

test('build <TAB> offers target and alias names (through -C on the line)', async () => {
  const all = await complete(['pharos', '-C', root, 'build', '']);
  assert.equal(all, ['cluster', 'deploy:slurm-compute', 'image:base', 'vm:pharos-compute-01', 'vm:pharos-compute-02', 'vm:pharos-controller']);
  assert.equal(await complete(['pharos', '-C', root, 'build', 'ima']), ['image:base']);
});

test("a word with ':' completes what follows the colon, as bash splits it", async () => {
  const r = await complete(['pharos', '-C', root, 'build', 'vm', ':', 'pharos-comp'], `pharos -C ${root} build vm:pharos-comp`);
  assert.equal(r, ['pharos-compute-01', 'pharos-compute-02']);
  assert.equal(await complete(['pharos', '-C', root, 'why', 'image', ':', ''], `pharos -C ${root} why image:`), ['base']);
});

test('commands, subcommands, options, fixed choices', async () => {
  assert.equal(await complete(['pharos', 'bu']), ['build']);
  assert.equal(await complete(['pharos', 'cluster', 'st']), ['start', 'status', 'stop']);
  assert.equal(await complete(['pharos', 'build', '--st']), ['--strict']);
  assert.ok((await complete(['pharos', 'build', '--ke'])).includes('--keep-going'), 'global options too');
  assert.equal(await complete(['pharos', 'completion', '']), ['bash', 'zsh']);
});

test('ssh <TAB> and vm start <TAB> offer VM names from the cluster state; a command after NODE is not one', async () => {
  assert.equal(await complete(['pharos', 'ssh', 'con']), ['controller']);
  assert.equal(await complete(['pharos', 'vm', 'start', 'cc-']), ['cc-controller']);
  assert.equal(await complete(['pharos', 'ssh', 'controller', 'con']), []);
});

test('the value of -C is left to bash (files, directories)', async () => {
  assert.equal(await complete(['pharos', '-C', 'bu']), []);
});

test('an unknown shell is a usage error', async () => {
  const bad = cli(root, ['completion', 'fish']);
  const r = await bad.exit;
  assert.is(r.code, 2, bad.stderr());
  assert.match(bad.stderr(), /error: .*fish/);
});

/**
 * zsh through a real interactive zsh on a pty (zsh/zpty): the line is typed
 * with a TAB, then Ctrl-A and `print -r --` turn the completed line into
 * output. zsh reads the keys in order, so no wait is needed between them.
 */
const ZSH_DRIVER = `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PATH=\${BIN}:\$PATH; PS1='> '; bindkey -e; autoload -U compinit; compinit -u; source \${SCRIPT}; print -r -- RE\\\${:-ADY}"
zpty -r z out '*READY*'
for line in "$@"; do
  zpty -w -n z "$line"$'\\t\\x01print -r -- RE\${:-SULT}: \\n'
  zpty -r z out '*RESULT: *'$'\\n'
  out=\${out##*RESULT: }
  print -r -- "\${out%%$'\\r'*}"
done
zpty -d z
`;

const hasZsh = spawnSync('zsh', ['--version']).status === 0;
(hasZsh ? test : test.skip)('zsh: the same completion through bashcompinit, in an interactive zsh', async () => {
  const c = cli(root, ['completion', 'zsh']);
  assert.is((await c.exit).code, 0, c.stderr());
  assert.match(c.stdout(), /^#compdef pharos\n/);
  const zscript = join(root, 'pharos.zsh');
  writeFileSync(zscript, c.stdout());
  const driver = join(root, 'drive.zsh');
  writeFileSync(driver, ZSH_DRIVER);
  const lines = [`pharos -C ${root} build image:b`, `pharos -C ${root} build vm:pharos-cont`, 'pharos cluster sto', 'pharos ssh contr'];
  const child = spawn('zsh', ['-f', driver, ...lines], { cwd: '/', env: { ...env, BIN: binDir, SCRIPT: zscript }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // A completion that hangs leaves zpty waiting: the kill names what was awaited.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  clearTimeout(killer);
  assert.is(code, 0, `zsh completion driver (killed after 60 s if a completion hung): ${err}\n${out}`);
  assert.equal(out.split('\n').filter(Boolean), [
    `pharos -C ${root} build image:base`,
    `pharos -C ${root} build vm:pharos-controller`,
    'pharos cluster stop',
    'pharos ssh controller',
  ]);
});
if (!hasZsh) console.log('zsh is not installed: the zsh completion test is skipped (apt-get install zsh runs it)');

test.run();
