/**
 * The IR on disk: layers.json (the layer table with every field of the IR except weight values)
 * plus one raw little-endian float32 file per weight tensor, weights/<loop nest id>.<slot>.f32
 * (the same files the generated C reads in files mode). layers.json names each file and its
 * shape; readModelIR restores the ModelIR exactly.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, sha256 } from '../util/fs';
import { cIdentifier } from './assignLoopNestIds';
import type { Layer, ModelIR, TernaryWeights, WeightTensor } from './types';
import { layerStats } from './table';

export const IR_FORMAT = 'deepmaker-ir';
export const IR_VERSION = 1;

export function weightFileName(layer: Pick<Layer, 'name' | 'loopNest'>, slot: string): string {
  return `${layer.loopNest ?? cIdentifier(layer.name)}.${slot}.f32`;
}

/** The weight-file slot of each ternary tensor (`ternary_scale` is the file name ternary layers always had). */
const TERNARY_FILES: Record<keyof TernaryWeights, string> = {
  scale: 'ternary_scale',
  recurrentScale: 'ternary_recurrent_scale',
  inputThresholds: 'ternary_input_thresholds',
  stateThresholds: 'ternary_state_thresholds',
};

interface StoredTensor {
  shape: number[];
  file: string;
  sha256: string;
}

function tensorBytes(t: Float32Array): Uint8Array {
  const out = new Uint8Array(t.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < t.length; i++) view.setFloat32(i * 4, t[i], true);
  return out;
}

/** The JSON form of the IR (weights replaced by file references); also what report.json's `layers` holds. */
export function irToJson(model: ModelIR, files?: Map<string, Uint8Array>): unknown {
  const stats = layerStats(model);
  return {
    format: IR_FORMAT,
    version: IR_VERSION,
    name: model.name,
    source: model.source,
    inputs: model.inputs,
    outputs: model.outputs,
    layers: model.layers.map((l, i) => {
      const { weights, ternary, ...rest } = l;
      const w: Record<string, StoredTensor> = {};
      for (const [slot, t] of Object.entries(weights) as [string, WeightTensor][]) {
        if (!t) continue;
        const file = `weights/${weightFileName(l, slot)}`;
        const bytes = tensorBytes(t.data);
        files?.set(file, bytes);
        w[slot] = { shape: t.shape, file, sha256: sha256(bytes) };
      }
      let tern: Record<string, StoredTensor> | undefined;
      if (ternary) {
        tern = {};
        // scale (every ternary layer); recurrent layers also their recurrent scale and operand thresholds.
        for (const [slot, data] of Object.entries(ternary) as [keyof TernaryWeights, Float32Array | undefined][]) {
          if (!data) continue;
          const file = `weights/${weightFileName(l, TERNARY_FILES[slot])}`;
          const bytes = tensorBytes(data);
          files?.set(file, bytes);
          tern[slot] = { shape: [data.length], file, sha256: sha256(bytes) };
        }
      }
      return { ...rest, weights: w, ...(tern ? { ternary: tern } : {}), params: stats[i].params, macs: stats[i].macs };
    }),
  };
}

export function writeModelIR(dir: string, model: ModelIR): void {
  const files = new Map<string, Uint8Array>();
  const json = irToJson(model, files);
  mkdirSync(join(dir, 'weights'), { recursive: true });
  for (const [f, bytes] of files) writeFileSync(join(dir, f), bytes);
  writeFileSync(join(dir, 'layers.json'), canonicalJson(json));
}

function readTensor(dir: string, t: StoredTensor, where: string): Float32Array {
  const file = join(dir, t.file);
  if (!existsSync(file)) throw new DeepMakerError(`weight file ${t.file} is missing`, { file: join(dir, 'layers.json'), where }, 'copy layers.json together with its weights/ folder');
  const bytes = readFileSync(file);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== n * 4) throw new DeepMakerError(`weight file ${t.file} holds ${bytes.length} bytes, expected ${n * 4} for shape [${t.shape.join(', ')}]`, { file, where });
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

export function readModelIR(dir: string): ModelIR {
  const file = join(dir, 'layers.json');
  if (!existsSync(file)) throw new DeepMakerError('layers.json is missing', { file }, 'run the convert stage first');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  if (json.format !== IR_FORMAT) throw new DeepMakerError(`not a DeepMaker IR file (format '${json.format}')`, { file });
  if (json.version > IR_VERSION) throw new DeepMakerError(`IR version ${json.version} is newer than this tool reads (${IR_VERSION})`, { file }, 'upgrade deepmaker');
  const layers: Layer[] = json.layers.map((l: any) => {
    const { weights, ternary, params: _p, macs: _m, ...rest } = l;
    const layer: Layer = { ...rest, weights: {} };
    for (const [slot, t] of Object.entries(weights as Record<string, StoredTensor>)) {
      (layer.weights as Record<string, WeightTensor>)[slot] = { shape: t.shape, data: readTensor(dir, t, l.name) };
    }
    if (ternary) {
      const t: Partial<TernaryWeights> = {};
      for (const [slot, stored] of Object.entries(ternary as Record<string, StoredTensor>)) {
        if (!(slot in TERNARY_FILES)) throw new DeepMakerError(`layer '${l.name}': unknown ternary tensor '${slot}'`, { file, where: l.name }, 'rerun the convert stage');
        t[slot as keyof TernaryWeights] = readTensor(dir, stored, l.name);
      }
      if (!t.scale) throw new DeepMakerError(`layer '${l.name}': ternary layer without its scale`, { file, where: l.name }, 'rerun the convert stage');
      layer.ternary = t as TernaryWeights;
    }
    return layer;
  });
  return { name: json.name, source: json.source, inputs: json.inputs, outputs: json.outputs, layers };
}
