/**
 * TensorFlow.js layers format: model.json (`modelTopology`, a Keras config, and `weightsManifest`)
 * plus binary shards. The shards of all groups, concatenated in manifest order, hold the weights
 * in manifest order; entries may be quantized (uint8/uint16 with scale and min, or float16).
 */
import type { ImportedLayer, WeightTensor } from '../ir/types';
import { containedCompanion } from '../util/contained';
import { DeepMakerError } from '../util/errors';
import { readRegularFile } from '../util/read';
import { halfToFloat32 } from './hdf5';
import type { WeightSlot, WeightSource } from './keras-layers';
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

/** The largest weight shard read (the TF.js converter writes 4 MiB shards). */
const MAX_SHARD_BYTES = 1024 ** 3;

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * The shard files of a weights manifest, each checked to lie in the model's folder (no `..`, no
 * absolute path, no symbolic link leading out): real paths, in manifest order, per group.
 */
export function tfjsShardFiles(modelJson: any, file: string): string[][] {
  const manifest = modelJson?.weightsManifest ?? [];
  const hint = 'the weightsManifest of a TensorFlow.js model.json is a list of {paths: [...], weights: [...]}';
  if (!Array.isArray(manifest)) throw new DeepMakerError('weightsManifest is not a list', { file }, hint);
  return manifest.map((group: any, g: number) => {
    if (!group || typeof group !== 'object' || !Array.isArray(group.paths)) {
      throw new DeepMakerError(`weightsManifest[${g}] has no list of paths`, { file }, hint);
    }
    return group.paths.map((p: unknown, i: number) =>
      containedCompanion({ modelFile: file, path: p, what: 'weight shard', where: `weightsManifest[${g}].paths[${i}]` }),
    );
  });
}

export function readTfjsWeights(modelJson: any, file: string): TfjsWeights {
  const shards = tfjsShardFiles(modelJson, file);
  const manifest: { paths: string[]; weights: ManifestEntry[] }[] = modelJson.weightsManifest ?? [];
  const byName = new Map<string, { tensor: WeightTensor; location: string }>();
  for (const [g, group] of manifest.entries()) {
    const parts = shards[g].map((shard) => {
      const r = readRegularFile(shard, MAX_SHARD_BYTES);
      if (r.problem !== undefined) throw new DeepMakerError(`cannot read the weight shard ${shard}: ${r.problem}`, { file }, r.hint);
      return r.bytes;
    });
    if (!Array.isArray(group.weights)) throw new DeepMakerError(`weightsManifest[${g}] has no list of weights`, { file });
    const buf = Buffer.concat(parts);
    let offset = 0;
    for (const w of group.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new DeepMakerError(`weightsManifest[${g}] has an entry without a name and a shape of non-negative integers: ${JSON.stringify(w)?.slice(0, 200)}`, { file }, 'the model.json is corrupt; export the model again');
      }
      const n = w.shape.reduce((a, b) => a * b, 1);
      const storedType = w.quantization?.dtype ?? w.dtype;
      const bytes = typeof storedType === 'string' && Object.hasOwn(BYTES, storedType) ? BYTES[storedType] : undefined;
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

/**
 * The stored weights of one layer: manifest names `<layer>/<weight>` (possibly under a scope prefix;
 * a Bidirectional's inner layers as `<wrapper>/forward_<inner>/<weight>`).
 */
export function tfjsLayerWeights(w: TfjsWeights, layer: ImportedLayer, slots: WeightSlot[], source: WeightSource = { keras: layer.name }): StoredWeight[] {
  const out: StoredWeight[] = [];
  const prefix = source.tfjsScope ? `${source.keras}/${source.tfjsScope}` : source.keras;
  for (const s of slots) {
    const exact = `${prefix}/${s.keras}`;
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
