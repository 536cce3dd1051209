/**
 * The container recipe format (lib/containers/recipe.ts): a good recipe parses
 * to exactly what it says; each bad input is one PharosError naming the file,
 * line, column, field and what was expected. readRecipe runs on real
 * directories (real symlinks) under a temp root.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError, isPharosError, type ErrorDetail } from '../../../lib/errors.js';
import { parseContainerfile, parsePackages, readRecipe } from '../../../lib/containers/recipe.js';
import { containerNames } from '../../../tasks/containers.js';

const F = 'containers/t/Containerfile';

function problemsOf(fn: () => unknown): ErrorDetail[] {
  try {
    fn();
  } catch (e) {
    if (!isPharosError(e)) throw e;
    assert.ok(formatError(e).length > 0);
    return e.problems;
  }
  throw new Error('expected a PharosError');
}

async function problemsOfAsync(fn: () => Promise<unknown>): Promise<ErrorDetail[]> {
  try {
    await fn();
  } catch (e) {
    if (!isPharosError(e)) throw e;
    return e.problems;
  }
  throw new Error('expected a PharosError');
}

/** The one problem of `text` after a valid FROM line (line numbers count it). */
function one(body: string): ErrorDetail {
  const p = problemsOf(() => parseContainerfile(`FROM debian:bookworm\n${body}\n`, F));
  assert.is(p.length, 1, JSON.stringify(p));
  assert.is(p[0]?.file, F);
  return p[0] as ErrorDetail;
}

test('a good Containerfile parses to what it says', () => {
  const r = parseContainerfile(
    [
      '# comment',
      'FROM debian:bookworm',
      '',
      'ENV OMP_NUM_THREADS=1',
      'env GREETING="hello world"',
      'ENV EMPTY=',
      'LABEL org.opencontainers.image.title=pharos-test',
      'WORKDIR /work',
      'USER 1000:1000',
      'ENTRYPOINT ["/usr/bin/env"]',
      'CMD ["python3", "-c", "print(1, 2)"]',
      'COPY train.py /opt/app/',
      'COPY sub/cfg.toml /etc/app.toml',
    ].join('\n'),
    F,
  );
  assert.is(r.suite, 'bookworm');
  assert.equal(r.env, [['OMP_NUM_THREADS', '1'], ['GREETING', 'hello world'], ['EMPTY', '']]);
  assert.equal(r.labels, [['org.opencontainers.image.title', 'pharos-test']]);
  assert.is(r.workdir, '/work');
  assert.is(r.user, '1000:1000');
  assert.equal(r.entrypoint, ['/usr/bin/env']);
  assert.equal(r.cmd, ['python3', '-c', 'print(1, 2)']);
  assert.equal(r.copies, [
    { source: 'train.py', dest: '/opt/app/train.py', line: 12, column: 6 },
    { source: 'sub/cfg.toml', dest: '/etc/app.toml', line: 13, column: 6 },
  ]);
});

test('RUN is refused with its location and why', () => {
  const p = one('RUN apt-get install -y vim');
  assert.is(p.line, 2);
  assert.is(p.column, 1);
  assert.is(p.field, 'RUN');
  assert.match(p.message, /RUN is not supported: nothing from a recipe is executed/);
  assert.match(p.expected ?? '', /FROM, ENV, LABEL, WORKDIR, USER, CMD, ENTRYPOINT, COPY/);
  assert.match(p.hint ?? '', /packages\.txt/);
});

test('FROM: required, first, debian:<suite> only', () => {
  let p = problemsOf(() => parseContainerfile('ENV A=1\nFROM debian:bookworm\n', F));
  assert.is(p.length, 1);
  assert.is(p[0]?.line, 1);
  assert.match(p[0]?.message ?? '', /ENV before FROM/);
  p = problemsOf(() => parseContainerfile('# nothing\n', F));
  assert.match(p[0]?.message ?? '', /no FROM/);
  p = problemsOf(() => parseContainerfile('FROM ubuntu:22.04\n', F));
  assert.is(p[0]?.field, 'FROM');
  assert.is(p[0]?.column, 6);
  assert.match(p[0]?.expected ?? '', /debian:<suite>/);
  p = problemsOf(() => parseContainerfile('FROM debian:bookworm-slim\n', F));
  assert.match(p[0]?.hint ?? '', /not pulled from Docker Hub/);
  p = problemsOf(() => parseContainerfile('FROM debian:bookworm AS build\n', F));
  assert.is(p.length, 1);
  const twice = one('FROM debian:trixie');
  assert.match(twice.message, /FROM given twice \(first on line 1\)/);
});

test('ENV and LABEL: keys, quoting, one pair per line, no line breaks, no repeats', () => {
  let p = one('ENV 1BAD=x');
  assert.is(p.field, 'ENV 1BAD');
  assert.match(p.expected ?? '', /\^\[A-Za-z_\]/);
  p = one('ENV A=1 B=2');
  assert.is(p.column, 5);
  assert.match(p.message, /whitespace \(one pair per line\)/);
  p = one('ENV A b');
  assert.match(p.message, /not KEY=VALUE/);
  p = one('ENV A="x\\ny"');
  assert.match(p.message, /line break or NUL/);
  p = one('ENV A="unterminated');
  assert.match(p.message, /not one JSON string/);
  p = one('ENV A=1\nENV A=2');
  assert.is(p.line, 3);
  assert.match(p.message, /A set twice \(first on line 2\)/);
  p = one('LABEL =x');
  assert.is(p.field, 'LABEL');
  p = one('LABEL "k"=v');
  assert.match(p.message, /not a valid key/);
});

test('WORKDIR, USER: absolute normalised path, numeric ids', () => {
  assert.match(one('WORKDIR work').message, /relative path/);
  assert.match(one('WORKDIR /a/../b').message, /\.\. segment/);
  assert.match(one('WORKDIR /a/').message, /trailing/);
  assert.match(one('WORKDIR /a\nWORKDIR /b').message, /WORKDIR given twice/);
  const u = one('USER slurm');
  assert.is(u.field, 'USER');
  assert.match(u.expected ?? '', /USER 1000/);
  assert.match(one('USER 1000:x').message, /numeric/);
  assert.match(one('USER 99999999999').message, /numeric/);
});

test('CMD and ENTRYPOINT: exec form only, non-empty strings', () => {
  let p = one('CMD python3 -V');
  assert.match(p.message, /shell form/);
  assert.match(p.hint ?? '', /"sh", "-c"/);
  assert.match(one('CMD ["python3", 1]').message, /not a string/);
  assert.match(one('CMD []').message, /empty or non-array/);
  assert.match(one('ENTRYPOINT ["a", ""]').message, /empty string element/);
  assert.match(one('CMD [python3]').message, /not a JSON array/);
});

test('COPY: two operands, source stays inside, absolute destination, no options', () => {
  let p = one('COPY ../secret /etc/secret');
  assert.is(p.column, 6);
  assert.match(p.message, /leaves the recipe directory/);
  assert.match(one('COPY /etc/passwd /etc/passwd').message, /leaves the recipe directory/);
  assert.match(one('COPY a/../../b /b').message, /leaves the recipe directory/);
  p = one('COPY a relative/dest');
  assert.is(p.column, 8);
  assert.match(p.message, /relative path/);
  assert.match(one('COPY a b /c').message, /3 operands/);
  assert.match(one('COPY --chown=1:1 a /a').message, /options/);
  assert.match(one('COPY ["a", "/a"]').message, /JSON form/);
  assert.match(one('COPY a /x\nCOPY b /x').message, /copied twice/);
  assert.match(one('COPY a /etc/../x').message, /\.\. segment/);
  assert.equal(parseContainerfile('FROM debian:bookworm\nCOPY a /\n', F).copies[0]?.dest, '/a');
});

test('unknown directives, ADD and line continuations are refused; every problem is reported', () => {
  assert.match(one('EXPOSE 80').message, /unknown or unsupported directive "EXPOSE"/);
  assert.match(one('ADD http://x/y /y').message, /ADD is not supported/);
  assert.match(one('ENV A=1 \\').message, /line continuation/);
  const p = problemsOf(() => parseContainerfile('FROM debian:bookworm\nRUN true\nUSER root\n', F));
  assert.equal(p.map((d) => [d.line, d.field]), [[2, 'RUN'], [3, 'USER']]);
});

test('packages.txt: names per Debian Policy, comments, one per line, no repeats', () => {
  const f = 'containers/t/packages.txt';
  assert.equal(parsePackages('# c\npython3\n  python3-numpy  # why\n\nlibstdc++6\n', f), ['python3', 'python3-numpy', 'libstdc++6']);
  const bad = (text: string): ErrorDetail => {
    const p = problemsOf(() => parsePackages(text, f));
    assert.is(p.length, 1);
    assert.is(p[0]?.file, f);
    return p[0] as ErrorDetail;
  };
  let p = bad('python3\n  Python3\n');
  assert.is(p.line, 2);
  assert.is(p.column, 3);
  assert.match(p.expected ?? '', /Debian Policy/);
  assert.match(bad('vim=2:9.0\n').message, /not a Debian package name/);
  assert.match(bad('?priority(required)\n').message, /not a Debian package name/);
  assert.match(bad('a,b\n').message, /not a Debian package name/);
  assert.match(bad('x\n').message, /not a Debian package name/);
  p = bad('vim nano\n');
  assert.match(p.message, /more than one word/);
  p = bad('vim\nvim\n');
  assert.match(p.message, /listed twice \(first on line 1\)/);
});

test('readRecipe: real files; COPY sources must exist, be files and stay inside (symlinks too)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pharos-recipe-'));
  try {
    const dir = join(root, 'containers', 'tiny');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'packages.txt'), 'busybox\n');
    await writeFile(join(dir, 'hello.txt'), 'hi\n');
    await writeFile(join(root, 'outside.txt'), 'secret\n');
    await symlink(join(root, 'outside.txt'), join(dir, 'escape.txt'));
    await symlink('hello.txt', join(dir, 'alias.txt'));
    await writeFile(join(dir, 'Containerfile'), 'FROM debian:bookworm\nCOPY hello.txt /etc/hello\nCOPY alias.txt /etc/alias\n');
    const r = await readRecipe(root, 'tiny');
    assert.is(r.name, 'tiny');
    assert.is(r.dir, dir);
    assert.equal(r.packages, ['busybox']);
    assert.equal(r.copies.map((c) => c.dest), ['/etc/hello', '/etc/alias']);

    await writeFile(join(dir, 'Containerfile'), 'FROM debian:bookworm\nCOPY escape.txt /etc/x\nCOPY missing.txt /etc/y\nCOPY sub /etc/z\n');
    const p = await problemsOfAsync(() => readRecipe(root, 'tiny'));
    assert.equal(p.map((d) => [d.file, d.line, d.column]), [
      ['containers/tiny/Containerfile', 2, 6],
      ['containers/tiny/Containerfile', 3, 6],
      ['containers/tiny/Containerfile', 4, 6],
    ]);
    assert.match(p[0]?.message ?? '', /symlink that leaves containers\/tiny\//);
    assert.match(p[1]?.message ?? '', /does not exist/);
    assert.match(p[2]?.message ?? '', /not a regular file/);

    await rm(join(dir, 'packages.txt'));
    const msg = async (name: string): Promise<string> => readRecipe(root, name).then(() => 'resolved', (e: unknown) => (isPharosError(e) ? e.message : String(e)));
    assert.match(await msg('tiny'), /containers\/tiny\/packages\.txt: cannot read the package list/);
    assert.match(await msg('Bad_Name'), /not a container image name/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('containerNames: one per directory, hidden ones skipped, a bad name is an error', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pharos-recipe-'));
  try {
    assert.equal(await containerNames(root), []);
    await mkdir(join(root, 'containers', 'b-img'), { recursive: true });
    await mkdir(join(root, 'containers', 'a'), { recursive: true });
    await mkdir(join(root, 'containers', '.git'), { recursive: true });
    await writeFile(join(root, 'containers', 'README.md'), 'x');
    assert.equal(await containerNames(root), ['a', 'b-img']);
    await mkdir(join(root, 'containers', 'PyTorch'));
    const p = await problemsOfAsync(() => containerNames(root));
    assert.is(p[0]?.file, 'containers/PyTorch');
    assert.match(p[0]?.expected ?? '', /\^\[a-z\]/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
