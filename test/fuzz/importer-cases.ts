/**
 * The importer fuzz cases, run in a worker thread (test/fuzz/importers.fuzz.test.ts watches it: a
 * case that never returns, e.g. a loop inside the HDF5 library, is stopped and reported, which a
 * test in the main thread could not do). workerData: { format, runs, seed }.
 *
 * Each case writes one corrupted model (and its companions) into a temporary folder and loads it
 * as `deepmaker convert` does (import, then the normalizing passes). The outcome must be a model or
 * a DeepMakerError whose message names one of the case's files; any other exception fails the case.
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { strToU8 } from 'fflate';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel } from '../../src/importers';
import { isDeepMakerError } from '../../src/util/errors';
import { cnnModel, saveTfjsModel, seqModel } from '../cgen/tfjs-models';
import { writeHdf5, type H5Node } from '../importers/h5-writer';
import { kerasV3Cnn, kerasV3Dense, writeKerasArchive } from '../importers/keras3-writer';
import { KERAS_FIXTURES } from '../fixtures/location';
import { byteOp, jsonOp, mutateBytes, mutateJson, mutateZip, zipOp, type ByteOp, type JsonOp } from './mutate';

export type Format = 'keras-h5' | 'keras-json' | 'keras-v3' | 'tfjs';
export interface CaseStats {
  format: Format;
  cases: number;
  imported: number;
  refused: number;
}

// A file the HDF5 library loops on is refused after this long (src/importers/hdf5.ts), not the 60 s default.
process.env.DEEPMAKER_HDF5_READ_LIMIT_MS ??= '1500';
const post = (m: unknown) => parentPort!.postMessage(m);
const { format, runs, seed } = workerData as { format: Format; runs: number; seed: number };
const work = mkdtempSync(join(tmpdir(), `dm-fuzz-${format}-`));
const stats: CaseStats = { format, cases: 0, imported: 0, refused: 0 };
let caseNo = 0;
/** DM_FUZZ_COLLECT=1 (exploration, not CI): record every bad outcome and go on instead of failing at the first. */
const collect = process.env.DM_FUZZ_COLLECT === '1';
const holes: string[] = [];

/** One case: `files` (name -> bytes) written into a fresh folder, then `model` loaded. */
async function runCase(files: Record<string, Uint8Array | string>, model: string, opts: { weights?: string } = {}, what = ''): Promise<void> {
  const dir = join(work, `case-${++caseNo}`);
  mkdirSync(dir);
  post({ t: 'case', n: caseNo, what });
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    try {
      await loadModel(join(dir, model), opts.weights ? { weights: join(dir, opts.weights) } : {});
      stats.imported++;
    } catch (e) {
      const names = Object.keys(files);
      const hole = !isDeepMakerError(e)
        ? `${what}: not a DeepMakerError: ${(e as Error)?.stack ?? String(e)}`
        : !names.some((n) => e.message.includes(n))
          ? `${what}: the error names none of the files ${names.join(', ')}: ${e.message}`
          : undefined;
      if (hole && !collect) throw new Error(hole);
      if (hole) holes.push(hole);
      else stats.refused++;
    }
    stats.cases++;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An HDF5 file as a tree writeHdf5 can write again (float32 datasets, string attributes). */
async function readTree(bytes: Uint8Array): Promise<H5Node> {
  const h5 = await import('h5wasm');
  await h5.ready;
  const path = `/fuzz-read-${process.pid}.h5`;
  h5.FS!.writeFile(path, bytes);
  const f = new h5.File(path, 'r');
  const walk = (g: any): H5Node => {
    const node: H5Node = { attrs: {}, groups: {}, datasets: {} };
    for (const [k, a] of Object.entries(g.attrs as Record<string, any>)) {
      const v = a.value;
      if (typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))) node.attrs![k] = v;
    }
    for (const k of g.keys() as string[]) {
      const c = g.get(k);
      if (c.type === 'Group') node.groups![k] = walk(c);
      // Scalars and non-numeric datasets are left out: writeHdf5 writes float32 arrays.
      else if (c.type === 'Dataset' && c.shape?.length && ArrayBuffer.isView(c.value)) node.datasets![k] = { shape: c.shape, data: Float32Array.from(c.value as ArrayLike<number>) };
    }
    return node;
  };
  const tree = walk(f);
  f.close();
  h5.FS!.unlink(path);
  return tree;
}

type H5Op = { op: 'config' | 'weightNames' | 'shape' | 'dropDataset' | 'dropGroup'; pick: number; json: JsonOp; value: unknown };
const h5Op: fc.Arbitrary<H5Op> = fc.record({
  op: fc.constantFrom('config', 'config', 'config', 'weightNames', 'shape', 'dropDataset', 'dropGroup'),
  pick: fc.nat(),
  json: jsonOp,
  value: fc.constantFrom([7], [1, 1, 1, 1, 1], [2, 3], [65536, 65536]),
});

/** Every group of a tree with its path. */
function groups(node: H5Node, path = ''): [string, H5Node][] {
  return [[path || '/', node], ...Object.entries(node.groups ?? {}).flatMap(([k, g]) => groups(g, `${path}/${k}`))];
}

/** A structured corruption of a Keras 2 full-model file: its model_config, weight_names, a dataset's shape, a dataset or group gone. */
function mutateTree(tree: H5Node, m: H5Op): H5Node {
  const t: H5Node = structuredClone(tree);
  const all = groups(t);
  const withData = all.filter(([, g]) => Object.keys(g.datasets ?? {}).length);
  const named = all.filter(([, g]) => g.attrs?.weight_names !== undefined);
  switch (m.op) {
    case 'config':
      t.attrs!.model_config = JSON.stringify(mutateJson(JSON.parse(String(t.attrs!.model_config)), m.json));
      break;
    case 'weightNames': {
      if (!named.length) break;
      const [, g] = named[m.pick % named.length];
      const v = m.json.value;
      g.attrs!.weight_names = Array.isArray(v) ? v.map(String) : String(v);
      break;
    }
    case 'shape':
    case 'dropDataset': {
      if (!withData.length) break;
      const [, g] = withData[m.pick % withData.length];
      const keys = Object.keys(g.datasets!);
      const k = keys[m.pick % keys.length];
      if (m.op === 'dropDataset') delete g.datasets![k];
      else {
        const shape = m.value as number[];
        const size = shape.reduce((a, b) => a * b, 1);
        // The data must fill the shape for HDF5 to take it; huge shapes are declared with one element per row.
        g.datasets![k] = size <= 1 << 16 ? { shape, data: new Float32Array(size) } : { shape: [shape[0], 1], data: new Float32Array(shape[0]) };
      }
      break;
    }
    case 'dropGroup': {
      const inner = all.filter(([p]) => p !== '/');
      if (!inner.length) break;
      const [p] = inner[m.pick % inner.length];
      const parent = all.find(([q]) => q === (p.slice(0, p.lastIndexOf('/')) || '/'))![1];
      delete parent.groups![p.slice(p.lastIndexOf('/') + 1)];
      break;
    }
  }
  return t;
}

const KERAS_H5 = ['tinymaix_mnist_cnn/mnist_valid.h5', 'hls4ml_unit_layers/conv2d_1layer/conv2d_1layer.h5', 'dl4j_cnn_batchnorm/cnn_batch_norm.h5', 'dl4j_conv1d/conv1d_k3_s1_d1_cl_same_model.h5', 'hls4ml_unit_layers/sigmoid/sigmoid.h5'];
const KERAS_JSON: [string, string][] = [
  ['hls4ml_keras_3layer/KERAS_3layer.json', 'hls4ml_keras_3layer/KERAS_3layer_weights.h5'],
  ['hls4ml_conv2d_model/KERAS_conv2d_model.json', 'hls4ml_conv2d_model/KERAS_conv2d_model_weights.h5'],
  ['hls4ml_3layer_batchnorm/KERAS_3layer_batch_norm.json', 'hls4ml_3layer_batchnorm/KERAS_3layer_batch_norm_weights.h5'],
  ['hls4ml_conv1d_small/KERAS_conv1d_small.json', 'hls4ml_conv1d_small/KERAS_conv1d_small_weights.h5'],
];

const short = (v: unknown) => JSON.stringify(v)?.slice(0, 300);
const params = { numRuns: 0, seed, endOnFailure: true };

async function main(): Promise<void> {
  const share = (k: number) => Math.round(runs * k);
  if (format === 'keras-h5') {
    const seeds = KERAS_H5.map((f) => ({ name: basename(f), bytes: new Uint8Array(readFileSync(join(KERAS_FIXTURES, f))) }));
    const trees = await Promise.all(seeds.slice(0, 3).map((s) => readTree(s.bytes)));
    await fc.assert(
      fc.asyncProperty(fc.nat(), byteOp, async (i, op) => {
        const s = seeds[i % seeds.length];
        await runCase({ [s.name]: mutateBytes(s.bytes, op) }, s.name, {}, `${s.name} ${short(op)}`);
      }),
      { ...params, numRuns: share(0.6) },
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(), h5Op, async (i, op) => {
        const k = i % trees.length;
        await runCase({ [`g${k}.h5`]: await writeHdf5(mutateTree(trees[k], op)) }, `g${k}.h5`, {}, `${seeds[k].name} rewritten ${short(op)}`);
      }),
      { ...params, numRuns: runs - share(0.6) },
    );
  } else if (format === 'keras-json') {
    const seeds = KERAS_JSON.map(([j, w]) => ({ json: JSON.parse(readFileSync(join(KERAS_FIXTURES, j), 'utf8')), text: new Uint8Array(readFileSync(join(KERAS_FIXTURES, j))), weights: new Uint8Array(readFileSync(join(KERAS_FIXTURES, w))), j: basename(j), w: basename(w) }));
    type Op = { kind: 'json'; op: JsonOp } | { kind: 'text' | 'weights'; op: ByteOp };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: jsonOp.map((op) => ({ kind: 'json' as const, op })) },
      { weight: 1, arbitrary: byteOp.map((op) => ({ kind: 'text' as const, op })) },
      { weight: 3, arbitrary: byteOp.map((op) => ({ kind: 'weights' as const, op })) },
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(), op, fc.boolean(), async (i, o, explicit) => {
        const s = seeds[i % seeds.length];
        const json = o.kind === 'json' ? strToU8(JSON.stringify(mutateJson(s.json, o.op))) : o.kind === 'text' ? mutateBytes(s.text, o.op) : s.text;
        const weights = o.kind === 'weights' ? mutateBytes(s.weights, o.op) : s.weights;
        // The weights by --weights, or found beside the config by its name.
        const w = explicit ? 'w.h5' : s.w;
        await runCase({ [s.j]: json, [w]: weights }, s.j, explicit ? { weights: w } : {}, `${s.j} ${o.kind} ${short(o.op)}`);
      }),
      { ...params, numRuns: runs },
    );
  } else if (format === 'keras-v3') {
    const seeds = [await writeKerasArchive(kerasV3Cnn(), 1), await writeKerasArchive(kerasV3Dense(), 1), await writeKerasArchive(kerasV3Cnn(), 1, false)];
    await fc.assert(
      fc.asyncProperty(fc.nat(), zipOp, async (i, op) => {
        await runCase({ 'model.keras': mutateZip(seeds[i % seeds.length], op) }, 'model.keras', {}, `seed ${i % seeds.length} ${short(op)}`);
      }),
      { ...params, numRuns: runs },
    );
  } else {
    const seeds: { json: any; text: Uint8Array; shards: Record<string, Uint8Array> }[] = [];
    for (const [k, make] of [cnnModel, seqModel].entries()) {
      const dir = join(work, `seed-${k}`);
      mkdirSync(dir);
      const file = await saveTfjsModel(make(), dir);
      const shards = Object.fromEntries(readdirSync(dir).filter((f) => f !== 'model.json').map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
      seeds.push({ json: JSON.parse(readFileSync(file, 'utf8')), text: new Uint8Array(readFileSync(file)), shards });
    }
    type Op = { kind: 'manifest' | 'topology'; op: JsonOp } | { kind: 'text' | 'shard'; op: ByteOp };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: jsonOp.map((op) => ({ kind: 'manifest' as const, op })) },
      { weight: 3, arbitrary: jsonOp.map((op) => ({ kind: 'topology' as const, op })) },
      { weight: 1, arbitrary: byteOp.map((op) => ({ kind: 'text' as const, op })) },
      { weight: 2, arbitrary: byteOp.map((op) => ({ kind: 'shard' as const, op })) },
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(), op, async (i, o) => {
        const s = seeds[i % seeds.length];
        const shards = { ...s.shards };
        let json: Uint8Array = s.text;
        if (o.kind === 'manifest') json = strToU8(JSON.stringify(mutateJson(s.json, o.op, ['weightsManifest'])));
        else if (o.kind === 'topology') json = strToU8(JSON.stringify(mutateJson(s.json, o.op, ['modelTopology'])));
        else if (o.kind === 'text') json = mutateBytes(s.text, o.op);
        else {
          const names = Object.keys(shards);
          const n = names[i % names.length];
          shards[n] = mutateBytes(shards[n], o.op as ByteOp);
        }
        await runCase({ 'model.json': json, ...shards }, 'model.json', {}, `seed ${i % seeds.length} ${o.kind} ${short(o.op)}`);
      }),
      { ...params, numRuns: runs },
    );
  }
}

main().then(
  () => {
    rmSync(work, { recursive: true, force: true });
    tf.disposeVariables();
    post({ t: 'done', stats, holes });
  },
  (e) => {
    rmSync(work, { recursive: true, force: true });
    const cause = (e as any)?.cause;
    post({ t: 'fail', message: `${(e as Error)?.message ?? String(e)}${cause ? `\ncause: ${cause?.stack ?? cause}` : ''}` });
  },
);
