import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { IDX_YAML, put, tempProject, writeIdxDataset } from '../data/helpers';

/** The `deepmaker` command as installed (bin/deepmaker.js over build/), run in a child process. */
const BIN = resolve(__dirname, '..', '..', 'bin', 'deepmaker.js');

function deepmaker(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

describe('deepmaker CLI', () => {
  it('validate accepts a valid spec and names the project', async () => {
    const p = tempProject('name: kws\ndata:\n  dataset: mnist\n');
    try {
      const r = await deepmaker(['validate'], p.dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deepmaker\.yaml: valid \(project 'kws'\)/);
    } finally {
      p.cleanup();
    }
  });

  it('validate reports every problem with file:line:column, the key and a suggestion, exit 1, no stack trace', async () => {
    const p = tempProject('name: kws\ndata:\n  dataset: mnsit\n  normalise: scale\n');
    try {
      const r = await deepmaker(['validate', join(p.dir, 'deepmaker.yaml')], '/');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /deepmaker\.yaml:4:3: 'data\.normalise': unknown key 'normalise'; did you mean 'normalize'\?/);
      assert.match(r.stderr, /deepmaker\.yaml:3:12: 'data\.dataset': .*did you mean 'mnist'\?/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      p.cleanup();
    }
  });

  it('validate names a spec that does not exist', async () => {
    const p = tempProject('name: x\n');
    try {
      const r = await deepmaker(['validate', 'nope.yaml'], p.dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /nope\.yaml: cannot read the spec/);
    } finally {
      p.cleanup();
    }
  });

  it('run data --spec builds spec then data beside that spec, from any folder', async () => {
    const p = tempProject(IDX_YAML());
    try {
      writeIdxDataset(p.dir, 'train', 30);
      writeIdxDataset(p.dir, 'test', 5);
      const elsewhere = join(p.dir, 'elsewhere');
      mkdirSync(elsewhere);
      const r = await deepmaker(['run', 'data', '--spec', join(p.dir, 'deepmaker.yaml')], elsewhere);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\[spec\] .* is valid/);
      assert.match(r.stdout, /\[data\] 27 train \/ 3 validation \/ 5 test/);
      assert.ok(existsSync(join(p.dir, 'dist', 'spec', 'data.json')));
      assert.equal(JSON.parse(readFileSync(join(p.dir, 'dist', 'data', 'report.json'), 'utf8')).counts.test, 5);
      assert.equal(existsSync(join(elsewhere, 'dist')), false);
    } finally {
      p.cleanup();
    }
  });

  it('run fails on bad data with the stage error and exit 1, and on an unknown stage with a suggestion', async () => {
    const p = tempProject(IDX_YAML());
    try {
      writeIdxDataset(p.dir, 'train', 30);
      put(p.dir, 'test-images.idx', Buffer.from([0, 0, 8, 3, 0, 0]));
      put(p.dir, 'test-labels.idx', Buffer.from([0, 0, 8, 1, 0, 0, 0, 0]));
      const bad = await deepmaker(['run', 'data'], p.dir);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /test-images\.idx: truncated IDX header/);
      assert.equal(existsSync(join(p.dir, 'dist', 'data')), false);
      const unknown = await deepmaker(['run', 'dtaa'], p.dir);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /unknown stage 'dtaa'; did you mean 'data'\?/);
      const none = await deepmaker(['run'], p.dir);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /no stage given/);
    } finally {
      p.cleanup();
    }
  });

  it('stages lists the stages; no command prints the usage', async () => {
    const r = await deepmaker(['stages'], '/');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^data\s+Read the dataset/m);
    const u = await deepmaker([], '/');
    assert.equal(u.code, 1);
    assert.match(u.stdout, /deepmaker validate \[spec\]/);
  });
});
