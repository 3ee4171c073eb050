/**
 * Spec files are checked before they are parsed (issue 15): a spec above 1 MiB, a folder, a device
 * (/dev/zero ran until killed at 10 GB) or a FIFO gives a clear error from `deepmaker validate`, the
 * spec stage and the loader; the Nx plugin's createNodes never reads such a file and never parses a
 * large one, so one bad project cannot hang `nx show projects` for the workspace.
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createNodes } from '../../src/plugin/index';
import { runStage } from '../../src/stages/run';
import { loadSpec, MAX_SPEC_BYTES, SpecError } from '../../src/spec/load';
import { silentLogger } from '../../src/util/log';

const BIN = resolve(__dirname, '..', '..', 'bin', 'deepmaker.js');
const GUARD = { timeout: 60_000 };

/**
 * A FIFO with a writer waiting to write one small spec into it: code that reads it gets that spec
 * (so a test of the old behaviour fails instead of blocking forever); code that refuses it unread
 * wakes the writer by opening it non-blocking, and the writer ends.
 */
const writers: ChildProcess[] = [];
function fedFifo(path: string): string {
  execFileSync('mkfifo', [path]);
  refeed(path);
  return path;
}
function refeed(path: string): void {
  writers.push(spawn('sh', ['-c', `printf 'name: fed\\n' > '${path}'`], { stdio: 'ignore' }));
}

function deepmaker(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

function specError(file: string): string {
  try {
    loadSpec(file);
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.message;
  }
  assert.fail('expected a SpecError');
}

/** A long list after a valid head: a valid spec shape, far above the limit. */
function bigSpec(bytes: number): string {
  const head = 'name: big\ndata:\n  dataset: mnist\n# padding\n';
  return head + '#'.repeat(70) + '\n'.repeat(1) + Array.from({ length: Math.ceil(bytes / 8) }, () => '# x    \n').join('');
}

describe('spec files are bounded and regular', () => {
  let dir: string;
  let fifo: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-specfiles-'));
    fifo = fedFifo(join(dir, 'fifo.yaml'));
  });
  after(() => {
    for (const w of writers) if (w.exitCode === null) w.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a spec above the limit is refused before parsing, with its size and the limit', () => {
    const f = join(dir, 'big.yaml');
    writeFileSync(f, bigSpec(2 * MAX_SPEC_BYTES));
    assert.match(specError(f), /big\.yaml: cannot read the spec: the file is 2\.0 MiB \(\d+ bytes\); the limit is 1\.0 MiB \(a deepmaker\.yaml is a few KiB/);
  });

  it('a spec just under the limit is read', () => {
    const f = join(dir, 'under.yaml');
    const text = 'name: under\n' + '#'.repeat(MAX_SPEC_BYTES - 20) + '\n';
    writeFileSync(f, text);
    assert.equal(loadSpec(f).name, 'under');
  });

  it('/dev/zero, a FIFO and a folder are refused unread', GUARD, () => {
    assert.match(specError('/dev/zero'), /^\/dev\/zero: cannot read the spec: this is not a regular file \(a device, a FIFO or a socket\)/);
    assert.match(specError(fifo), /fifo\.yaml: cannot read the spec: this is not a regular file/);
    assert.match(specError(dir), /cannot read the spec: this is a folder, not a file/);
  });

  it('deepmaker validate /dev/zero and a FIFO: exit 1, one line, no stack trace', GUARD, async () => {
    for (const f of ['/dev/zero', fifo]) {
      refeed(fifo);
      const r = await deepmaker(['validate', f], dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot read the spec: this is not a regular file/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  it('the spec stage reports a FIFO deepmaker.yaml', GUARD, async () => {
    const project = join(dir, 'fifo-project');
    mkdirSync(project);
    fedFifo(join(project, 'deepmaker.yaml'));
    await assert.rejects(runStage('spec', project, project, silentLogger), /deepmaker\.yaml: cannot read the spec: this is not a regular file/);
  });

  it('createNodes skips reading a FIFO, a device link and an oversized spec, keeps the project under its folder name', GUARD, async () => {
    const ws = join(dir, 'ws');
    for (const p of ['fifo', 'dev', 'huge', 'large', 'good']) mkdirSync(join(ws, 'models', p), { recursive: true });
    fedFifo(join(ws, 'models/fifo/deepmaker.yaml'));
    execFileSync('ln', ['-s', '/dev/zero', join(ws, 'models/dev/deepmaker.yaml')]);
    writeFileSync(join(ws, 'models/huge/deepmaker.yaml'), bigSpec(50 * 1024 * 1024));
    // Under the limit but large: not parsed, its name found by a scan.
    writeFileSync(join(ws, 'models/large/deepmaker.yaml'), bigSpec(512 * 1024).replace('name: big', 'name: large-one'));
    writeFileSync(join(ws, 'models/good/deepmaker.yaml'), 'name: fine\n');
    const files = ['fifo', 'dev', 'huge', 'large', 'good'].map((p) => `models/${p}/deepmaker.yaml`);
    const results = await createNodes[1](files, {}, { workspaceRoot: ws, nxJsonConfiguration: {} } as any);
    const names = results.map(([, r]) => Object.values((r as any).projects)[0] as { name: string; targets: Record<string, unknown> });
    assert.deepEqual(names.map((p) => p.name), ['fifo', 'dev', 'huge', 'large-one', 'fine']);
    for (const p of names) assert.ok(p.targets.spec, 'the spec target is there to report the error');
  });
});
