/**
 * The four formats, recognised by content: Keras 3 .keras (functional and Sequential, both
 * endpoint spellings), TF.js layers (with its shards), Keras 2 HDF5 whatever its extension, and
 * HDF5 weights mapped by `weight_names` order rather than by key order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectFormat, importModel, loadModel } from '../../src/importers';
import { toSnakeCase } from '../../src/importers/keras-v3';
import { opsReference } from '../../src/verify/reference';
import { randomInputs, saveTfjsModel, tfjsPredict } from '../cgen/tfjs-models';
import { writeHdf5 } from './h5-writer';
import { kerasV3Cnn, kerasV3Dense, writeKerasArchive } from './keras3-writer';
import { KERAS_FIXTURES } from '../fixtures/location';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('model formats', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-formats-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("Keras's to_snake_case", () => {
    assert.equal(toSnakeCase('Conv2D'), 'conv2d');
    assert.equal(toSnakeCase('BatchNormalization'), 'batch_normalization');
    assert.equal(toSnakeCase('DepthwiseConv2D'), 'depthwise_conv2d');
    assert.equal(toSnakeCase('GlobalAveragePooling2D'), 'global_average_pooling2d');
    assert.equal(toSnakeCase('ReLU'), 're_lu');
    assert.equal(toSnakeCase('InputLayer'), 'input_layer');
  });

  for (const [name, make, flat] of [['functional', kerasV3Cnn, true], ['functional, nested endpoints', kerasV3Cnn, false], ['Sequential', kerasV3Dense, true]] as const) {
    it(`Keras 3 .keras (${name}): weights by class-name groups in layer order; imported graph computes what TF.js computes`, async () => {
      const model = make();
      const f = join(dir, `m-${name.replace(/\W+/g, '_')}.keras`);
      writeFileSync(f, await writeKerasArchive(model, 1, flat));
      assert.equal(detectFormat(readFileSync(f), f), 'zip');
      const imported = await importModel(f);
      assert.equal(imported.source.format, 'keras-v3');
      const size = (model.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
      const x = randomInputs(6, size, 3);
      const want = tfjsPredict(model, x, 6);
      const got = await opsReference(imported, 'cpu').predict(x, 6);
      assert.ok(maxAbsDiff(got, want) <= 1e-5, `max abs error ${maxAbsDiff(got, want)}`);
      const ir = await loadModel(f);
      assert.ok(!ir.layers.some((l) => (l.type as string) === 'batchnorm' || (l.type as string) === 'dropout'));
    });
  }

  it('TF.js layers model.json with its shards, recognised by content', async () => {
    const model = kerasV3Dense();
    const sub = join(dir, 'tfjs');
    const file = await saveTfjsModel(model, sub);
    const renamed = join(sub, 'topology.data');
    copyFileSync(file, renamed);
    assert.equal(detectFormat(readFileSync(renamed), renamed), 'tfjs-json');
    const ir = await loadModel(renamed);
    assert.equal(ir.source.format, 'tfjs-layers');
    assert.deepEqual(ir.layers.map((l) => l.type), ['input', 'dense', 'dense', 'dense']);
    assert.deepEqual(Array.from(ir.layers[1].weights.kernel!.data), Array.from(model.layers[0].getWeights()[0].dataSync()));
  });

  it('TF.js weights quantized by the converter (uint8 with scale/min, float16) are dequantized', async () => {
    const model = kerasV3Dense();
    const sub = join(dir, 'tfjs-q');
    const file = await saveTfjsModel(model, sub);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    const specs = json.weightsManifest[0].weights as { name: string; shape: number[]; dtype: string; quantization?: unknown }[];
    const floats = new Float32Array(readFileSync(join(sub, json.weightsManifest[0].paths[0])).buffer.slice(0));
    // Re-encode: the first weight as uint8 (v = q * scale + min), the second as float16, the rest as they are.
    const parts: Buffer[] = [];
    let off = 0;
    const want: number[][] = [];
    specs.forEach((w, i) => {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const v = floats.subarray(off, off + n);
      off += n;
      if (i === 0) {
        const min = Math.min(...v), max = Math.max(...v), scale = (max - min) / 255;
        const q = Uint8Array.from(v, (x) => Math.round((x - min) / scale));
        w.quantization = { dtype: 'uint8', scale, min };
        parts.push(Buffer.from(q));
        want.push(Array.from(q, (x) => Math.fround(x * scale + min)));
      } else if (i === 1) {
        const h = Uint16Array.from(v, () => 0x3c00); // 1.0 in IEEE half precision
        w.quantization = { dtype: 'float16' };
        parts.push(Buffer.from(h.buffer));
        want.push(Array.from(v, () => 1));
      } else {
        parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
        want.push(Array.from(v));
      }
    });
    json.weightsManifest[0].paths = ['q.bin'];
    writeFileSync(join(sub, 'q.bin'), Buffer.concat(parts));
    writeFileSync(join(sub, 'q.json'), JSON.stringify(json));
    const ir = await loadModel(join(sub, 'q.json'));
    assert.deepEqual(Array.from(ir.layers[1].weights.kernel!.data), want[0]);
    assert.deepEqual(Array.from(ir.layers[1].weights.bias!.data), want[1]);
    assert.deepEqual(Array.from(ir.layers[2].weights.kernel!.data), want[2]);
  });

  it('a Keras 2 HDF5 renamed without extension is still read as HDF5', async () => {
    const f = join(dir, 'model_without_extension');
    copyFileSync(join(KERAS_FIXTURES, 'dl4j_cnn_batchnorm/cnn_batch_norm.h5'), f);
    const ir = await loadModel(f);
    assert.equal(ir.source.format, 'keras-h5');
    assert.equal(ir.source.kerasVersion, '2.1.3');
  });

  it('HDF5 weights follow the weight_names attribute, not the alphabetical key order', async () => {
    // Dataset names that are not kernel/bias, listed bias-last but sorting bias-first ("a" < "z").
    const cfg = { class_name: 'Sequential', config: [{ class_name: 'Dense', config: { name: 'fc', units: 3, activation: 'linear', use_bias: true, batch_input_shape: [null, 2] } }], keras_version: '2.0.0', backend: 'tensorflow' };
    const kernel = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const bias = Float32Array.from([0.5, -0.5, 0.25]);
    const h5 = await writeHdf5({
      attrs: { layer_names: ['fc'] },
      groups: { fc: { attrs: { weight_names: ['fc/z_first:0', 'fc/a_second:0'] }, groups: { fc: { datasets: { 'z_first:0': { shape: [2, 3], data: kernel }, 'a_second:0': { shape: [3], data: bias } } } } } },
    });
    const json = join(dir, 'order.json');
    const weights = join(dir, 'order_weights.h5');
    writeFileSync(json, JSON.stringify(cfg));
    writeFileSync(weights, h5);
    const ir = await loadModel(json);
    assert.deepEqual(Array.from(ir.layers[1].weights.kernel!.data), Array.from(kernel));
    assert.deepEqual(Array.from(ir.layers[1].weights.bias!.data), Array.from(bias));
  });

  it('a full-model HDF5 given as the weights of a JSON config (the hls4ml LSTM layout) is read under /model_weights', async () => {
    const cfg = JSON.parse(readFileSync(join(KERAS_FIXTURES, 'dl4j_conv1d/conv1d_k3_s1_d1_cl_same_config.json'), 'utf8'));
    const json = join(dir, 'conv.json');
    writeFileSync(json, JSON.stringify(cfg));
    const ir = await loadModel(json, { weights: join(KERAS_FIXTURES, 'dl4j_conv1d/conv1d_k3_s1_d1_cl_same_model.h5') });
    assert.deepEqual(ir.layers[1].weights.kernel!.shape, [3, 3, 4]);
  });
});
