/**
 * `deepmaker verify --out DIR` (issue 15) writes as `deepmaker convert --out` does: into a temporary
 * sibling, renamed into place when complete. Killed while writing its last file (report.json), it
 * leaves the previous output intact (or none); a failed run leaves no folder; an earlier verify
 * output is replaced wholly; a non-empty folder that is not an earlier output is refused (no
 * file of it touched) unless --force.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KERAS_FIXTURES } from '../fixtures/location';

const BIN = resolve(__dirname, '..', '..', 'bin', 'deepmaker.js');
const KILL = resolve(__dirname, 'kill-on-write.cjs');
const MLP = join(KERAS_FIXTURES, 'hls4ml_mnist_mlp');

function deepmaker(args: string[], cwd: string, killOn?: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const pre = killOn ? ['--require', KILL] : [];
  return new Promise((done) =>
    execFile(process.execPath, [...pre, BIN, ...args], { cwd, timeout: 300_000, env: { ...process.env, DM_KILL_ON_WRITE: killOn ? `/${killOn.replace(/\./g, '\\.')}$` : '' } }, (err, stdout, stderr) =>
      done({ code: err ? ((err as any).code ?? null) : 0, signal: err ? ((err as any).signal ?? null) : null, stdout, stderr }),
    ),
  );
}

const verifyArgs = (out: string, extra: string[] = []) => ['verify', '--model', join(MLP, 'KERAS_mnist_mlp.json'), '--inputs', join(MLP, 'KERAS_mnist_mlp_inputs.dat'), '--expected', join(MLP, 'KERAS_mnist_mlp_outputs.dat'), '--out', out, '--sweep', '8', '--samples', '5', ...extra];

describe('deepmaker verify --out', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-verify-out-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const siblings = (name: string) => readdirSync(dir).filter((n) => n.startsWith(`.${name}.`));

  it('killed while writing report.json into a fresh folder: the folder does not appear', async () => {
    const out = join(dir, 'fresh');
    const r = await deepmaker(verifyArgs(out), dir, 'report.json');
    assert.equal(r.signal, 'SIGKILL', `killed (${r.stderr})`);
    assert.equal(existsSync(out), false, 'no half-written output');
  });

  it('an earlier output is replaced wholly; killed over it, it stays intact', async () => {
    const out = join(dir, 'v');
    const first = await deepmaker(verifyArgs(out), dir);
    assert.equal(first.code, 0, first.stderr);
    const report = readFileSync(join(out, 'report.json'), 'utf8');
    assert.equal(JSON.parse(report).tool, 'deepmaker-verify');
    writeFileSync(join(out, 'stale.txt'), 'from before');
    // A run with another format, killed while writing its report: the first run's output is all there is.
    const killed = await deepmaker(verifyArgs(out, ['--format', 'fixed<12,5>']), dir, 'report.json');
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.equal(readFileSync(join(out, 'report.json'), 'utf8'), report);
    assert.ok(existsSync(join(out, 'stale.txt')));
    const second = await deepmaker(verifyArgs(out, ['--format', 'fixed<12,5>']), dir);
    assert.equal(second.code, 0, second.stderr);
    assert.match(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).fixed.format, /activations fixed<12,5>/);
    assert.equal(existsSync(join(out, 'stale.txt')), false, 'the new output replaced the old one wholly');
    // The killed run's temporary is removed by the next run into the same parent (its process is dead).
    assert.deepEqual(siblings('v'), []);
  });

  it('a failed run leaves no folder', async () => {
    const out = join(dir, 'failed');
    const bad = join(dir, 'short.dat');
    writeFileSync(bad, '1 2 3\n');
    const r = await deepmaker(['verify', '--model', join(MLP, 'KERAS_mnist_mlp.json'), '--inputs', bad, '--out', out], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /short\.dat: each input sample has 3 values; the model takes 784/);
    assert.equal(existsSync(out), false);
  });

  it('a folder holding other files is refused, untouched, unless --force', async () => {
    const out = join(dir, 'mine');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = await deepmaker(verifyArgs(out), dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mine \(--out\): --out is a folder that holds other files and is not an earlier output of deepmaker verify/);
    assert.deepEqual(readdirSync(out), ['notes.txt']);
    const forced = await deepmaker(verifyArgs(out, ['--force']), dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(existsSync(join(out, 'report.json')));
    assert.equal(existsSync(join(out, 'notes.txt')), false);
  });
});
