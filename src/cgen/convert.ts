/**
 * DeepHLS's conversion, shared by the convert stage and `deepmaker convert`: a model file -> the IR
 * (layers.json + weights/) -> flat C (model.h, model.c, weights, harness, Makefile), with the
 * layer table printed, the number knobs resolved and recorded (knobs.json), and the source model
 * copied (source/) so verification can rebuild the reference network from exactly these files.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { importModel, defaultWeightsFile } from '../importers';
import { tfjsShardFiles } from '../importers/tfjs';
import { normalize } from '../ir/passes/normalize';
import { writeModelIR } from '../ir/serialize';
import { formatLayerTable, tableRows } from '../ir/table';
import type { ModelIR } from '../ir/types';
import type { Overflow, Rounding } from '../numerics/fixed';
import { readQuantizationFile, QUANTIZATION_FILE, type QuantizationFile } from '../qmodel/file';
import { annotateImportedModel, applyQuantization } from '../qmodel/apply';
import { containedCompanion } from '../util/contained';
import type { ConvertSpec } from '../spec/types';
import { DeepMakerError } from '../util/errors';
import { canonicalJson } from '../util/fs';
import type { Logger } from '../util/log';
import { describeKnobs, generateC } from './model';
import { writeGeneratedC } from './index';
import { DEFAULT_KNOBS, integerBitsFor, maxAbsWeight, type NumberKnobs } from '../qmodel/precision';

/** report.json's `tool`: marks a folder as DeepMaker convert output, which `deepmaker convert --out` may replace. */
export const CONVERT_TOOL = 'deepmaker-convert';

/** The spec's `convert` section (schemas/deepmaker.schema.json). */
export type { ConvertSpec } from '../spec/types';

/**
 * The knobs for a model: the spec's formats; weights and biases without `integer` get the integer
 * bits their largest value needs.
 */
export function resolveKnobs(model: ModelIR, spec: ConvertSpec): NumberKnobs {
  const p = spec.precision ?? {};
  const wBits = p.weights?.bits ?? DEFAULT_KNOBS.weights.bits;
  const bBits = p.biases?.bits ?? DEFAULT_KNOBS.biases.bits;
  return {
    mode: spec.format ?? 'fixed',
    weights: { bits: wBits, integer: p.weights?.integer ?? integerBitsFor(maxAbsWeight(model, 'kernel')) },
    biases: { bits: bBits, integer: p.biases?.integer ?? integerBitsFor(maxAbsWeight(model, 'bias')) },
    activations: p.activations ?? DEFAULT_KNOBS.activations,
    accumulatorBits: p.accumulators?.bits ?? 0,
    rounding: spec.rounding ?? DEFAULT_KNOBS.rounding,
    overflow: spec.overflow ?? DEFAULT_KNOBS.overflow,
  };
}

/** Copies the model file and what it needs (weights h5, TF.js shards, quantization.json) into `dir`; returns the copy of the model file. */
export function copyModelSource(file: string, weights: string | undefined, dir: string): { model: string; weights?: string } {
  mkdirSync(dir, { recursive: true });
  const model = join(dir, basename(file));
  copyFileSync(file, model);
  let weightsCopy: string | undefined;
  const text = /\.json$/i.test(file) ? readFileSync(file, 'utf8') : undefined;
  if (text && /"weightsManifest"/.test(text)) {
    const json = JSON.parse(text);
    // The importer has read these already; the checked real paths, and the manifest's relative
    // names (inside the model's folder, so inside `dir` too) for the copies.
    const shards = tfjsShardFiles(json, file);
    json.weightsManifest.forEach((g: { paths: string[] }, gi: number) =>
      g.paths.forEach((p, i) => {
        mkdirSync(dirname(join(dir, p)), { recursive: true });
        copyFileSync(shards[gi][i], join(dir, p));
      }),
    );
    const q = join(dirname(file), QUANTIZATION_FILE);
    if (existsSync(q)) copyFileSync(containedCompanion({ modelFile: file, path: QUANTIZATION_FILE, what: 'quantization file' }), join(dir, QUANTIZATION_FILE));
  } else if (text) {
    const w = weights ?? defaultWeightsFile(file);
    if (w) {
      const from = weights ? w : containedCompanion({ modelFile: file, path: basename(w), what: 'weights file' });
      weightsCopy = join(dir, basename(w) === basename(file) ? `weights-${basename(w)}` : basename(w));
      copyFileSync(from, weightsCopy);
    }
  }
  return { model, weights: weightsCopy };
}

export interface ConvertResult {
  model: ModelIR;
  knobs: NumberKnobs;
  files: string[];
  report: Record<string, unknown>;
}

/**
 * A model file -> the normalized IR, with the quantization.json of quantization-aware training
 * applied when one lies beside the file: the IR convert emits C from (and what checks of the
 * trained-quantized path import).
 */
export async function importForConversion(file: string, weights?: string): Promise<{ model: ModelIR; quant?: QuantizationFile }> {
  const imported = await importModel(file, { weights });
  const quant = readQuantizationFile(dirname(file));
  if (!quant) return { model: normalize(imported) };
  // Ternary outputs become activations before the passes, so fuseActivation carries them into their convolution.
  annotateImportedModel(imported, quant);
  return { model: applyQuantization(normalize(imported), quant), quant };
}

export async function convertModel(opts: { file: string; weights?: string; outDir: string; spec: ConvertSpec; log: Logger }): Promise<ConvertResult> {
  const file = resolve(opts.file);
  const started = Date.now();
  const { model, quant } = await importForConversion(file, opts.weights);
  const spec = { ...opts.spec };
  if (quant) {
    spec.rounding = quant.rounding;
    spec.overflow = quant.overflow;
    opts.log.info(`${QUANTIZATION_FILE}: per-layer formats from quantization-aware training (${quant.mode}, activations fixed<${quant.activations.bits},${quant.activations.integer}>)`);
  }
  const knobs = resolveKnobs(model, spec);
  if (quant) {
    knobs.activations = { ...quant.activations };
    if (quant.weights) knobs.weights = { ...quant.weights };
  }
  const storage = spec.weightStorage ?? 'arrays';
  mkdirSync(opts.outDir, { recursive: true });
  writeModelIR(opts.outDir, model);
  const gen = generateC(model, { knobs, weightStorage: storage });
  const written = writeGeneratedC(opts.outDir, gen);
  const source = copyModelSource(file, opts.weights, join(opts.outDir, 'source'));
  writeFileSync(join(opts.outDir, 'knobs.json'), canonicalJson(knobs));
  const table = formatLayerTable(model);
  opts.log.info(`${basename(file)} (${model.source.format}${model.source.kerasVersion ? `, Keras ${model.source.kerasVersion}` : ''}) -> ${model.layers.length} layers\n${table}`);
  opts.log.info(`C: ${knobs.mode === 'float' ? 'float' : describeKnobs(knobs)}; weights in ${storage === 'arrays' ? 'arrays (weights.c)' : 'files (weights/*.f32)'}`);
  const rows = tableRows(model);
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const finalSoftmax = model.outputs.some((o) => byName.get(o)?.activation.kind === 'softmax');
  const report = {
    tool: CONVERT_TOOL,
    model: model.name,
    source: { ...model.source, file: basename(model.source.file), copy: `source/${basename(source.model)}`, ...(source.weights ? { weights: `source/${basename(source.weights)}` } : {}) },
    quantization: quant ? QUANTIZATION_FILE : null,
    format: knobs.mode,
    knobs,
    numberFormat: describeKnobs(knobs),
    weightStorage: storage,
    layers: rows,
    params: rows.reduce((a, r) => a + r.params, 0),
    macs: rows.reduce((a, r) => a + r.macs, 0),
    loopNests: model.layers.filter((l) => l.loopNest).map((l) => l.loopNest),
    inputSize: gen.inputSize,
    outputSize: gen.outputSize,
    outputs: finalSoftmax ? 'float: softmax probabilities; fixed point: the logits (argmax unchanged)' : 'the output layer values',
    files: [...new Set([...written, 'layers.json', 'knobs.json', 'report.json', ...listRel(opts.outDir, 'weights'), ...listRel(opts.outDir, 'source')])].sort(),
    seconds: (Date.now() - started) / 1000,
  };
  writeFileSync(join(opts.outDir, 'report.json'), canonicalJson(report));
  return { model, knobs, files: report.files, report };
}

function listRel(root: string, sub: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(root, rel);
    if (!existsSync(abs)) return;
    for (const n of readdirSync(abs)) {
      const r = `${rel}/${n}`;
      if (statSync(join(root, r)).isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk(sub);
  return out;
}

/** Parses `--format float | fixed<W,I>` into convert-spec fields (every tensor class W,I). */
export function parseFormatFlag(text: string | undefined): Pick<ConvertSpec, 'format' | 'precision'> {
  if (!text || text === 'float') return { format: 'float' };
  const m = /^(?:ap_)?fixed\s*<\s*(\d+)\s*,\s*(-?\d+)\s*>$/.exec(text.trim());
  if (!m) throw new DeepMakerError(`--format '${text}' is not float or fixed<W,I>`, {}, 'e.g. --format fixed<16,6>');
  const f = { bits: Number(m[1]), integer: Number(m[2]) };
  if (f.bits < 2 || f.bits > 32) throw new DeepMakerError(`--format ${text}: the width must be 2..32 bits`);
  return { format: 'fixed', precision: { weights: f, biases: f, activations: f } };
}

/**
 * True when `dir` holds an earlier output of the converter: its report.json says `tool:
 * deepmaker-convert` (or, written before that field existed, carries the converter's own fields).
 */
export function isConvertOutput(dir: string): boolean {
  try {
    const r = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    if (r?.tool === CONVERT_TOOL) return true;
    return r?.tool === undefined && typeof r?.numberFormat === 'string' && Array.isArray(r?.files) && Array.isArray(r?.layers) && !!r?.knobs;
  } catch {
    return false;
  }
}
