/**
 * The MPI example (examples/mpi/allreduce.py) as the mpi suite's check gets it:
 * through `# @file`, whose preamble (run here by real bash) writes it byte for
 * byte into $PHAROS_CHECK_FILES; and the program's TCP-connection
 * reader, which the check trusts to say which addresses MPI traffic used, is
 * run by real python3 against a real loopback connection (no MPI needed: the
 * module imports mpi4py only in main()).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exec } from '../../../lib/tools/exec.js';
import { loadSuite } from '../../../lib/suites/suite.js';
import { companionPreamble } from '../../../lib/suites/run.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(REPO, 'examples/mpi/allreduce.py');
const CHECK = join(REPO, 'tests/suites/mpi/check-20-two-node-job.sh');

test('check-20 gets examples/mpi/allreduce.py byte for byte through @file', async () => {
  const suite = await loadSuite(join(REPO, 'tests/suites'), 'mpi');
  const check = suite.checks.find((c) => c.file === CHECK);
  assert.ok(check, `no check ${CHECK}`);
  assert.equal(check.companions.map((c) => c.path), ['examples/mpi/allreduce.py']);
  const script = `${await companionPreamble(check)}cat "$PHAROS_CHECK_FILES/allreduce.py"; stat -c %a "$PHAROS_CHECK_FILES"; rm -rf "$PHAROS_CHECK_FILES"`;
  const r = await exec('bash', ['-c', script]);
  const example = readFileSync(EXAMPLE, 'utf8');
  assert.fixture(r.stdout, `${example}755\n`);
});

test('tcp_connections() reports an established loopback connection from both ends', async () => {
  const py = [
    'import importlib.util, json, socket, sys',
    'spec = importlib.util.spec_from_file_location("allreduce", sys.argv[1])',
    'mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)',
    'srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()',
    'cli = socket.create_connection(srv.getsockname()); acc, _ = srv.accept()',
    'a = "%s:%d" % cli.getsockname(); b = "%s:%d" % srv.getsockname()',
    'print(json.dumps({"client": a, "server": b, "found": mod.tcp_connections()}))',
  ].join('\n');
  const r = await exec('python3', ['-c', py, EXAMPLE], { pkg: 'python3' });
  const out = JSON.parse(r.stdout) as { client: string; server: string; found: string[][] };
  assert.ok(out.found.some(([l, p]) => l === out.client && p === out.server), `client end missing: ${r.stdout}`);
  assert.ok(out.found.some(([l, p]) => l === out.server && p === out.client), `server end missing: ${r.stdout}`);
  // The listening socket is not ESTABLISHED: only the two ends are reported.
  assert.is(out.found.length, 2, r.stdout);
});

test.run();
