/**
 * Bad input gives a DeepMakerError naming the file and the layer and saying what to do: a corrupt
 * or truncated HDF5, a truncated .keras zip, a missing weight dataset, a weight shape mismatch, an
 * unsupported layer, a weights-only file given as the model, a file that is no model at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importModel, loadModel } from '../../src/importers';
import { isDeepMakerError } from '../../src/util/errors';
import { Hdf5Reader } from '../../src/importers/hdf5';
import { writeHdf5 } from './h5-writer';
import { writeKerasArchive, kerasV3Dense } from './keras3-writer';
import { KERAS_FIXTURES } from '../fixtures/location';

function expectError(p: Promise<unknown>, ...patterns: RegExp[]) {
  return assert.rejects(p, (e: Error) => {
    assert.ok(isDeepMakerError(e), `a DeepMakerError, got ${e.name}: ${e.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return true;
  });
}

describe('bad input', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-bad-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a truncated HDF5 file', async () => {
    const full = readFileSync(join(KERAS_FIXTURES, 'tinymaix_mnist_cnn/mnist_dw.h5'));
    const f = join(dir, 'truncated.h5');
    writeFileSync(f, full.subarray(0, 40000));
    await expectError(importModel(f), /truncated\.h5: cannot open the HDF5 file: truncated file/, /corrupt or truncated/);
  });

  it('an HDF5 signature followed by garbage', async () => {
    const f = join(dir, 'garbage.h5');
    const bytes = Buffer.alloc(4096, 0x5a);
    Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
    writeFileSync(f, bytes);
    await expectError(importModel(f), /garbage\.h5: cannot open the HDF5 file/, /hint:/);
  });

  it('a file that is no model at all, whatever its extension', async () => {
    const f = join(dir, 'model.h5');
    writeFileSync(f, Buffer.from('GIF89a this is a picture'));
    await expectError(importModel(f), /model\.h5: not a model file this tool reads \(first bytes: 47 49 46 38/, /Keras \.h5/);
  });

  it('a truncated .keras zip', async () => {
    const good = await writeKerasArchive(kerasV3Dense(), 1);
    const f = join(dir, 'cut.keras');
    writeFileSync(f, good.subarray(0, Math.floor(good.length * 0.6)));
    await expectError(importModel(f), /cut\.keras: cannot read the \.keras archive: .*truncated or corrupt/, /save the model again/);
  });

  it('a missing weight dataset (listed in weight_names, absent from the group)', async () => {
    const json = join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer.json');
    const original = readFileSync(join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer_weights.h5'));
    // Rebuild the weights file with fc2's bias dataset left out.
    const r = await Hdf5Reader.open(original, 'orig');
    const groups: Record<string, any> = {};
    for (const layer of r.keys('/')) {
      const names = (r.attr(`/${layer}`, 'weight_names') as string[] | undefined) ?? [];
      const datasets: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const wn of names) {
        if (layer === 'fc2_relu' && wn.includes('bias')) continue;
        const d = r.dataset(`/${layer}/${wn}`)!;
        datasets[wn.split('/')[1]] = { shape: d.shape, data: d.readFloat32() };
      }
      groups[layer] = { attrs: { weight_names: names }, groups: names.length ? { [names[0].split('/')[0]]: { datasets } } : {} };
    }
    r.close();
    const w = join(dir, 'missing_weights.h5');
    writeFileSync(w, await writeHdf5({ attrs: { keras_version: '2.0.0', backend: 'tensorflow' }, groups }));
    await expectError(loadModel(json, { weights: w }), /missing_weights\.h5 \(fc2_relu\): layer 'fc2_relu' \(Dense\): the weight dataset \/fc2_relu\/fc2_relu\/bias:0 listed in weight_names is missing/);
  });

  it('a missing layer group', async () => {
    const json = join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer.json');
    const w = join(dir, 'other_weights.h5');
    writeFileSync(w, await writeHdf5({ groups: { something_else: { attrs: { weight_names: [] } } } }));
    await expectError(loadModel(json, { weights: w }), /no weights for layer 'fc1_relu' \(Dense\)/, /its layer groups are: something_else/);
  });

  it('a weight shape mismatch (config and weights from different models)', async () => {
    const cfg = JSON.parse(readFileSync(join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer.json'), 'utf8'));
    const fc1 = cfg.config.layers.find((l: any) => l.name === 'fc1_relu');
    fc1.config.units = 60;
    const json = join(dir, 'KERAS_3layer_changed.json');
    writeFileSync(json, JSON.stringify(cfg));
    await expectError(
      loadModel(json, { weights: join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer_weights.h5') }),
      /\(fc1_relu\): layer 'fc1_relu' \(Dense\): weight kernel at \/fc1_relu\/fc1_relu\/kernel:0 has shape \[16, 64\], expected \[16, 60\]/,
      /does not match the model config/,
    );
  });

  it('an unsupported layer (CuDNNLSTM) names the layer, its type and the supported types', async () => {
    const cfg = JSON.parse(readFileSync(join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model.json'), 'utf8'));
    cfg.config.layers[1].class_name = 'CuDNNLSTM';
    const json = join(dir, 'cudnn.json');
    writeFileSync(json, JSON.stringify(cfg));
    await expectError(
      importModel(json, { weights: join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model_weights.h5') }),
      /\(lstm_lstm\): layer 'lstm_lstm' has type CuDNNLSTM, which is not supported \(of the recurrent layers, LSTM, GRU, SimpleRNN, Bidirectional and TimeDistributed\(Dense\) are converted\)/,
      /supported layer types: Activation, .*Conv2D, .*Dense, .*GRU, .*LSTM/,
    );
  });

  it('a weights-only HDF5 given as the model', async () => {
    await expectError(importModel(join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer_weights.h5')), /holds weights only/, /--weights/);
  });

  it('a Keras JSON whose weights cannot be found', async () => {
    const json = join(dir, 'lonely.json');
    copyFileSync(join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer.json'), json);
    await expectError(importModel(json), /lonely\.json: a Keras JSON config needs its weights/, /--weights/);
  });

  it('an input shape with unknown dimensions', async () => {
    const cfg = JSON.parse(readFileSync(join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer.json'), 'utf8'));
    cfg.config.layers[0].config.batch_input_shape = [null, null];
    const json = join(dir, 'dyn.json');
    writeFileSync(json, JSON.stringify(cfg));
    await expectError(importModel(json, { weights: join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer_weights.h5') }), /input 'input_1' has shape \[None\]; every dimension must be known/);
  });

  it('invalid JSON is located by line and column', async () => {
    const json = join(dir, 'broken.json');
    writeFileSync(json, '{\n  "class_name": "Sequential",\n  "config": [,]\n}');
    await expectError(importModel(json), /broken\.json:3:\d+: invalid JSON/);
  });
});
