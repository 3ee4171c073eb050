/**
 * Recurrent layers end to end in float: models built with tf.layers.lstm / gru / simpleRNN
 * (stacked, after Conv1D, go_backwards, return_sequences both ways, Bidirectional concat and sum,
 * TimeDistributed(Dense), every cell activation) are saved in the four formats the importers read;
 * each imports to the same IR, and the float C (strict flags) matches TF.js's predict within 1e-5.
 * What TF.js cannot build (GRU reset_after=True, Keras 3's hard_sigmoid) is checked against a
 * float64 reference of Keras's equations written in the tests. The hls4ml LSTM fixture matches a
 * TF.js LSTM layer holding its weights. Unsupported options are refused with what to do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { importModel, loadModel } from '../../src/importers';
import { normalize } from '../../src/ir/passes/normalize';
import { recurrentLoopNest } from '../../src/ir/recurrent';
import { readModelIR, writeModelIR } from '../../src/ir/serialize';
import { inferOutputShape } from '../../src/ir/shapes';
import type { ModelIR } from '../../src/ir/types';
import { isDeepMakerError } from '../../src/util/errors';
import { opsReference, referenceFor } from '../../src/verify/reference';
import { KERAS_FIXTURES } from '../fixtures/location';
import { describeModel, editLayerConfigs, writeKeras2Full, writeKeras2JsonWeights, writeKeras3, writeTfjs, type KerasModelFiles } from '../importers/recurrent-writers';
import { buildC, FIXED16, FLOAT, maxAbsDiff, runFloat } from './helpers';
import { act, cellForward, denseForward, FLOAT_MODELS, seeded, type Act, type CellSpec } from './recurrent-models';
import { randomInputs, saveTfjsModel, tfjsPredict } from './tfjs-models';

const SAMPLES = 10;
const TOL = 1e-5;

/** The parts of two IRs that must agree whatever the format (layer and input names differ between writers). */
function sameComputation(a: ModelIR, b: ModelIR, what: string): void {
  assert.equal(a.layers.length, b.layers.length, what);
  a.layers.forEach((la, i) => {
    const lb = b.layers[i];
    const strip = (l: any) => ({ type: l.type, inputShapes: l.inputShapes, outputShape: l.outputShape, activation: l.activation, units: l.units, recurrent: l.recurrent, useBias: l.useBias, axis: l.axis });
    assert.deepEqual(strip(la), strip(lb), `${what}: layer ${i} (${la.name} / ${lb.name})`);
    for (const slot of ['kernel', 'recurrentKernel', 'bias'] as const) {
      assert.deepEqual(la.weights[slot]?.shape, lb.weights[slot]?.shape, `${what}: ${la.name} ${slot} shape`);
      assert.deepEqual(la.weights[slot]?.data, lb.weights[slot]?.data, `${what}: ${la.name} ${slot}`);
    }
  });
}

/** Every hard_sigmoid of a model (layer and cell activations), to read or edit. */
function hardSigmoidsOf(m: ModelIR) {
  return m.layers.flatMap((l) => (l.recurrent ? [l.recurrent.activation, l.recurrent.recurrentActivation] : [l.activation])).filter((a) => a.kind === 'hard_sigmoid');
}

describe('recurrent layers: four formats, float C against TF.js', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-rnn-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, make] of Object.entries(FLOAT_MODELS)) {
    it(`${name}: TF.js, Keras 2 .h5, Keras JSON + weights and Keras 3 .keras import to the same IR; float C = TF.js predict within 1e-5`, async () => {
      const model = make();
      const sub = join(dir, name);
      mkdirSync(sub, { recursive: true });
      const files = describeModel(model);
      const tfjsFile = await saveTfjsModel(model, join(sub, 'tfjs'));
      const h5 = await writeKeras2Full(files, join(sub, 'model.h5'));
      const json = await writeKeras2JsonWeights(files, sub, 'model');
      // Keras 3 serializes a Bidirectional's wrapped layer as its forward layer and always adds backward_layer.
      const keras3 = await writeKeras3(files, join(sub, 'model.keras'), (_name, cls, cfg) => {
        if (cls !== 'Bidirectional') return;
        const inner = cfg.layer.config;
        cfg.backward_layer = { class_name: cfg.layer.class_name, config: { ...inner, name: `backward_${inner.name}`, go_backwards: !inner.go_backwards } };
        inner.name = `forward_${inner.name}`;
      });
      const ir = await loadModel(tfjsFile);
      for (const f of [h5, json]) sameComputation(ir, await loadModel(f), f);
      // The same config read as Keras 3 means Keras 3's hard_sigmoid (slope 1/6) wherever it says hard_sigmoid.
      const k3 = await loadModel(keras3);
      const hardSigmoids = hardSigmoidsOf(k3);
      assert.ok(hardSigmoids.every((a) => Math.abs(a.alpha! - 1 / 6) < 1e-15), 'Keras 3 hard_sigmoid has slope 1/6');
      for (const a of hardSigmoids) a.alpha = 0.2;
      sameComputation(ir, k3, keras3);
      const size = (model.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
      const x = randomInputs(SAMPLES, size, 13, -1.5, 1.5);
      const want = tfjsPredict(model, x, SAMPLES);
      const b = await buildC(ir, FLOAT, { storage: 'arrays' });
      const got = await runFloat(b, x, SAMPLES);
      assert.ok(maxAbsDiff(got, want) <= TOL, `float C vs TF.js: max abs error ${maxAbsDiff(got, want)}`);
      rmSync(b.dir, { recursive: true, force: true });
      // The TF.js reference the verify stage uses: tf.loadLayersModel on the TF.js file, ops over the imported graph otherwise.
      const viaLoader = await referenceFor(tfjsFile, await importModel(tfjsFile), { backend: 'cpu' });
      assert.match(viaLoader.engine, /loadLayersModel/);
      assert.ok(maxAbsDiff(await viaLoader.predict(x, SAMPLES), want) <= TOL);
      for (const f of hardSigmoids.length ? [h5, json] : [h5, json, keras3]) {
        const ops = opsReference(await importModel(f), 'cpu');
        assert.ok(maxAbsDiff(await ops.predict(x, SAMPLES), want) <= TOL, `TF.js ops over ${f}: ${maxAbsDiff(await ops.predict(x, SAMPLES), want)}`);
      }
    });
  }

  it('a stacked LSTM imports as a loop nest per gate; layers.json keeps the recurrent config and the recurrent kernel', async () => {
    const ir = normalize(await importModel(await saveTfjsModel(FLOAT_MODELS.lstmStack(), join(dir, 'ir'))));
    const lstm = ir.layers.find((l) => l.name === 'lstm_seq')!;
    assert.equal(lstm.type, 'lstm');
    assert.deepEqual(lstm.inputShapes, [[10, 4]]);
    assert.deepEqual(lstm.outputShape, [10, 6]);
    assert.deepEqual(inferOutputShape(lstm, lstm.inputShapes), [10, 6]);
    assert.deepEqual(ir.layers.find((l) => l.name === 'lstm_back')!.outputShape, [5]);
    const nest = recurrentLoopNest(lstm);
    assert.equal(nest.label, `${lstm.loopNest}_t`);
    assert.equal(nest.timeSteps, 10);
    assert.deepEqual(nest.stages.map((s) => s.label.slice(lstm.loopNest!.length + 1)), ['i', 'f', 'c', 'o', 'cell']);
    assert.deepEqual(nest.stages.map((s) => (s.kind === 'gate' ? [s.outputs, s.inputReduction, s.recurrentReduction, s.activation] : [s.what, s.elements])), [
      [6, 4, 6, 'hard_sigmoid'],
      [6, 4, 6, 'hard_sigmoid'],
      [6, 4, 6, 'tanh'],
      [6, 4, 6, 'hard_sigmoid'],
      ['cell', 6],
    ]);
    assert.equal(nest.macs, 10 * 4 * 6 * (4 + 6));
    const out = join(dir, 'ir-out');
    writeModelIR(out, ir);
    const back = readModelIR(out);
    assert.deepEqual(back.layers.find((l) => l.name === 'lstm_seq')!.recurrent, lstm.recurrent);
    assert.deepEqual(back.layers.find((l) => l.name === 'lstm_seq')!.weights.recurrentKernel!.data, lstm.weights.recurrentKernel!.data);
    const json = JSON.parse(readFileSync(join(out, 'layers.json'), 'utf8'));
    assert.equal(json.layers.find((l: any) => l.name === 'lstm_seq').macs, nest.macs);
    // GRU (reset_after false): the reset product sits between the r and h gates.
    const gru = normalize(await importModel(await saveTfjsModel(FLOAT_MODELS.gruStack(), join(dir, 'ir-gru')))).layers.find((l) => l.name === 'gru_seq')!;
    assert.deepEqual(recurrentLoopNest(gru).stages.map((s) => s.label.slice(gru.loopNest!.length + 1)), ['z', 'r', 'reset', 'h', 'cell']);
  });

  it('Bidirectional becomes forward and backward layers and a merge named like the wrapper; TimeDistributed(Dense) a Dense', async () => {
    const bi = await loadModel(await saveTfjsModel(FLOAT_MODELS.bidirectionalModel(), join(dir, 'bi')));
    assert.deepEqual(
      bi.layers.map((l) => `${l.name}:${l.type}`),
      ['seq:input', 'bi_lstm/forward:lstm', 'bi_lstm/backward:lstm', 'bi_lstm:concatenate', 'bi_gru/forward:gru', 'bi_gru/backward:gru', 'bi_gru:add', 'bi_rnn/forward:simple_rnn', 'bi_rnn/backward:simple_rnn', 'bi_rnn:concatenate', 'out:dense'],
    );
    const back = bi.layers.find((l) => l.name === 'bi_lstm/backward')!;
    assert.equal(back.recurrent!.goBackwards, true);
    assert.equal(back.recurrent!.reverseOutput, true);
    assert.equal(bi.layers.find((l) => l.name === 'bi_rnn/backward')!.recurrent!.reverseOutput, undefined);
    const gru = await loadModel(await saveTfjsModel(FLOAT_MODELS.gruStack(), join(dir, 'td')));
    const td = gru.layers.find((l) => l.name === 'td')!;
    assert.equal(td.type, 'dense');
    assert.deepEqual(td.outputShape, [9, 2]);
  });
});

/** A one-recurrent-layer model (+ Dense head) whose config TF.js cannot build, in Keras 2 and Keras 3 files. */
async function editedModel(dir: string, base: tf.LayersModel, edit: (name: string, cls: string, cfg: any) => void, weights?: (files: KerasModelFiles) => void) {
  const files = describeModel(base);
  editLayerConfigs(files.config, edit);
  weights?.(files);
  mkdirSync(dir, { recursive: true });
  return { files, h5: await writeKeras2Full(files, join(dir, 'm.h5')), json: await writeKeras2JsonWeights(files, dir, 'm'), keras3: await writeKeras3(files, join(dir, 'm.keras'), edit), tfjs: writeTfjs(files, dir) };
}

/** The float64 Keras reference of [recurrent, Dense] on `count` samples. */
function reference(files: KerasModelFiles, spec: Omit<CellSpec, 'kernel' | 'recurrentKernel' | 'bias'>, x: Float32Array, count: number, steps: number, features: number): number[] {
  const [cellW, denseW] = files.layers;
  const cell: CellSpec = { ...spec, kernel: cellW.weights[0].data, recurrentKernel: cellW.weights[1].data, bias: cellW.weights[2].data };
  const units = denseW.weights[0].shape[1];
  const out: number[] = [];
  for (let s = 0; s < count; s++) {
    const h = cellForward(cell, x.subarray(s * steps * features, (s + 1) * steps * features), steps, features);
    out.push(...denseForward(denseW.weights[0].data, denseW.weights[1].data, h, spec.units, units));
  }
  return out;
}

describe('recurrent layers TF.js cannot build', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-rnn-edit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const T = 7, F = 3, U = 4;
  const head = (layer: tf.layers.Layer) => {
    const m = tf.sequential();
    m.add(layer);
    m.add(tf.layers.dense({ units: 2, name: 'head' }));
    return m;
  };

  for (const [returnSequences, goBackwards] of [[false, false], [true, true]] as const) {
    it(`GRU reset_after=True (bias [2, 3u]${returnSequences ? ', sequence' : ''}${goBackwards ? ', backwards' : ''}): every format, float C and the TF.js ops reference = Keras's equations within 1e-5`, async () => {
      const base = head(tf.layers.gru({ inputShape: [T, F], units: U, returnSequences, goBackwards, recurrentActivation: 'sigmoid', name: 'gru_v3' }));
      const m = await editedModel(join(dir, `gru-${returnSequences}`), base, (name, _cls, cfg) => {
        if (name === 'gru_v3') cfg.reset_after = true;
      }, (files) => {
        const w = files.layers[0].weights;
        for (const [i, t] of w.entries()) w[i] = { ...t, data: seeded(t.data.length, 100 + i) };
        w[2] = { name: w[2].name, shape: [2, 3 * U], data: seeded(6 * U, 200) };
        files.layers[1].weights = files.layers[1].weights.map((t, i) => ({ ...t, data: seeded(t.data.length, 300 + i) }));
      });
      const x = randomInputs(SAMPLES, T * F, 21, -1.5, 1.5);
      const want = reference(m.files, { cell: 'gru', units: U, activation: 'tanh', recurrentActivation: 'sigmoid', returnSequences, goBackwards, resetAfter: true }, x, SAMPLES, T, F);
      const ir = await loadModel(m.h5);
      assert.equal(ir.layers[1].recurrent!.resetAfter, true);
      assert.deepEqual(ir.layers[1].weights.bias!.shape, [2, 12]);
      for (const f of [m.json, m.keras3, m.tfjs]) sameComputation(ir, await loadModel(f), f);
      const b = await buildC(ir, FLOAT);
      assert.ok(maxAbsDiff(await runFloat(b, x, SAMPLES), want) <= TOL, 'float C vs the Keras equations');
      // TF.js refuses reset_after; the verify stage then runs TF.js ops over the imported graph.
      await assert.rejects(tf.loadLayersModel(tf.io.fromMemory({ modelTopology: JSON.parse(readFileSync(m.tfjs, "utf8")).modelTopology })), /reset_after/);
      const ref = await referenceFor(m.tfjs, await importModel(m.tfjs), { backend: 'cpu' });
      assert.match(ref.engine, /ops over the imported graph/);
      assert.ok(maxAbsDiff(await ref.predict(x, SAMPLES), want) <= TOL, 'TF.js ops vs the Keras equations');
      rmSync(b.dir, { recursive: true, force: true });
    });
  }

  it("Keras 3's hard_sigmoid (relu6(x + 3) / 6) in a .keras file, Keras 2's (clip(0.2x + 0.5)) in the .h5, in LSTM gates and SimpleRNN", async () => {
    for (const cell of ['lstm', 'simple_rnn'] as const) {
      const layer = cell === 'lstm' ? tf.layers.lstm({ inputShape: [T, F], units: U, recurrentActivation: 'hardSigmoid', activation: 'tanh', name: 'cell' }) : tf.layers.simpleRNN({ inputShape: [T, F], units: U, activation: 'hardSigmoid', name: 'cell' });
      const base = head(layer);
      // seedWeights-like values large enough that the pre-activations reach the clipped ends of both definitions.
      const m = await editedModel(join(dir, `hsig-${cell}`), base, () => undefined, (files) => {
        for (const l of files.layers) l.weights = l.weights.map((t, i) => ({ ...t, data: seeded(t.data.length, 400 + i, 1.2) }));
      });
      const x = randomInputs(SAMPLES, T * F, 23, -2, 2);
      const spec = (hs: Act) => ({ cell, units: U, activation: (cell === 'lstm' ? 'tanh' : hs) as Act, recurrentActivation: (cell === 'lstm' ? hs : 'linear') as Act, returnSequences: false, goBackwards: false });
      const k2 = reference(m.files, spec('hard_sigmoid'), x, SAMPLES, T, F);
      const k3 = reference(m.files, spec('hard_sigmoid3'), x, SAMPLES, T, F);
      assert.ok(maxAbsDiff(k2, k3) > 1e-3, 'the two definitions differ on these inputs');
      for (const [file, want] of [[m.h5, k2], [m.keras3, k3]] as const) {
        const b = await buildC(await loadModel(file), FLOAT);
        assert.ok(maxAbsDiff(await runFloat(b, x, SAMPLES), want) <= TOL, `${cell} ${file}: ${maxAbsDiff(await runFloat(b, x, SAMPLES), want)}`);
        assert.ok(maxAbsDiff(await opsReference(await importModel(file), 'cpu').predict(x, SAMPLES), want) <= TOL);
        rmSync(b.dir, { recursive: true, force: true });
      }
    }
    assert.equal(act('hard_sigmoid3', 3), 1);
  });
});

describe('the hls4ml LSTM fixture', () => {
  it('converts; the float C equals a TF.js LSTM layer holding its weights within 1e-5 (JSON + weights and the full .h5)', async () => {
    const json = join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model.json');
    const h5 = join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model_weights.h5');
    const ir = await loadModel(json);
    sameComputation(ir, await loadModel(h5), h5);
    assert.deepEqual(ir.layers.map((l) => l.type), ['input', 'lstm', 'flatten', 'dense']);
    // The same network in TF.js's own layers, with the fixture's weights.
    const m = tf.sequential();
    m.add(tf.layers.lstm({ inputShape: [20, 6], units: 16, activation: 'relu', recurrentActivation: 'sigmoid', returnSequences: true }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 5, activation: 'softmax' }));
    const w = (l: number, slot: 'kernel' | 'recurrentKernel' | 'bias') => tf.tensor(ir.layers[l].weights[slot]!.data, ir.layers[l].weights[slot]!.shape);
    m.layers[0].setWeights([w(1, 'kernel'), w(1, 'recurrentKernel'), w(1, 'bias')]);
    m.layers[2].setWeights([w(3, 'kernel'), w(3, 'bias')]);
    const x = randomInputs(SAMPLES, 120, 29, -2, 2);
    const want = tfjsPredict(m, x, SAMPLES);
    const b = await buildC(ir, FLOAT, { storage: 'arrays' });
    const got = await runFloat(b, x, SAMPLES);
    assert.ok(maxAbsDiff(got, want) <= TOL, `max abs error ${maxAbsDiff(got, want)}`);
    assert.ok(Math.max(...got) - Math.min(...got) > 0.1, 'the outputs are not constant');
    const ref = await referenceFor(h5, await importModel(h5), { backend: 'cpu' });
    assert.ok(maxAbsDiff(await ref.predict(x, SAMPLES), want) <= TOL);
    rmSync(b.dir, { recursive: true, force: true });
    // Fixed point builds and runs clean under the sanitizers.
    for (const knobs of [FLOAT, FIXED16]) {
      const s = await buildC(ir, knobs, { sanitize: true });
      assert.ok((await runFloat(s, x, 3)).every(Number.isFinite));
      rmSync(s.dir, { recursive: true, force: true });
    }
  });
});

describe('recurrent options the converter refuses', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-rnn-bad-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fixture = () => JSON.parse(readFileSync(join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model.json'), 'utf8'));
  const weights = join(KERAS_FIXTURES, 'hls4ml_lstm/KERAS_lstm_model_weights.h5');
  const refuse = async (edit: (cfg: any) => void, ...patterns: RegExp[]) => {
    const cfg = fixture();
    edit(cfg);
    const f = join(dir, `m${Math.random().toString(36).slice(2, 8)}.json`);
    writeFileSync(f, JSON.stringify(cfg));
    await assert.rejects(importModel(f, { weights }), (e: Error) => {
      assert.ok(isDeepMakerError(e), `${e.name}: ${e.message}`);
      for (const p of patterns) assert.match(e.message, p);
      return true;
    });
  };

  it('stateful, return_state, time_major, masking, other activations, Bidirectional without a merge, TimeDistributed(Conv1D)', async () => {
    await refuse((c) => (c.config.layers[1].config.stateful = true), /\(lstm_lstm\): layer 'lstm_lstm' \(LSTM\) is stateful/, /stateful=False/);
    await refuse((c) => (c.config.layers[1].config.return_state = true), /layer 'lstm_lstm' \(LSTM\) returns its state/);
    await refuse((c) => (c.config.layers[1].config.time_major = true), /time-major/);
    await refuse((c) => (c.config.layers[1].config.activation = 'softmax'), /layer 'lstm_lstm' \(LSTM\): activation 'softmax' is not supported in a recurrent cell/, /tanh, sigmoid, hard_sigmoid, relu, linear/);
    await refuse((c) => {
      c.config.layers.splice(1, 0, { class_name: 'Masking', name: 'mask', config: { name: 'mask', mask_value: 0 }, inbound_nodes: [[['input_1', 0, 0, {}]]] });
      c.config.layers[2].inbound_nodes = [[['mask', 0, 0, {}]]];
    }, /\(mask\): layer 'mask' \(Masking\) skips masked time steps/, /remove the Masking layer/);
    await refuse((c) => {
      const l = c.config.layers[1];
      c.config.layers[1] = { class_name: 'Bidirectional', name: 'bi', config: { name: 'bi', merge_mode: null, layer: { class_name: 'LSTM', config: l.config } }, inbound_nodes: l.inbound_nodes };
      c.config.layers[2].inbound_nodes = [[['bi', 0, 0, {}]]];
    }, /layer 'bi' \(Bidirectional\): merge_mode null is not supported \(concat, sum, ave, mul\)/, /merge_mode=None gives two outputs/);
    await refuse((c) => {
      const l = c.config.layers[1];
      c.config.layers[1] = { class_name: 'TimeDistributed', name: 'td', config: { name: 'td', layer: { class_name: 'Conv1D', config: {} } }, inbound_nodes: l.inbound_nodes };
      c.config.layers[2].inbound_nodes = [[['td', 0, 0, {}]]];
    }, /layer 'td' \(TimeDistributed\) wraps a Conv1D/);
  });

  it('ReLU with a threshold is ThresholdedReLU (x > threshold ? x : 0); with a negative slope it is refused', async () => {
    const cfg = JSON.parse(readFileSync(join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer.json'), 'utf8'));
    const layers: any[] = cfg.config.layers;
    const at = layers.findIndex((l) => l.class_name === 'Dense');
    layers[at].config.activation = 'linear';
    const relu = { class_name: 'ReLU', name: 'thr', config: { name: 'thr', threshold: 0.25, negative_slope: 0, max_value: null }, inbound_nodes: [[[layers[at].name, 0, 0, {}]]] };
    const reader = layers.find((l) => JSON.stringify(l.inbound_nodes ?? []).includes(`"${layers[at].name}"`));
    layers.splice(at + 1, 0, relu);
    reader.inbound_nodes = [[['thr', 0, 0, {}]]];
    const f = join(dir, 'thr.json');
    writeFileSync(f, JSON.stringify(cfg));
    const w = join(KERAS_FIXTURES, 'hls4ml_keras_3layer/KERAS_3layer_weights.h5');
    const ir = await loadModel(f, { weights: w });
    const host = ir.layers.find((l) => l.name === layers[at].name)!;
    // A linear Dense followed by the ReLU: fused into the Dense as its activation.
    assert.deepEqual(host.activation, { kind: 'thresholded_relu', theta: 0.25 });
    const x = randomInputs(SAMPLES, 16, 3, -1, 1);
    const want = await opsReference(await importModel(f, { weights: w }), 'cpu').predict(x, SAMPLES);
    const b = await buildC(ir, FLOAT);
    assert.ok(maxAbsDiff(await runFloat(b, x, SAMPLES), want) <= TOL);
    rmSync(b.dir, { recursive: true, force: true });
    relu.config.negative_slope = 0.1;
    writeFileSync(f, JSON.stringify(cfg));
    await assert.rejects(importModel(f, { weights: w }), /layer 'thr' \(ReLU\): threshold=0.25 together with negative_slope=0.1 is not supported/);
  });
});

void act;
