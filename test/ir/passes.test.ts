/** The normalizing passes, the IR on disk, and the layer table. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImportedLayer, ImportedModel } from '../../src/ir/types';
import { normalize } from '../../src/ir/passes/normalize';
import { readModelIR, writeModelIR } from '../../src/ir/serialize';
import { formatLayerTable, layerStats } from '../../src/ir/table';
import { loadModel } from '../../src/importers';
import { opsReference } from '../../src/verify/reference';
import { KERAS_FIXTURES } from '../fixtures/location';

const t = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });

function layer(p: Partial<ImportedLayer> & Pick<ImportedLayer, 'name' | 'type' | 'inputs' | 'outputShape'>): ImportedLayer {
  return { inputShapes: [], activation: { kind: 'linear' }, weights: {}, ...p };
}

function model(layers: ImportedLayer[], outputs: string[]): ImportedModel {
  const byName = new Map(layers.map((l) => [l.name, l]));
  for (const l of layers) l.inputShapes = l.inputs.map((i) => byName.get(i)!.outputShape);
  return { name: 'm', source: { format: 'keras-json', file: 'm.json' }, layers, inputs: [layers[0].name], outputs };
}

const bnWeights = { gamma: t([2], [2, 0.5]), beta: t([2], [1, -1]), mean: t([2], [0.5, -0.25]), variance: t([2], [4, 0.25]) };

describe('passes', () => {
  it('foldBatchNorm scales the kernel per output channel and folds mean/beta into the bias', () => {
    const m = normalize(
      model(
        [
          layer({ name: 'in', type: 'input', inputs: [], outputShape: [3] }),
          layer({ name: 'fc', type: 'dense', inputs: ['in'], outputShape: [2], units: 2, useBias: true, weights: { kernel: t([3, 2], [1, 2, 3, 4, 5, 6]), bias: t([2], [0.1, 0.2]) } }),
          layer({ name: 'bn', type: 'batchnorm', inputs: ['fc'], outputShape: [2], epsilon: 0, weights: bnWeights }),
          layer({ name: 'act', type: 'activation', inputs: ['bn'], outputShape: [2], activation: { kind: 'relu' } }),
        ],
        ['act'],
      ),
    );
    assert.deepEqual(m.layers.map((l) => l.name), ['in', 'fc']);
    assert.deepEqual(m.outputs, ['fc']);
    assert.equal(m.layers[1].activation.kind, 'relu');
    // s = gamma / sqrt(var) = [1, 1]; t = beta - mean * s = [0.5, -0.75]
    assert.deepEqual(Array.from(m.layers[1].weights.kernel!.data), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(m.layers[1].weights.bias!.data), [Math.fround(0.6), Math.fround(-0.55)]);
  });

  it('a BatchNormalization that cannot fold (after the input, after an Add) becomes a layer the back ends have', () => {
    const m = normalize(
      model(
        [
          layer({ name: 'in', type: 'input', inputs: [], outputShape: [4, 4, 2] }),
          layer({ name: 'bn0', type: 'batchnorm', inputs: ['in'], outputShape: [4, 4, 2], epsilon: 0, weights: bnWeights }),
          layer({ name: 'sum', type: 'add', inputs: ['bn0', 'in'], outputShape: [4, 4, 2] }),
          layer({ name: 'bn1', type: 'batchnorm', inputs: ['sum'], outputShape: [4, 4, 2], epsilon: 0, weights: bnWeights }),
        ],
        ['bn1'],
      ),
    );
    const bn0 = m.layers.find((l) => l.name === 'bn0')!;
    assert.equal(bn0.type, 'depthwise_conv2d');
    assert.deepEqual(bn0.kernel, [1, 1]);
    assert.deepEqual(Array.from(bn0.weights.kernel!.data), [1, 1]);
    assert.deepEqual(Array.from(bn0.weights.bias!.data), [0.5, -0.75]);
    assert.equal(m.layers.find((l) => l.name === 'bn1')!.type, 'depthwise_conv2d');
    const vec = normalize(model([layer({ name: 'in', type: 'input', inputs: [], outputShape: [2] }), layer({ name: 'bn', type: 'batchnorm', inputs: ['in'], outputShape: [2], epsilon: 0, weights: bnWeights })], ['bn']));
    assert.equal(vec.layers[1].type, 'dense');
    assert.deepEqual(Array.from(vec.layers[1].weights.kernel!.data), [1, 0, 0, 1]);
  });

  it('a BatchNormalization does not fold into a layer another layer also reads', () => {
    const m = normalize(
      model(
        [
          layer({ name: 'in', type: 'input', inputs: [], outputShape: [2] }),
          layer({ name: 'fc', type: 'dense', inputs: ['in'], outputShape: [2], units: 2, useBias: false, weights: { kernel: t([2, 2], [1, 0, 0, 1]) } }),
          layer({ name: 'bn', type: 'batchnorm', inputs: ['fc'], outputShape: [2], epsilon: 0, weights: bnWeights }),
          layer({ name: 'sum', type: 'add', inputs: ['bn', 'fc'], outputShape: [2] }),
        ],
        ['sum'],
      ),
    );
    assert.deepEqual(Array.from(m.layers.find((l) => l.name === 'fc')!.weights.kernel!.data), [1, 0, 0, 1]);
    assert.equal(m.layers.find((l) => l.name === 'bn')!.type, 'dense');
  });

  it('dropDropout, splitSeparable and fuseActivation keep the graph wired and the names stable', () => {
    const m = normalize(
      model(
        [
          layer({ name: 'in', type: 'input', inputs: [], outputShape: [5, 5, 2] }),
          layer({ name: 'sep', type: 'separable_conv2d', inputs: ['in'], outputShape: [5, 5, 3], filters: 3, depthMultiplier: 1, kernel: [3, 3], strides: [1, 1], dilation: [1, 1], padding: 'same', useBias: true, weights: { kernel: t([3, 3, 2, 1], Array(18).fill(0.1)), pointwise: t([1, 1, 2, 3], [1, 2, 3, 4, 5, 6]), bias: t([3], [0, 0, 0]) } }),
          layer({ name: 'drop', type: 'dropout', inputs: ['sep'], outputShape: [5, 5, 3] }),
          layer({ name: 'act', type: 'activation', inputs: ['drop'], outputShape: [5, 5, 3], activation: { kind: 'tanh' } }),
          layer({ name: 'flat', type: 'flatten', inputs: ['act'], outputShape: [75] }),
        ],
        ['flat'],
      ),
    );
    assert.deepEqual(m.layers.map((l) => `${l.name}:${l.type}:${l.activation.kind}`), ['in:input:linear', 'sep_depthwise:depthwise_conv2d:linear', 'sep:conv2d:tanh', 'flat:flatten:linear']);
    assert.deepEqual(m.layers[2].inputs, ['sep_depthwise']);
    assert.deepEqual(m.layers[3].inputs, ['sep']);
    assert.deepEqual(m.layers.map((l) => l.loopNest), ['L00_in', 'L01_sep_depthwise', 'L02_sep', undefined]);
  });

  it('an activation is not fused into a layer that another layer also reads', () => {
    const m = normalize(
      model(
        [
          layer({ name: 'in', type: 'input', inputs: [], outputShape: [2] }),
          layer({ name: 'fc', type: 'dense', inputs: ['in'], outputShape: [2], units: 2, useBias: false, weights: { kernel: t([2, 2], [1, 0, 0, 1]) } }),
          layer({ name: 'relu', type: 'activation', inputs: ['fc'], outputShape: [2], activation: { kind: 'relu' } }),
          layer({ name: 'sum', type: 'add', inputs: ['relu', 'fc'], outputShape: [2] }),
        ],
        ['sum'],
      ),
    );
    assert.equal(m.layers.find((l) => l.name === 'fc')!.activation.kind, 'linear');
    assert.equal(m.layers.find((l) => l.name === 'relu')!.type, 'activation');
  });

  it('the folded IR computes what TF.js computes on the unfolded graph (a real Keras model with BatchNormalization)', async () => {
    const { importModel } = await import('../../src/importers/index.js');
    const file = join(KERAS_FIXTURES, 'hls4ml_3layer_batchnorm/KERAS_3layer_batch_norm.json');
    const imported = await importModel(file);
    const ir = normalize(imported);
    assert.ok(imported.layers.some((l) => l.type === 'batchnorm'));
    assert.ok(!ir.layers.some((l) => (l.type as string) === 'batchnorm'));
    // Run the folded IR through the same TF.js ops (as an imported graph without BN) and compare.
    const x = Float32Array.from({ length: 16 * 4 }, (_, i) => Math.sin(i));
    const unfolded = await opsReference(imported, 'cpu').predict(x, 4);
    const folded = await opsReference(ir as unknown as ImportedModel, 'cpu').predict(x, 4);
    for (let i = 0; i < unfolded.length; i++) assert.ok(Math.abs(unfolded[i] - folded[i]) < 1e-5);
  });
});

describe('the IR on disk and the layer table', () => {
  it('layers.json + weights/*.f32 round-trip exactly', async () => {
    const ir = await loadModel(join(KERAS_FIXTURES, 'tinymaix_mnist_cnn/mnist_dw.h5'));
    const dir = mkdtempSync(join(tmpdir(), 'dm-ir-'));
    try {
      writeModelIR(dir, ir);
      const json = JSON.parse(readFileSync(join(dir, 'layers.json'), 'utf8'));
      assert.equal(json.format, 'deepmaker-ir');
      assert.equal(json.layers[1].weights.kernel.file, 'weights/L01_ftr0a.kernel.f32');
      assert.deepEqual(readModelIR(dir), ir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints the seed's table with parameter and MAC counts", async () => {
    const ir = await loadModel(join(KERAS_FIXTURES, 'hls4ml_conv2d_model/KERAS_conv2d_model.json'));
    const table = formatLayerTable(ir);
    const lines = table.split('\n');
    assert.match(lines[0], /#\s+layer\s+type\s+padding\s+filters\s+kernel\s+stride\s+activation\s+input shape\s+output shape\s+params\s+MACs/);
    assert.match(table, /conv2d_1\s+conv2d\s+same\s+2\s+3x3\s+1x1\s+relu\s+8x8x1\s+8x8x2\s+20\s+1152/);
    const stats = layerStats(ir);
    assert.equal(stats.reduce((a, s) => a + s.params, 0), 20 + 128 * 10 + 10);
    assert.match(lines[lines.length - 1], /total\s+1310\s+2432/);
  });
});
