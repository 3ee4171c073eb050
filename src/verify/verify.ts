/**
 * Verification of the generated C: it is compiled with the host compiler, run through the
 * file-to-memory harness on the samples, and compared with the reference (TensorFlow.js on the same
 * weights, or golden vectors), in float and in fixed point; then a precision sweep (accuracy vs
 * total bits) and a per-layer trace diff of fixed against float.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateC, writeGeneratedC, describeKnobs, type GeneratedC } from '../cgen';
import { MAC_TYPES, type BitsInteger, type NumberKnobs } from '../qmodel/precision';
import type { ImportedModel, ModelIR } from '../ir/types';
import { isRecurrent } from '../ir/recurrent';
import { formatName } from '../numerics/fixed';
import type { Logger } from '../util/log';
import { agreement, argmaxRows, maxAbsError } from './metrics';
import { referenceFor } from './reference';
import { compileHarness, runHarness } from './run-c';
import { diffTraces, integerBitsFor, layerSlices, type TraceDiff, type TraceLayer } from './trace';

export interface VerifyOptions {
  model: ModelIR;
  /** The imported graph and its file, for the TF.js reference (unused when `expected` is given). */
  imported?: ImportedModel;
  modelFile?: string;
  x: Float32Array;
  count: number;
  labels?: Int32Array;
  /** Golden outputs: the reference instead of TF.js. */
  expected?: { values: Float32Array; file: string };
  /** The fixed-point knobs to verify (the converted model's). */
  fixed: NumberKnobs;
  sweep: number[];
  tolerance: number;
  compiler?: string;
  workDir: string;
  log: Logger;
  traceSamples?: number;
  /** Samples used to pick the integer bits of each sweep width (the chosen split then runs on all). */
  searchSamples?: number;
  /** Integer-bit candidates around the observed need: ±searchRadius for weights and activations. */
  searchRadius?: number;
  /** Samples that choose each sweep width's integer bits (e.g. the validation split); default: the first `searchSamples` of x. */
  search?: { x: Float32Array; count: number; labels?: Int32Array };
  backend?: 'auto' | 'wasm' | 'cpu';
  /** Also build both modes with -fsanitize=address,undefined and run this many samples (0 = skip). */
  sanitizeSamples?: number;
}

export interface SweepEntry {
  bits: number;
  weights: string;
  biases: string;
  activations: string;
  /** Accuracy against the labels (when there are labels). */
  accuracy?: number;
  /** Top-1 agreement with the reference. */
  top1Agreement: number;
  /** How many integer-bit splits were tried for this width. */
  tried: number;
}

export interface VerifyResult {
  samples: number;
  reference: { kind: 'tensorflow.js' | 'expected'; engine?: string; backend?: string; file?: string; accuracy?: number };
  float: { top1Agreement: number; maxAbsError: number; accuracy?: number; imagesPerSecond: number };
  fixed: { format: string; knobs: NumberKnobs; top1Agreement: number; accuracy?: number; maxAbsErrorVsFloat?: number; imagesPerSecond: number };
  sweep: SweepEntry[];
  trace: TraceDiff;
  /** Integer bits the observed values need, per tensor class (what the sweep starts from). */
  observedIntegerBits: { weights: number; biases: number; activations: number };
  /** Where each sweep width's integer bits were chosen. */
  sweepSearch: { samples: number; on: 'validation' | 'the verified samples'; splitsPerWidth: number };
  /** Float and fixed builds with AddressSanitizer + UndefinedBehaviorSanitizer: 'clean' or the first report. */
  sanitizers?: { samples: number; float: string; fixed: string };
  /** The raw outputs of the float and fixed runs (not part of the report). */
  outputs: { float: Float32Array; fixed: Float32Array; width: number };
}

function withFormats(base: NumberKnobs, w: BitsInteger, b: BitsInteger, a: BitsInteger): NumberKnobs {
  return { ...base, mode: 'fixed', weights: w, biases: b, activations: a };
}

/** The layers whose fixed-point output is logits where the float output is a softmax. */
function traceLayers(model: ModelIR, gen: GeneratedC): TraceLayer[] {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const outputs = new Set(model.outputs);
  return gen.trace.map((t) => {
    // A recurrent layer's cell state is traced after its output; it is never logits.
    if (t.state) return { name: t.name, id: t.id, size: t.size };
    const l = byName.get(t.name)!;
    return { name: t.name, id: t.id, size: t.size, ...(l.activation.kind === 'softmax' && outputs.has(l.name) ? { logits: true } : {}) };
  });
}

export async function verifyC(o: VerifyOptions): Promise<VerifyResult> {
  const { model, log } = o;
  const dir = join(o.workDir, 'c');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const gen = generateC(model, { knobs: o.fixed, weightStorage: 'files' });
  writeGeneratedC(dir, gen);
  const weightsDir = join(dir, 'weights');
  if (o.x.length < o.count * gen.inputSize) throw new Error(`the inputs hold ${o.x.length} values, ${o.count} samples of ${gen.inputSize} need ${o.count * gen.inputSize}`);
  const n = o.count;
  const width = gen.outputSize;
  const compiler = o.compiler ?? 'cc';
  let exeCount = 0;
  const build = (knobs: NumberKnobs) => compileHarness(dir, { compiler, knobs, exe: `harness${exeCount++}` });
  const runOn = (exe: string, count: number, tag: string, trace = false) => runHarness(exe, dir, o.x, count, gen.inputSize, width, { tag, weightsDir, trace });

  // Float C.
  log.info(`compiling the float C (${compiler}) and running ${n} samples`);
  const floatKnobs: NumberKnobs = { ...o.fixed, mode: 'float' };
  const floatExe = await build(floatKnobs);
  const floatRun = await runOn(floatExe, n, 'float');
  const floatTop = argmaxRows(floatRun.outputs, n, width);

  // Reference.
  let refValues: Float32Array;
  let reference: VerifyResult['reference'];
  if (o.expected) {
    refValues = o.expected.values;
    if (refValues.length !== n * width) throw new Error(`the expected outputs hold ${refValues.length} values, ${n} samples of ${width} need ${n * width}`);
    reference = { kind: 'expected', file: o.expected.file };
  } else {
    if (!o.imported || !o.modelFile) throw new Error('verifyC needs the imported model for a TF.js reference');
    const ref = await referenceFor(o.modelFile, o.imported, { backend: o.backend, log });
    log.info(`reference: ${ref.engine} on ${ref.backend}`);
    refValues = await ref.predict(o.x.subarray(0, n * gen.inputSize), n);
    reference = { kind: 'tensorflow.js', engine: ref.engine, backend: ref.backend };
  }
  const refTop = argmaxRows(refValues, n, width);
  if (o.labels) reference.accuracy = agreement(refTop, o.labels);
  const float = {
    top1Agreement: agreement(floatTop, refTop),
    maxAbsError: maxAbsError(floatRun.outputs, refValues),
    ...(o.labels ? { accuracy: agreement(floatTop, o.labels) } : {}),
    imagesPerSecond: n / floatRun.inferenceSeconds,
  };

  // Fixed C at the configured knobs.
  log.info(`fixed point: ${describeKnobs({ ...o.fixed, mode: 'fixed' })}`);
  const fixedKnobs: NumberKnobs = { ...o.fixed, mode: 'fixed' };
  const fixedExe = await build(fixedKnobs);
  const fixedRun = await runOn(fixedExe, n, 'fixed');
  const fixedTop = argmaxRows(fixedRun.outputs, n, width);
  const logitsOut = traceLayers(model, gen).some((t) => t.logits);
  const fixed: VerifyResult['fixed'] = {
    format: describeKnobs(fixedKnobs),
    knobs: fixedKnobs,
    top1Agreement: agreement(fixedTop, refTop),
    ...(o.labels ? { accuracy: agreement(fixedTop, o.labels) } : {}),
    ...(logitsOut ? {} : { maxAbsErrorVsFloat: maxAbsError(fixedRun.outputs, floatRun.outputs) }),
    imagesPerSecond: n / fixedRun.inferenceSeconds,
  };

  // Per-layer traces on a few samples.
  const tn = Math.min(n, o.traceSamples ?? 100);
  const layers = traceLayers(model, gen);
  const floatTrace = (await runOn(floatExe, tn, 'float-trace', true)).trace!;
  const fixedTrace = (await runOn(fixedExe, tn, 'fixed-trace', true)).trace!;
  // Ranges of logits come from a wide fixed-point run (the float trace holds probabilities there).
  let logitRange = new Map<string, number>();
  if (layers.some((l) => l.logits)) {
    const wide = { bits: 32, integer: 16 };
    const wideExe = await build(withFormats(o.fixed, wide, wide, wide));
    const wideTrace = (await runOn(wideExe, tn, 'wide-trace', true)).trace!;
    const slices = layerSlices(wideTrace, layers, tn);
    // Only the layers whose fixed-point output is logits: every other layer's range is the float trace's own.
    logitRange = new Map(layers.flatMap((l, i) => (l.logits ? [[l.name, Math.max(...Array.from(slices[i], Math.abs))] as const] : [])));
  }
  const activationBits = (name: string) => {
    const l = model.layers.find((x) => x.name === name);
    return l?.precision?.output?.integer ?? o.fixed.activations.integer;
  };
  const trace = diffTraces(floatTrace, fixedTrace, layers, tn, o.tolerance, activationBits);
  for (const d of trace.layers) {
    const r = logitRange.get(d.layer);
    if (r !== undefined) {
      // The range shown is the logits' (what fixed point holds there); the error compares probabilities.
      d.integerBits = integerBitsFor(r);
      d.min = -r;
      d.max = r;
      d.logits = true;
    }
  }

  // Observed integer bits per tensor class.
  let wMax = 0, bMax = 0;
  for (const l of model.layers) {
    if (!MAC_TYPES.has(l.type) && !isRecurrent(l)) continue;
    for (const v of l.weights.kernel!.data) wMax = Math.max(wMax, Math.abs(v));
    if (l.weights.recurrentKernel) for (const v of l.weights.recurrentKernel.data) wMax = Math.max(wMax, Math.abs(v));
    if (l.weights.bias) for (const v of l.weights.bias.data) bMax = Math.max(bMax, Math.abs(v));
  }
  const observed = {
    weights: integerBitsFor(wMax),
    biases: integerBitsFor(bMax),
    activations: Math.max(...trace.layers.map((d) => d.integerBits)),
  };

  // Precision sweep. For each width, integer-bit splits around the observed need are scored on the
  // search set: the validation split when the caller has one (the test samples are then only measured,
  // never used to choose), else the first `searchSamples` samples. Candidates go observed need first,
  // then ±1, ±2...; a later one wins only when strictly better (accuracy, then top-1 agreement with the
  // float C), so ties keep the observed need. The chosen split then runs on all samples.
  const sweep: SweepEntry[] = [];
  const search = o.search ?? { x: o.x, count: n, labels: o.labels };
  const sameSet = !o.search;
  const ns = Math.min(search.count, o.searchSamples ?? 500);
  const radius = o.searchRadius ?? 1;
  const runSearch = (exe: string, tag: string) => runHarness(exe, dir, search.x, ns, gen.inputSize, width, { tag, weightsDir });
  const floatSearchTop = sameSet ? floatTop.subarray(0, ns) : argmaxRows((await runSearch(floatExe, 'float-search')).outputs, ns, width);
  const primary = (top: Int32Array) => (search.labels ? agreement(top, search.labels.subarray(0, ns)) : agreement(top, refTop.subarray(0, ns)));
  const offsets = [0, ...Array.from({ length: radius }, (_, i) => [-(i + 1), i + 1]).flat()];
  for (const bits of o.sweep) {
    let best: { knobs: NumberKnobs; score: [number, number]; exe: string; top: Int32Array } | undefined;
    let tried = 0;
    for (const da of offsets) {
      for (const dw of offsets) {
        const knobs = withFormats(o.fixed, { bits, integer: observed.weights + dw }, { bits, integer: observed.biases }, { bits, integer: observed.activations + da });
        const exe = await build(knobs);
        const top = argmaxRows((await runSearch(exe, `sweep${bits}`)).outputs, ns, width);
        const score: [number, number] = [primary(top), agreement(top, floatSearchTop)];
        tried++;
        if (!best || score[0] > best.score[0] || (score[0] === best.score[0] && score[1] > best.score[1])) best = { knobs, score, exe, top };
      }
    }
    const top = sameSet && ns === n ? best!.top : argmaxRows((await runOn(best!.exe, n, `sweep${bits}-all`)).outputs, n, width);
    const entry: SweepEntry = {
      bits,
      weights: formatName(best!.knobs.weights),
      biases: formatName(best!.knobs.biases),
      activations: formatName(best!.knobs.activations),
      ...(o.labels ? { accuracy: agreement(top, o.labels) } : {}),
      top1Agreement: agreement(top, refTop),
      tried,
    };
    sweep.push(entry);
    log.info(`sweep ${bits} bits: ${entry.weights} weights, ${entry.activations} activations -> ${o.labels ? `accuracy ${(entry.accuracy! * 100).toFixed(2)}%` : `top-1 agreement ${(entry.top1Agreement * 100).toFixed(2)}%`}`);
  }
  let sanitizers: VerifyResult['sanitizers'];
  if (o.sanitizeSamples && o.sanitizeSamples > 0) {
    const sn = Math.min(n, o.sanitizeSamples);
    const check = async (knobs: NumberKnobs, tag: string): Promise<string> => {
      const exe = await compileHarness(dir, { compiler, knobs, exe: `sanitized-${tag}`, optimize: '-O1', extraFlags: ['-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'] });
      try {
        const r = await runOn(exe, sn, `sanitized-${tag}`, true);
        return r.samples === sn ? 'clean' : `ran ${r.samples} of ${sn} samples`;
      } catch (e) {
        return (e as Error).message.split('\n').slice(0, 6).join('\n');
      }
    };
    log.info(`sanitizers: float and fixed builds with -fsanitize=address,undefined on ${sn} samples`);
    sanitizers = { samples: sn, float: await check(floatKnobs, 'float'), fixed: await check(fixedKnobs, 'fixed') };
  }
  return { samples: n, reference, float, fixed, sweep, trace, observedIntegerBits: observed, sweepSearch: { samples: ns, on: sameSet ? 'the verified samples' : 'validation', splitsPerWidth: offsets.length ** 2 }, ...(sanitizers ? { sanitizers } : {}), outputs: { float: floatRun.outputs, fixed: fixedRun.outputs, width } };
}
