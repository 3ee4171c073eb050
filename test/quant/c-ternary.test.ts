import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../../src/nn/backend';
import { decodeTernary } from '../../src/numerics/fixed';
import { packTernaryKernel } from '../../src/cgen/ternary';
import { runQuantizedReference } from '../../src/quant/reference';
import { checkQuantizedReference } from '../../src/quant/verify';
import { denseNetLike } from '../nn/fixtures';
import { fixedKnobs, runGeneratedC, TINY_ARCH, trainedAndConverted, uniform } from './helpers';

const SAMPLES = 1000;

describe('ternary networks carried through C', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('packs 2-bit sign-magnitude codes, four per byte, first weight in the low bits', () => {
    const t = [1, -1, 0, 1, -1];
    const packed = packTernaryKernel(t);
    assert.deepEqual(Array.from(packed), [0b01_00_11_01, 0b00_00_00_11]);
    for (let i = 0; i < t.length; i++) assert.equal(decodeTernary((packed[i >> 2] >> ((i & 3) * 2)) & 3), t[i]);
    assert.throws(() => packTernaryKernel([0.5]));
  });

  for (const activations of [false, true]) {
    it(`ternary weights${activations ? ' and activations' : ''}: the C and the TF.js quantized reference give identical integer logits`, async () => {
      const { ir, dir } = await trainedAndConverted(TINY_ARCH, { mode: 'ternary', activations: { bits: 12, integer: 3 }, ternary: { activations } });
      // The IR carries ternary codes and per-filter scales for every conv/dense layer (BN folded into the depthwise one).
      const macs = ir.layers.filter((l) => ['conv2d', 'depthwise_conv2d', 'dense'].includes(l.type));
      assert.equal(macs.length, 4);
      for (const l of macs) {
        assert.ok(l.ternary, `${l.name} is ternary`);
        assert.ok(Array.from(l.weights.kernel!.data).every((v) => v === -1 || v === 0 || v === 1));
        assert.equal(l.ternary!.scale.length, l.outputShape[l.outputShape.length - 1]);
      }
      assert.ok(!ir.layers.some((l) => l.name.endsWith('_bn')), 'BatchNormalization folded');
      assert.ok(macs.find((l) => l.type === 'depthwise_conv2d')!.weights.bias, 'the fold gives the depthwise layer a bias');
      assert.equal(macs.filter((l) => l.activation.kind === 'ternary').length, activations ? 3 : 0);

      const x = uniform(SAMPLES * 64, 99);
      const knobs = fixedKnobs({ activations: { bits: 12, integer: 3 } });
      const c = runGeneratedC(ir, knobs, x, SAMPLES, dir);
      const ref = runQuantizedReference(ir, knobs, x, SAMPLES);
      assert.deepEqual(c.values, Array.from({ length: SAMPLES }, (_, i) => Array.from(ref.raw.subarray(i * 3, i * 3 + 3))));
      // Not a degenerate agreement: the logits vary across samples.
      assert.ok(new Set(c.values.map((v) => v.join())).size > 20);
      // The C holds ternary kernels only as packed codes and does add/subtract/skip.
      assert.match(c.modelC, /static const unsigned char dm_tk_/);
      assert.match(c.modelC, /DM_TMAC\(acc, DM_TMUL\(/, 'a ternary-input layer may use the 2-bit code product');
      assert.doesNotMatch(c.modelC, /static int32_t dm_wq_/, 'no int32 copy of a ternary kernel');
    });
  }
});

describe('the quantized reference follows the knobs', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('truncation and wrap-around (narrow formats that overflow) give the C\'s integers too', async () => {
    const { ir, dir } = await trainedAndConverted(TINY_ARCH, { mode: 'ternary', activations: { bits: 6, integer: 1 } });
    const x = uniform(300 * 64, 5).map((v) => 4 * v - 1); // beyond fixed<6,1>'s [-1, 1): the input wraps, and the layers after it
    const knobs = { ...fixedKnobs({ activations: { bits: 6, integer: 1 } }), rounding: 'truncate' as const, overflow: 'wrap' as const };
    const c = runGeneratedC(ir, knobs, x, 300, dir);
    const ref = runQuantizedReference(ir, knobs, x, 300);
    assert.deepEqual(c.values, Array.from({ length: 300 }, (_, i) => Array.from(ref.raw.subarray(i * 3, i * 3 + 3))));
    const saturating = runQuantizedReference(ir, { ...knobs, overflow: 'saturate' }, x, 300);
    assert.notDeepEqual(Array.from(saturating.raw), Array.from(ref.raw), 'the formats are narrow enough to wrap');
  });
});

describe('the verify check (checkQuantizedReference)', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('counts the samples whose dequantized C outputs are the reference integers exactly', async () => {
    const { ir } = await trainedAndConverted(TINY_ARCH, { mode: 'ternary', activations: { bits: 12, integer: 3 }, ternary: { activations: true } });
    const knobs = fixedKnobs({ activations: { bits: 12, integer: 3 } });
    const n = 50;
    const x = uniform(n * 64, 8);
    const ref = runQuantizedReference(ir, knobs, x, n);
    const cOut = Float32Array.from(ref.raw, (q) => q * 2 ** -ref.fracs[0]); // what the harness writes for the same integers
    assert.equal(checkQuantizedReference(ir, knobs, x, n, cOut).identical, true);
    cOut[7 * 3 + 1] += 2 ** -ref.fracs[0]; // one integer off by one in sample 7
    const r = checkQuantizedReference(ir, knobs, x, n, cOut);
    assert.equal(r.identical, false);
    assert.equal(r.identicalSamples, n - 1);
    assert.equal(r.firstMismatch!.sample, 7);
    assert.equal(r.firstMismatch!.c[1] - r.firstMismatch!.reference[1], 1);
  });
});

describe('the quantized reference on a DenseNet-like model', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  // Dense blocks (concatenation), transitions with average and max pooling, BatchNormalization,
  // global average pooling, ReLU6 and tanh: every layer kind the search spaces produce.
  for (const spec of [
    { mode: 'fixed' as const, weights: { bits: 8, integer: 1 }, activations: { bits: 10, integer: 3 } },
    { mode: 'ternary' as const, activations: { bits: 10, integer: 3 }, ternary: { activations: true } },
  ]) {
    it(`${spec.mode}: identical integer outputs from the C and the TF.js reference`, async () => {
      const { ir, dir } = await trainedAndConverted(denseNetLike, spec, 4, 0);
      assert.ok(ir.layers.some((l) => l.type === 'concatenate') && ir.layers.some((l) => l.type === 'avgpool2d') && ir.layers.some((l) => l.type === 'global_avgpool2d'));
      const n = 200;
      const x = uniform(n * 256, 17);
      const knobs = fixedKnobs(spec);
      const c = runGeneratedC(ir, knobs, x, n, dir);
      const ref = runQuantizedReference(ir, knobs, x, n);
      const w = ref.outputSize;
      assert.deepEqual(c.values, Array.from({ length: n }, (_, i) => Array.from(ref.raw.subarray(i * w, (i + 1) * w))));
      assert.ok(new Set(c.values.map((v) => v.join())).size > 10);
    });
  }
});
