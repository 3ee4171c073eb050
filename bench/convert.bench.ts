/**
 * DeepHLS figures: conversion time (model file -> IR + C) and C inference throughput against
 * TensorFlow.js (wasm backend) on the same model and the same 2,000 MNIST test images.
 *  - models: LeNet-5 written by TF.js (random weights: speed does not depend on them), the hls4ml
 *    MNIST MLP (Keras JSON + HDF5), TinyMaix's MNIST CNN with depthwise convolutions (Keras HDF5),
 *    a sequential-MNIST LSTM written by TF.js (28 steps of 28 pixels, LSTM(32) -> Dense(10));
 *  - C: gcc -O2 with the strict flags, weights in arrays, float and fixed<16,6>; images/s from the
 *    CPU time the harness spends in dm_infer (file I/O excluded) and from the wall time of the run;
 *  - TF.js: model.predict in batches of 256 and one image at a time, after a warm-up.
 * Medians of 3 runs; the load average is recorded (the machine is shared).
 * Usage: npm run bench -- convert
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { convertModel } from '../src/cgen/convert';
import { DEFAULT_KNOBS, type NumberKnobs } from '../src/qmodel/precision';
import { importModel } from '../src/importers';
import { referenceFor } from '../src/verify/reference';
import { compileHarness, runHarness } from '../src/verify/run-c';
import { silentLogger } from '../src/util/log';
import { saveModel } from '../src/nn/save';
import { mnistSample } from './mnist-sample';
import { KERAS_FIXTURES } from '../test/fixtures/location';
import { recordBench, timed } from './util';

const N = 2000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function lenet5(): tf.LayersModel {
  const L = tf.layers;
  const m = tf.sequential({ name: 'lenet5' });
  m.add(L.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }));
  m.add(L.maxPooling2d({ poolSize: 2 }));
  m.add(L.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }));
  m.add(L.maxPooling2d({ poolSize: 2 }));
  m.add(L.flatten());
  m.add(L.dense({ units: 120, activation: 'relu' }));
  m.add(L.dense({ units: 84, activation: 'relu' }));
  m.add(L.dense({ units: 10, activation: 'softmax' }));
  return m;
}

/** Sequential MNIST: each image as 28 time steps of 28 pixels. */
function mnistLstm(): tf.LayersModel {
  const m = tf.sequential({ name: 'mnist_lstm' });
  m.add(tf.layers.lstm({ inputShape: [28, 28], units: 32, recurrentActivation: 'sigmoid' }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  return m;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'dm-bench-convert-'));
  const load = [loadavg()[0]];
  try {
    await saveModel(lenet5(), join(work, 'lenet5'));
    await saveModel(mnistLstm(), join(work, 'lstm'));
    const models = [
      { name: 'lenet5 (TF.js layers)', file: join(work, 'lenet5', 'model.json') },
      { name: 'hls4ml MNIST MLP (Keras JSON + HDF5)', file: join(KERAS_FIXTURES, 'hls4ml_mnist_mlp/KERAS_mnist_mlp.json') },
      { name: 'TinyMaix MNIST depthwise CNN (Keras HDF5)', file: join(KERAS_FIXTURES, 'tinymaix_mnist_cnn/mnist_dw.h5') },
      { name: 'sequential-MNIST LSTM(32), 28 steps x 28 pixels (TF.js layers)', file: join(work, 'lstm', 'model.json') },
    ];
    const mnist = mnistSample('t10k', 0, N);
    const results: Record<string, unknown>[] = [];
    for (const m of models) {
      const convertSeconds: number[] = [];
      let outDir = '';
      let conv: Awaited<ReturnType<typeof convertModel>> | undefined;
      for (let i = 0; i < 3; i++) {
        outDir = join(work, `c-${results.length}-${i}`);
        const [c, s] = await timed(() => convertModel({ file: m.file, outDir, spec: { format: 'float', weightStorage: 'arrays' }, log: silentLogger }));
        conv = c;
        convertSeconds.push(s);
      }
      const inputSize = conv!.report.inputSize as number;
      const x = inputSize === 784 ? mnist.x : mnist.x;
      const c: Record<string, unknown> = {};
      for (const [label, knobs] of [['float', { ...DEFAULT_KNOBS, mode: 'float' }], ['fixed<16,6>', { ...DEFAULT_KNOBS, mode: 'fixed' }]] as [string, NumberKnobs][]) {
        const [exe, compileSeconds] = await timed(() => compileHarness(outDir, { knobs, exe: `h-${label.replace(/\W/g, '')}` }));
        const cpu: number[] = [], wall: number[] = [];
        for (let i = 0; i < 3; i++) {
          const [r, w] = await timed(() => runHarness(exe, outDir, x, N, inputSize, conv!.report.outputSize as number, { tag: `b${i}` }));
          cpu.push(r.inferenceSeconds);
          wall.push(w);
        }
        c[label] = { compileSeconds: r3(compileSeconds), imagesPerSecondInference: Math.round(N / median(cpu)), imagesPerSecondWall: Math.round(N / median(wall)) };
      }
      const imported = await importModel(m.file);
      const ref = await referenceFor(m.file, imported, { backend: 'wasm' });
      await ref.predict(x.subarray(0, 256 * inputSize), 256);
      const batch: number[] = [];
      for (let i = 0; i < 3; i++) batch.push((await timed(() => ref.predict(x, N)))[1]);
      let single = 0;
      const singles = 200;
      for (let i = 0; i < singles; i++) single += (await timed(() => ref.predict(x.subarray(i * inputSize, (i + 1) * inputSize), 1)))[1];
      results.push({
        model: m.name,
        params: conv!.report.params,
        macs: conv!.report.macs,
        layers: (conv!.report.layers as unknown[]).length,
        convertSeconds: r3(median(convertSeconds)),
        c,
        tfjs: { engine: ref.engine, backend: ref.backend, imagesPerSecondBatch256: Math.round(N / median(batch)), imagesPerSecondBatch1: Math.round(singles / single) },
      });
      load.push(loadavg()[0]);
    }
    recordBench('convert', { images: N, cc: 'gcc -O2 -std=c99 -pedantic -Wall -Wextra -Werror', results, loadAverage: load.map((l) => Math.round(l * 100) / 100) });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
