/** `deepmaker convert` and `deepmaker verify` on the command line, with .dat, .npy and .json vectors. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { writeNpy } from '../../src/data/npy';
import { run } from '../../src/verify/run-c';
import { KERAS_FIXTURES } from '../fixtures/location';

const MLP = join(KERAS_FIXTURES, 'hls4ml_mnist_mlp');

/** Captures what the commands print with console.log/console.error (stage loggers still write their progress lines). */
async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = '', err = '';
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  try {
    return { value: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function rows(file: string): number[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
}

describe('command line', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('convert writes C that `make` builds with the strict flags; its report holds the layer table', async () => {
    const out = join(dir, 'conv');
    const r = await quiet(() => main(['convert', join(KERAS_FIXTURES, 'hls4ml_conv1d_small/KERAS_conv1d_small.json'), '--out', out, '--format', 'fixed<12,4>']));
    assert.equal(r.value, 0, r.err);
    assert.match(readFileSync(join(out, 'report.json'), 'utf8'), /"layer": "conv1_relu"/);
    assert.match(readFileSync(join(out, 'model.h'), 'utf8'), /#define DM_A_BITS 12\n#endif\n#ifndef DM_A_INT\n#define DM_A_INT 4/);
    const m = await run('make', ['-s'], out);
    assert.equal(m.code, 0, m.stderr);
    assert.ok(existsSync(join(out, 'harness')));
  });

  it('verify with .dat vectors: golden outputs are the reference', async () => {
    const out = join(dir, 'v-dat');
    const r = await quiet(() => main(['verify', '--model', join(MLP, 'KERAS_mnist_mlp.json'), '--inputs', join(MLP, 'KERAS_mnist_mlp_inputs.dat'), '--expected', join(MLP, 'KERAS_mnist_mlp_outputs.dat'), '--out', out, '--sweep', '8', '--format', 'fixed<16,7>']));
    assert.equal(r.value, 0, r.err);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(rep.samples, 3);
    assert.equal(rep.reference.kind, 'expected');
    assert.ok(rep.float.maxAbsError <= 1e-4);
    assert.equal(rep.float.top1Agreement, 1);
    assert.match(rep.fixed.format, /fixed<16,7>/);
    assert.equal(rep.sweep[0].bits, 8);
    assert.match(r.out, /float C: top-1 agreement 100\.00%, max abs error/);
    assert.ok(existsSync(join(out, 'precision-sweep.svg')));
  });

  it('verify with .npy and .json vectors and labels, against TensorFlow.js', async () => {
    const x = rows(join(MLP, 'KERAS_mnist_mlp_inputs.dat'));
    const npy = join(dir, 'x.npy');
    writeNpy(npy, Float64Array.from(x.flat()), [3, 784]);
    const labels = join(dir, 'labels.json');
    writeFileSync(labels, JSON.stringify({ y: [[7], [0], [1]] }));
    const out = join(dir, 'v-npy');
    const r = await quiet(() => main(['verify', '--model', join(MLP, 'KERAS_mnist_mlp.json'), '--inputs', npy, '--labels', labels, '--out', out, '--sweep', '6']));
    assert.equal(r.value, 0, r.err);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(rep.reference.kind, 'tensorflow.js');
    assert.ok(rep.float.maxAbsError <= 1e-4);
    assert.equal(rep.float.accuracy, 1);
    assert.equal(rep.reference.accuracy, 1);
    const json = join(dir, 'x.json');
    writeFileSync(json, JSON.stringify({ inputs: x }));
    const r2 = await quiet(() => main(['verify', '--model', join(MLP, 'KERAS_mnist_mlp.json'), '--inputs', json, '--expected', join(MLP, 'KERAS_mnist_mlp_outputs.dat'), '--out', join(dir, 'v-json'), '--sweep', '6']));
    assert.equal(r2.value, 0, r2.err);
  });

  it('verify says what is wrong with vectors that do not fit the model', async () => {
    const bad = join(dir, 'short.dat');
    writeFileSync(bad, '1 2 3\n4 5 6\n');
    const r = await quiet(() => main(['verify', '--model', join(MLP, 'KERAS_mnist_mlp.json'), '--inputs', bad, '--out', join(dir, 'v-bad')]));
    assert.equal(r.value, 1);
    assert.match(r.err, /short\.dat: each input sample has 3 values; the model takes 784/);
    const usage = await quiet(() => main(['verify', '--inputs', bad]));
    assert.equal(usage.value, 2);
    assert.match(usage.err, /usage: deepmaker verify --model M --inputs X/);
  });
});
