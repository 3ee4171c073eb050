/**
 * `deepmaker convert --out DIR` (issue 15): the folder appears only by a rename of a complete
 * temporary sibling; a kill mid-write leaves the previous output (or none); a non-empty folder that
 * is not an earlier output is refused unless --force; the new output replaces the old one wholly
 * (no stale weights/*.f32 or source/*.h5 of the previous model); --out naming a file is a clear error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KERAS_FIXTURES } from '../fixtures/location';

const BIN = resolve(__dirname, '..', '..', 'bin', 'deepmaker.js');
const KILL = resolve(__dirname, 'kill-on-write.cjs');
const FIXTURES = KERAS_FIXTURES;
const JSON_MODEL = join(FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer.json');
const H5_MODEL = join(FIXTURES, 'tinymaix_mnist_cnn/mnist_dw.h5');

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function deepmaker(args: string[], cwd: string, killOn?: string): Promise<Run> {
  const pre = killOn ? ['--require', KILL] : [];
  return new Promise((done) =>
    execFile(process.execPath, [...pre, BIN, ...args], { cwd, timeout: 120_000, env: { ...process.env, DM_KILL_ON_WRITE: killOn ? `/${killOn.replace(/\./g, '\\.')}$` : '' } }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: (err as any)?.signal ?? null, stdout, stderr }),
    ),
  );
}

/** Every file under `dir` with its bytes (relative path -> content). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

describe('deepmaker convert --out', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-convert-out-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--out naming an existing file is a clear error, no stack trace', async () => {
    const f = join(dir, 'a-file');
    writeFileSync(f, 'mine');
    const r = await deepmaker(['convert', H5_MODEL, '--out', f], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /a-file \(--out\): --out names an existing file, not a folder/);
    assert.doesNotMatch(r.stderr, /EEXIST|\n\s+at /);
    assert.equal(readFileSync(f, 'utf8'), 'mine');
  });

  it('a non-empty folder that is not an earlier output is refused; --force replaces it wholly', async () => {
    const out = join(dir, 'user-folder');
    mkdirSync(out);
    writeFileSync(join(out, 'Makefile'), 'my own Makefile\n');
    writeFileSync(join(out, 'notes.txt'), 'keep me\n');
    const r = await deepmaker(['convert', H5_MODEL, '--out', out], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /user-folder \(--out\): --out is a folder that holds other files and is not an earlier output of deepmaker convert/);
    assert.match(r.stderr, /--force/);
    assert.equal(readFileSync(join(out, 'Makefile'), 'utf8'), 'my own Makefile\n');
    const forced = await deepmaker(['convert', H5_MODEL, '--out', out, '--force'], dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(!existsSync(join(out, 'notes.txt')), 'the folder was replaced wholly');
    assert.notEqual(readFileSync(join(out, 'Makefile'), 'utf8'), 'my own Makefile\n');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.tool, 'deepmaker-convert');
    assert.deepEqual(Object.keys(snapshot(out)).sort(), [...report.files].sort(), 'report.json lists exactly the files there');
  });

  it('--force never replaces the current folder or one holding the model', async () => {
    const here = join(dir, 'here');
    mkdirSync(join(here, 'deep'), { recursive: true });
    writeFileSync(join(here, 'x.txt'), 'x');
    const r = await deepmaker(['convert', H5_MODEL, '--out', '.', '--force'], here);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /current folder/);
    const r2 = await deepmaker(['convert', H5_MODEL, '--out', here, '--force'], join(here, 'deep'));
    assert.equal(r2.code, 1);
    assert.ok(existsSync(join(here, 'x.txt')));
  });

  it('over an earlier output of another model, nothing of the old model stays (weights/*.f32, source/*.h5)', async () => {
    const out = join(dir, 'replace');
    const first = await deepmaker(['convert', JSON_MODEL, '--out', out, '--storage', 'files', '--format', 'fixed<16,6>'], dir);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(readdirSync(join(out, 'weights')).some((f) => f.endsWith('.f32')));
    assert.ok(readdirSync(join(out, 'source')).some((f) => f.endsWith('_weights.h5')));
    mkdirSync(join(dir, 'replace-first-weights'));
    for (const f of readdirSync(join(out, 'weights'))) writeFileSync(join(dir, 'replace-first-weights', f), '');
    const second = await deepmaker(['convert', H5_MODEL, '--out', out], dir);
    assert.equal(second.code, 0, second.stderr);
    const files = Object.keys(snapshot(out));
    const oldWeights = readdirSync(join(dir, 'replace-first-weights'));
    assert.ok(!files.some((f) => oldWeights.includes(f.replace(/^weights\//, ''))), `no stale weights: ${files.join(', ')}`);
    assert.ok(!files.some((f) => f.includes('KERAS_3layer')), `no stale source: ${files.join(', ')}`);
    // Exactly what the same conversion writes into a new folder.
    const clean = join(dir, 'replace-clean');
    assert.equal((await deepmaker(['convert', H5_MODEL, '--out', clean], dir)).code, 0);
    assert.deepEqual(files.sort(), Object.keys(snapshot(clean)).sort());
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.deepEqual(files.sort(), [...report.files].sort());
    assert.equal(report.weightStorage, 'arrays');
  });

  for (const victim of ['layers.json', 'model.c', 'report.json']) {
    it(`killed while writing ${victim}: a fresh --out does not appear at all`, async () => {
      const out = join(dir, `fresh-${victim}`);
      const r = await deepmaker(['convert', JSON_MODEL, '--out', out, '--storage', 'files'], dir, victim);
      assert.equal(r.signal, 'SIGKILL', `the run was killed (${r.stderr})`);
      assert.ok(!existsSync(out), 'no half-written output folder');
    });

    it(`killed while writing ${victim} over an earlier output of another model: the earlier output is intact`, async () => {
      const out = join(dir, `earlier-${victim}`);
      const first = await deepmaker(['convert', H5_MODEL, '--out', out], dir);
      assert.equal(first.code, 0, first.stderr);
      const before = snapshot(out);
      const r = await deepmaker(['convert', JSON_MODEL, '--out', out, '--storage', 'files'], dir, victim);
      assert.equal(r.signal, 'SIGKILL');
      assert.deepEqual(snapshot(out), before, 'the folder is byte-for-byte the earlier output');
    });
  }
});
