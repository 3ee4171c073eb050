import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { architectureCost } from '../../src/nn/cost';
import { buildModel } from '../../src/nn/build';
import { isDeepMakerError } from '../../src/util/errors';
import { chain, denseNetLike, lenet5 } from './fixtures';

test('LeNet-5 cost matches the textbook figures', () => {
  const c = architectureCost(lenet5);
  // conv1 5*5*1*6+6, conv2 5*5*6*16+16, fc 400*120+120, 120*84+84, 84*10+10
  assert.equal(c.params, 156 + 2416 + 48120 + 10164 + 850);
  assert.equal(c.weights, c.params);
  assert.equal(c.macs, 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10);
  assert.deepEqual(c.layers.at(-1)!.outputShape, [10]);
  assert.equal(c.layers.filter((l) => l.type === 'Dense').length, 3, 'the softmax dense is the classifier, none is appended');
});

for (const [name, arch] of Object.entries({ lenet5, denseNetLike, chain })) {
  test(`${name}: params equal the built model's countParams, shapes and names agree`, () => {
    const cost = architectureCost(arch);
    const model = buildModel(arch, { seed: 3 });
    try {
      assert.equal(cost.params, model.countParams());
      for (const l of cost.layers) {
        const built = model.getLayer(l.name);
        assert.equal(built.getClassName(), l.type, l.name);
        assert.deepEqual((built.outputShape as number[]).slice(1), l.outputShape, l.name);
        assert.equal(built.countParams(), l.params, l.name);
      }
      assert.equal(model.layers.length, cost.layers.length + 1, 'every model layer but the input is in the cost table');
      assert.deepEqual((model.outputs[0].shape).slice(1), [arch.classes]);
    } finally {
      model.dispose();
    }
  });
}

test('BatchNormalization adds params but no stored weights when it folds', () => {
  const c = architectureCost(chain);
  const bn = c.layers.filter((l) => l.type === 'BatchNormalization');
  // l1 batchnorm after a linear conv folds; the depthwise unit's BN folds; l4 follows a sigmoid conv: kept (scale+shift).
  assert.deepEqual(bn.map((l) => [l.name, l.params, l.weights]), [['l1_batchnorm', 24, 0], ['l2_depthwise_conv2d_bn', 24, 0], ['l4_batchnorm', 40, 20]]);
  const dw = c.layers.find((l) => l.name === 'l2_depthwise_conv2d')!;
  assert.equal(dw.params, 9 * 6, 'no bias in the conv when BN follows');
  assert.equal(dw.weights, 9 * 6 + 6, 'the folded BN gives it a bias');
  assert.equal(dw.macs, 4 * 4 * 6 * 9);
});

test('a dense block concatenates its input and every unit', () => {
  const c = architectureCost(denseNetLike);
  assert.deepEqual(c.layers.find((l) => l.name === 'l1_dense_block_concat')!.outputShape, [16, 16, 8 + 3 * 4]);
  assert.deepEqual(c.layers.find((l) => l.name === 'l2_transition_pool')!.outputShape, [8, 8, 10]);
  assert.deepEqual(c.layers.find((l) => l.name === 'l4_transition_conv')!.outputShape, [8, 8, Math.floor(0.75 * 22)]);
  assert.equal(c.layers.at(-1)!.name, 'classifier');
});

test('an architecture whose feature map vanishes is a DeepMakerError naming the layer', () => {
  const bad = { input: [8, 8, 1], classes: 2, layers: [{ type: 'conv2d' as const, filters: 2, kernel: 5 }, { type: 'maxpool2d' as const, pool: 2 }, { type: 'maxpool2d' as const, pool: 2 }, { type: 'maxpool2d' as const, pool: 2 }] };
  // 8 -conv5-> 4 -pool-> 2 -pool-> 1 -pool-> 0
  assert.throws(() => architectureCost(bad), (e) => isDeepMakerError(e) && /l3_maxpool2d/.test(e.message) && /layers\[3\]/.test(e.message));
  assert.throws(() => architectureCost({ input: [4], classes: 2, layers: [{ type: 'conv2d', filters: 1, kernel: 1 }] }), (e) => isDeepMakerError(e) && /image-shaped/.test(e.message));
});
