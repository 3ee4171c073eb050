/**
 * The generated C as a user and the DSE see it: knobs in model.h, one function per loop nest named
 * by the ids in layers.json, HLS labels on request, no allocation on the inference path, and the
 * harness's file-to-memory interface with its errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/importers';
import type { ModelIR } from '../../src/ir/types';
import { compileHarness, run } from '../../src/verify/run-c';
import { KERAS_FIXTURES } from '../fixtures/location';
import { buildC, FIXED16, FLOAT, runFloat, type Built } from './helpers';

describe('the generated C', () => {
  let ir: ModelIR;
  let b: Built;
  before(async () => {
    ir = await loadModel(join(KERAS_FIXTURES, 'tinymaix_mnist_cnn/mnist_dw.h5'));
    b = await buildC(ir, FLOAT);
  });
  after(() => rmSync(b.dir, { recursive: true, force: true }));

  it('model.h holds every knob as an overridable default, and per-layer formats', () => {
    const h = readFileSync(join(b.dir, 'model.h'), 'utf8');
    for (const k of ['DM_FIXED', 'DM_W_BITS', 'DM_W_INT', 'DM_B_BITS', 'DM_B_INT', 'DM_A_BITS', 'DM_A_INT', 'DM_ACC_BITS', 'DM_ROUNDING', 'DM_OVERFLOW']) assert.match(h, new RegExp(`#ifndef ${k}\\n#define ${k} `));
    for (const l of ir.layers.filter((x) => x.loopNest)) assert.match(h, new RegExp(`#ifndef ${l.loopNest!.split('_')[0]}_O_BITS`));
    assert.match(h, /#ifndef L01_ACC_BITS\n#define L01_ACC_BITS DM_ACC_AUTO\(L01_W_BITS, L00_O_BITS, 4, L01_B_INT, L01_P_FRAC\)/);
  });

  it('one function per loop nest, named by the ids in the IR, with DM_LOOP labels; no allocation in the model', () => {
    const c = readFileSync(join(b.dir, 'model.c'), 'utf8');
    for (const l of ir.layers) {
      if (!l.loopNest) continue;
      assert.match(c, new RegExp(`static void dm_${l.loopNest}\\(`));
      assert.match(c, new RegExp(`DM_LOOP\\(${l.loopNest}_`));
    }
    assert.doesNotMatch(c, /\b(malloc|calloc|realloc|free|alloca)\s*\(/);
  });

  it('with -DDM_HLS_LABELS the loops are labelled and the results are the same', async () => {
    const x = Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 29) / 29);
    const plain = await runFloat(b, x, 2);
    const exe = await compileHarness(b.dir, { knobs: FLOAT, exe: 'labelled', extraFlags: ['-DDM_HLS_LABELS', '-Wno-unused-label'] });
    const pre = await run('cc', ['-E', '-P', '-std=c99', '-DDM_HLS_LABELS', 'model.c'], b.dir);
    assert.match(pre.stdout, /L01_ftr0a_oy: for \(oy = 0; oy < 14; oy\+\+\)/);
    const labelled = await runFloat({ ...b, exe }, x, 2);
    assert.deepEqual(labelled, plain);
  });

  it('the harness reports malformed text input with file and line', async () => {
    const bad = join(b.dir, 'bad.dat');
    writeFileSync(bad, `${Array(784).fill('0.5').join(' ')}\n${Array(3).fill('1').join(' ')}\n`);
    let r = await run(b.exe, ['-w', 'weights', bad, join(b.dir, 'o.dat')], b.dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.dat:2: 3 values, the model takes 784 per sample/);
    writeFileSync(bad, `${Array(783).fill('0.5').join(' ')} abc\n`);
    r = await run(b.exe, ['-w', 'weights', bad, join(b.dir, 'o.dat')], b.dir);
    assert.match(r.stderr, /bad\.dat:1: 'abc' is not a number/);
    writeFileSync(join(b.dir, 'cut.f32'), new Uint8Array(784 * 4 + 12));
    r = await run(b.exe, ['-w', 'weights', 'cut.f32', 'o.f32'], b.dir);
    assert.match(r.stderr, /cut\.f32: sample 2 is cut short \(3 of 784 float32 values\)/);
  });

  it('the harness streams text in and out, and -n stops early', async () => {
    const inp = join(b.dir, 'in.dat');
    writeFileSync(inp, Array.from({ length: 5 }, (_, k) => Array.from({ length: 784 }, (_, i) => ((i * (k + 3)) % 17) / 17).join(' ')).join('\n') + '\n\n');
    const r = await run(b.exe, ['-w', 'weights', '-n', '3', inp, 'out.dat'], b.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /samples 3, inference/);
    const lines = readFileSync(join(b.dir, 'out.dat'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[0].split(' ').length, 10);
  });

  it('weights read through the file interface: a missing or mis-sized file stops dm_init with its name', async () => {
    const fixed = await buildC(ir, FIXED16);
    const wf = join(fixed.dir, 'weights', 'L03_ftr1a.kernel.f32');
    writeFileSync(wf, new Uint8Array(8));
    let r = await run(fixed.exe, ['-w', 'weights', 'x.dat', 'y.dat'], fixed.dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dm_init: weights\/L03_ftr1a\.kernel\.f32 must hold exactly 576 float32 values/);
    unlinkSync(wf);
    r = await run(fixed.exe, ['-w', 'weights', 'x.dat', 'y.dat'], fixed.dir);
    assert.match(r.stderr, /dm_init: cannot open weights\/L03_ftr1a\.kernel\.f32/);
    rmSync(fixed.dir, { recursive: true, force: true });
  });
});

