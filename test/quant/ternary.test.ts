import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { decodeTernary, encodeTernary, ternaryProductCode } from '../../src/numerics/fixed';
import { TERNARY_RUNTIME_C } from '../../src/cgen/ternary';
import { QuantConv2D, QuantDepthwiseConv2D, QuantDense } from '../../src/quant/layers';
import { activationDelta, ternarizeWeights, ternaryActivation, ternaryWeightQuantizer } from '../../src/quant/ternary';
import { fitLogits } from '../../src/quant/qat';

/** Deterministic pseudo-random values in (-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 2 - 1;
  });
}

/** The ToT-Net rule written out in double precision, one filter at a time: the test's own oracle. */
function ternaryOracle(w: number[], shape: number[], threshold: number, filterOf: (i: number) => number, filters: number) {
  const sumAbs = new Array(filters).fill(0), n = new Array(filters).fill(0);
  w.forEach((v, i) => {
    sumAbs[filterOf(i)] += Math.abs(v);
    n[filterOf(i)]++;
  });
  const delta = sumAbs.map((s, f) => (threshold / n[f]) * s);
  const t = w.map((v, i) => (Math.abs(v) < delta[filterOf(i)] ? 0 : Math.sign(v)));
  const kept = new Array(filters).fill(0), keptSum = new Array(filters).fill(0);
  t.forEach((ti, i) => {
    if (ti !== 0) {
      kept[filterOf(i)]++;
      keptSum[filterOf(i)] += Math.abs(w[i]);
    }
  });
  return { delta, t, scale: keptSum.map((s, f) => (kept[f] ? s / kept[f] : 0)) };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, rel = 1e-5) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= rel * Math.max(1, Math.abs(b[i])), `[${i}] ${a[i]} vs ${b[i]}`);
}

describe('ternary quantization (ToT-Net)', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('Δ = 0.7·mean|w| per output filter, t = sign(w) beyond Δ, α = mean |w| of the kept weights (Conv2D layout)', () => {
    const shape = [3, 3, 4, 5];
    const w = values(3 * 3 * 4 * 5, 7).map((v, i) => v * (1 + (i % 5))); // each filter its own magnitude
    const got = ternarizeWeights(tf.tensor(w, shape), 0.7);
    const want = ternaryOracle(w, shape, 0.7, (i) => i % 5, 5);
    assert.deepEqual(Array.from(got.ternary.dataSync(), (v) => v + 0), want.t.map((v) => v + 0));
    close(got.delta.dataSync(), want.delta);
    close(got.scale.dataSync(), want.scale);
    // Distinct filters get distinct thresholds: a single tensor-wide Δ would fail this.
    assert.equal(new Set(Array.from(got.delta.dataSync()).map((d) => d.toFixed(4))).size, 5);
  });

  it('DepthwiseConv2D: each (channel, multiplier) pair is a filter; other thresholds give other sparsity', () => {
    const shape = [3, 3, 3, 2];
    const w = values(54, 11);
    const got = ternarizeWeights(tf.tensor(w, shape), 0.5, [0, 1]);
    const want = ternaryOracle(w, shape, 0.5, (i) => i % 6, 6);
    assert.deepEqual(Array.from(got.ternary.dataSync(), (v) => v + 0), want.t.map((v) => v + 0));
    close(got.scale.dataSync(), want.scale);
    const zeros = (th: number) => Array.from(ternarizeWeights(tf.tensor(w, shape), th, [0, 1]).ternary.dataSync()).filter((v) => v === 0).length;
    assert.ok(zeros(1.2) > zeros(0.5) && zeros(0.5) > zeros(0.1));
  });

  it('an all-zero filter has Δ = 0, t = 0 and α = 0 (no NaN)', () => {
    const w = tf.tensor([0, 0.5, 0, 1, 0, -2], [3, 2]); // filter 0 (column 0) all zero
    const got = ternarizeWeights(w, 0.7);
    assert.deepEqual(Array.from(got.scale.dataSync()).map((v) => Number.isNaN(v)), [false, false]);
    assert.equal(got.scale.dataSync()[0], 0);
    assert.deepEqual(Array.from(got.ternary.dataSync(), (v) => v + 0), [0, 0, 0, 1, 0, -1]);
  });

  it('weight STE: the gradient reaching the float weights is the gradient of α·t, unchanged', () => {
    const q = ternaryWeightQuantizer(0.7);
    const w = tf.tensor(values(24, 3), [2, 3, 4]);
    const dy = tf.tensor(values(24, 5), [2, 3, 4]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(q(x), dy)))(w);
    close(g.dataSync(), dy.dataSync(), 0);
  });

  it('Δ and α are recomputed from the current weights at every step of training', () => {
    const layer = new QuantDense({ units: 3, useBias: false, quantizers: { weights: { kind: 'ternary', threshold: 0.7 } }, kernelInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 2 }) });
    const x = tf.tensor(values(16 * 4, 9), [16, 4]);
    const target = tf.tensor(values(16 * 3, 13), [16, 3]);
    layer.apply(x);
    const opt = tf.train.sgd(0.5);
    const deltas: number[][] = [];
    for (let step = 0; step < 3; step++) {
      // The kernel the layer computes with equals the oracle's α·t of its float weights right now.
      const wNow = Array.from(layer.kernel!.read().dataSync());
      const oracle = ternaryOracle(wNow, [4, 3], 0.7, (i) => i % 3, 3);
      close(layer.effectiveKernel().dataSync(), oracle.t.map((t, i) => t * oracle.scale[i % 3]));
      deltas.push(oracle.delta);
      opt.minimize(() => tf.mean(tf.square(tf.sub(layer.apply(x) as tf.Tensor, target))) as tf.Scalar);
    }
    assert.notDeepEqual(deltas[0], deltas[1]);
    assert.notDeepEqual(deltas[1], deltas[2]);
  });

  it('Conv2D and DepthwiseConv2D layers compute with α·t per filter', () => {
    const x = tf.tensor(values(2 * 6 * 6 * 3, 21), [2, 6, 6, 3]);
    const conv = new QuantConv2D({ filters: 4, kernelSize: 3, padding: 'same', quantizers: { weights: { kind: 'ternary', threshold: 0.7 } } });
    const y = conv.apply(x) as tf.Tensor;
    const { ternary, scale } = ternarizeWeights(conv.kernel!.read(), 0.7);
    const want = tf.add(tf.conv2d(x as tf.Tensor4D, tf.mul(ternary, scale) as tf.Tensor4D, 1, 'same'), conv.bias!.read());
    close(y.dataSync(), want.dataSync());
    const dw = new QuantDepthwiseConv2D({ kernelSize: 3, depthMultiplier: 2, quantizers: { weights: { kind: 'ternary', threshold: 0.7 } } });
    const y2 = dw.apply(x) as tf.Tensor;
    const t2 = ternarizeWeights(dw.kernel!.read(), 0.7, [0, 1]);
    close(y2.dataSync(), tf.depthwiseConv2d(x as tf.Tensor4D, tf.mul(t2.ternary, t2.scale) as tf.Tensor4D, 1, 'valid').dataSync());
  });

  it('activations: Δ per channel over batch and space; STE slope 1/(2Δ) inside ±2Δ, 0 outside', () => {
    // Two channels with very different magnitudes.
    const x = tf.tensor([0.1, 10, -0.5, -30, 0.2, 1, -0.05, 5], [2, 2, 1, 2]);
    const delta = activationDelta(x, 0.7);
    close(delta.dataSync(), [(0.7 * (0.1 + 0.5 + 0.2 + 0.05)) / 4, (0.7 * (10 + 30 + 1 + 5)) / 4]);
    const d = Array.from(delta.dataSync());
    assert.deepEqual(Array.from(ternaryActivation(x, delta).dataSync(), (v) => v + 0), [0, 1, -1, -1, 1, 0, 0, 0]);
    const g = Array.from(tf.grad((v: tf.Tensor) => tf.sum(ternaryActivation(v, delta)))(x).dataSync());
    const want = [0.1, 10, -0.5, -30, 0.2, 1, -0.05, 5].map((v, i) => (Math.abs(v) <= 2 * d[i % 2] ? 1 / (2 * d[i % 2]) : 0));
    close(g, want);
    assert.ok(want.includes(0) && want.some((v) => v > 0), 'the probe must hit both sides of ±2Δ');
  });

  it('a ternary activation layer uses the batch Δ in training and its moving Δ at inference', () => {
    const layer = new QuantDense({ units: 2, kernelInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 4 }), activation: 'relu', quantizers: { output: { kind: 'ternary', threshold: 0.7, momentum: 0.5 } } });
    const a = tf.tensor(values(8 * 3, 1), [8, 3]);
    const b = tf.mul(tf.tensor(values(8 * 3, 2), [8, 3]), 5);
    layer.apply(a, { training: true });
    const pre = (x: tf.Tensor) => tf.add(tf.matMul(x, layer.kernel!.read()), layer.bias!.read());
    close(layer.ternaryDelta()!, activationDelta(pre(a)).dataSync());
    layer.apply(b, { training: true });
    const moving = activationDelta(pre(a)).mul(0.5).add(activationDelta(pre(b)).mul(0.5));
    close(layer.ternaryDelta()!, moving.dataSync());
    // Inference: the moving Δ, and the activation function is replaced by the ternarizer (negatives survive as -1).
    const out = layer.apply(b, { training: false }) as tf.Tensor;
    assert.deepEqual(Array.from(out.dataSync()), Array.from(ternaryActivation(pre(b), moving as tf.Tensor1D).dataSync()));
    assert.ok(Array.from(out.dataSync()).includes(-1));
  });

  it('calibration sets the inference Δ to the mean of the batches\' Δ, whatever the moving average held', () => {
    const layer = new QuantDense({ units: 2, kernelInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 4 }), activation: 'relu', quantizers: { output: { kind: 'ternary', threshold: 0.7, momentum: 0.9 } } });
    const a = tf.tensor(values(8 * 3, 1), [8, 3]);
    const b = tf.mul(tf.tensor(values(8 * 3, 2), [8, 3]), 5);
    layer.apply(tf.mul(a, 100), { training: true }); // a moving Δ far from what a and b give
    const pre = (x: tf.Tensor) => tf.add(tf.matMul(x, layer.kernel!.read()), layer.bias!.read());
    assert.ok(layer.hasTernaryOutput);
    layer.beginCalibration({ output: true });
    // While calibrating, inference ternarizes with the batch's Δ (as training does).
    const during = layer.apply(b, { training: false }) as tf.Tensor;
    assert.deepEqual(Array.from(during.dataSync()), Array.from(ternaryActivation(pre(b), activationDelta(pre(b))).dataSync()));
    layer.apply(a, { training: false });
    layer.endCalibration();
    close(layer.ternaryDelta()!, activationDelta(pre(a)).add(activationDelta(pre(b))).mul(0.5).dataSync());
    const plain = new QuantDense({ units: 2, activation: 'relu', quantizers: {} });
    assert.equal(plain.hasTernaryOutput, false);
  });

  it('fitLogits brings logits past the output format into it by y <- s(y - m): argmax kept, 99th percentile at 0.9 of the top', () => {
    const format = { bits: 8, integer: 4, rounding: 'half-even', overflow: 'saturate' } as const; // largest 7.9375
    const input = tf.input({ shape: [6] });
    const dense = new QuantDense({ units: 4, kernelInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 9 }), quantizers: { weights: { kind: 'ternary', threshold: 0.7 }, output: { kind: 'fixed', format } } });
    const model = tf.model({ inputs: input, outputs: dense.apply(input) as tf.SymbolicTensor });
    // Logits around +40 with a spread of ~10: past the format for every sample (the float network's scale, offset by its twin's inputs).
    dense.bias!.write(tf.tensor1d([40, 41, 39, 40]));
    dense.kernel!.write(tf.mul(dense.kernel!.read(), 6));
    const count = 300;
    const split = { x: Float32Array.from(values(count * 6, 3)), y: new Int32Array(count), count, shape: [6] };
    const raw = () => tf.add(tf.matMul(tf.tensor2d(split.x, [count, 6]), dense.effectiveKernel() as tf.Tensor2D), dense.bias!.read()) as tf.Tensor2D;
    const before = raw();
    const saturated = (model.predict(tf.tensor2d(split.x, [count, 6])) as tf.Tensor).dataSync();
    assert.ok(Array.from(saturated).every((v) => v === 7.9375), 'every logit saturates before the fit');
    const rows = Int32Array.from({ length: count }, (_, i) => i);
    const fit = fitLogits(model, split, rows, 32, format)!;
    assert.ok(fit, 'the logits did not fit: fitted');
    const after = raw();
    // y' = s (y - m): exactly, up to float rounding (the ternary codes do not move when the kernel scales).
    close(after.dataSync(), tf.mul(tf.sub(before, fit.offset), fit.scale).dataSync(), 1e-4);
    assert.deepEqual(Array.from(after.argMax(1).dataSync()), Array.from(before.argMax(1).dataSync()));
    const peaks = Array.from({ length: count }, (_, r) => Math.max(...Array.from(after.slice([r, 0], [1, 4]).abs().dataSync()))).sort((a, b) => a - b);
    assert.ok(Math.abs(peaks[Math.floor(0.99 * count)] - 0.9 * 7.9375) < 0.05, `99th percentile ${peaks[Math.floor(0.99 * count)]}`);
    // The quantized model's argmax is now the raw one's (nothing ties at the top of the format).
    const out = model.predict(tf.tensor2d(split.x, [count, 6])) as tf.Tensor;
    const agree = Array.from(out.argMax(1).dataSync()).filter((c, i) => c === before.argMax(1).dataSync()[i]).length;
    assert.ok(agree >= 0.97 * count, `${agree} of ${count} argmax kept through the format`);
    // Logits that fit are left alone.
    assert.equal(fitLogits(model, split, rows, 32, format), undefined);
  });

  it("2-bit sign-magnitude code: the product code follows the seed's truth table for all 9 pairs", () => {
    // The seed's table: O_MSB = W_MSB xor I_MSB, O_LSB = W_LSB and I_LSB; codes 00 = 0, 01 = +1, 11 = -1 (10 reads as 0).
    const seedTable: Record<string, string> = {
      '00,00': '00', '00,01': '00', '00,11': '10',
      '01,00': '00', '01,01': '01', '01,11': '11',
      '11,00': '10', '11,01': '11', '11,11': '01',
    };
    const bin = (c: number) => c.toString(2).padStart(2, '0');
    for (const w of [-1, 0, 1] as const) {
      for (const x of [-1, 0, 1] as const) {
        const cw = encodeTernary(w), cx = encodeTernary(x);
        const o = ternaryProductCode(cw, cx);
        assert.equal(bin(o), seedTable[`${bin(cw)},${bin(cx)}`], `w=${w} x=${x}`);
        assert.equal(decodeTernary(o), w * x || 0, `decode(w=${w} · x=${x})`);
      }
    }
    assert.deepEqual([encodeTernary(0), encodeTernary(1), encodeTernary(-1)], [0b00, 0b01, 0b11]);
  });

  it("the generated C's code macros follow the same table (DM_TCODE_OF, DM_TMUL, DM_TMAC add/subtract/skip)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'dm-tmul-'));
    const program = [
      '#include <stdint.h>',
      '#include <stdio.h>',
      '#include <math.h>',
      '#define DM_FIXED 1',
      TERNARY_RUNTIME_C,
      'int main(void)',
      '{',
      '    int w, x;',
      '    for (w = -1; w <= 1; w++)',
      '        for (x = -1; x <= 1; x++) {',
      '            uint64_t acc = 100u;',
      '            unsigned o = DM_TMUL(DM_TCODE_OF(w), DM_TCODE_OF(x));',
      '            DM_TMAC(acc, o, 1);',
      '            printf("%d %d %u %d\\n", w, x, o, (int)((int64_t)acc - 100));',
      '        }',
      '    return 0;',
      '}',
    ].join('\n');
    writeFileSync(join(dir, 't.c'), program);
    const cc = spawnSync('cc', ['-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-o', 't', 't.c', '-lm'], { cwd: dir, encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const lines = spawnSync(join(dir, 't'), { encoding: 'utf8' }).stdout.trim().split('\n');
    assert.equal(lines.length, 9);
    for (const line of lines) {
      const [w, x, o, added] = line.split(' ').map(Number);
      assert.equal(o, ternaryProductCode(encodeTernary(w as -1 | 0 | 1), encodeTernary(x as -1 | 0 | 1)), `code of ${w}·${x}`);
      assert.equal(added, w * x + 0, `the MAC adds ${w}·${x}`);
    }
  });
});
