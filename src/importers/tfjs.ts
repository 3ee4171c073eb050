/**
 * TensorFlow.js layers format: model.json (`modelTopology`, a Keras config, and `weightsManifest`)
 * plus binary shards. The shards of all groups, concatenated in manifest order, hold the weights
 * in manifest order; entries may be quantized (uint8/uint16 with scale and min, or float16).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ImportedLayer, WeightTensor } from '../ir/types';
import { DeepMakerError } from '../util/errors';
import { halfToFloat32 } from './hdf5';
import type { WeightSlot } from './keras-layers';
import type { StoredWeight } from './weights';

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number };
}

export interface TfjsWeights {
  byName: Map<string, { tensor: WeightTensor; location: string }>;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

export function readTfjsWeights(modelJson: any, file: string): TfjsWeights {
  const manifest: { paths: string[]; weights: ManifestEntry[] }[] = modelJson.weightsManifest ?? [];
  const byName = new Map<string, { tensor: WeightTensor; location: string }>();
  const dir = dirname(file);
  for (const group of manifest) {
    const parts: Buffer[] = [];
    for (const p of group.paths) {
      const shard = join(dir, p);
      if (!existsSync(shard)) throw new DeepMakerError(`the weight shard '${p}' named by the weights manifest is missing (looked for ${shard})`, { file }, 'keep model.json and its .bin shards together');
      parts.push(readFileSync(shard));
    }
    const buf = Buffer.concat(parts);
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const storedType = w.quantization?.dtype ?? w.dtype;
      const bytes = BYTES[storedType];
      if (!bytes) throw new DeepMakerError(`weight '${w.name}' has dtype ${storedType}, which is not supported`, { file });
      const end = offset + n * bytes;
      if (end > buf.length) {
        throw new DeepMakerError(`the weight shards end after ${buf.length} bytes, but weight '${w.name}' needs bytes ${offset}..${end}`, { file }, 'a shard is truncated or belongs to another model');
      }
      const raw = buf.subarray(offset, end);
      const ab = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
      let data: Float32Array;
      if (storedType === 'float32') data = new Float32Array(ab);
      else if (storedType === 'int32') data = Float32Array.from(new Int32Array(ab));
      else if (storedType === 'bool') data = Float32Array.from(new Uint8Array(ab));
      else if (storedType === 'float16') data = halfToFloat32(new Uint16Array(ab));
      else {
        const q = storedType === 'uint8' ? new Uint8Array(ab) : new Uint16Array(ab);
        const scale = w.quantization!.scale ?? 1, min = w.quantization!.min ?? 0;
        data = Float32Array.from(q, (v) => v * scale + min);
      }
      byName.set(w.name, { tensor: { shape: w.shape, data }, location: `${group.paths.join('+')}:${w.name}` });
      offset = end;
    }
    if (offset !== buf.length) {
      throw new DeepMakerError(`the weight shards hold ${buf.length} bytes but the manifest describes ${offset}`, { file }, 'the shards do not belong to this model.json');
    }
  }
  return { byName };
}

/** The stored weights of one layer: manifest names `<layer>/<weight>` (possibly under a scope prefix). */
export function tfjsLayerWeights(w: TfjsWeights, layer: ImportedLayer, slots: WeightSlot[]): StoredWeight[] {
  const out: StoredWeight[] = [];
  for (const s of slots) {
    const exact = `${layer.name}/${s.keras}`;
    let hit = w.byName.get(exact);
    let name = exact;
    if (!hit) {
      for (const [k, v] of w.byName) {
        if (k.endsWith(`/${exact}`)) {
          hit = v;
          name = k;
          break;
        }
      }
    }
    if (hit) out.push({ name, location: hit.location, tensor: hit.tensor });
  }
  return out;
}
