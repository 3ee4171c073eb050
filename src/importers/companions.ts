import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { containedCompanion } from '../util/contained';

/**
 * The files a model file brings along and the importer reads: a Keras JSON config's weights HDF5
 * (found beside it), a TensorFlow.js model.json's weight shards. The spec stage hashes them into the
 * convert view, so editing only a shard or a weights file reruns convert. Light on purpose (fs only):
 * the Nx plugin loads it with the stage table.
 */
export function modelCompanionFiles(file: string, explicitWeights?: string): string[] {
  const abs = resolve(file);
  if (!/\.json$/i.test(abs) || !existsSync(abs)) return [];
  let json: any;
  try {
    json = JSON.parse(readFileSync(abs, 'utf8'));
  } catch {
    return []; // the importer reports a broken JSON with its position
  }
  if (json && Array.isArray(json.weightsManifest)) {
    // Only shards inside the model's folder: the importer refuses the others with a clear error,
    // and nothing outside the folder is hashed (a hostile path must not read another file).
    const out: string[] = [];
    for (const g of json.weightsManifest) {
      for (const p of Array.isArray(g?.paths) ? g.paths : []) {
        try {
          out.push(containedCompanion({ modelFile: abs, path: p, what: 'weight shard' }));
        } catch {
          /* reported by the importer */
        }
      }
    }
    return out;
  }
  if (explicitWeights) return [];
  const w = defaultWeightsFile(abs);
  if (!w) return [];
  try {
    return [containedCompanion({ modelFile: abs, path: basename(w), what: 'weights file' })];
  } catch {
    return []; // reported by the importer
  }
}

/** The weights file that goes with a Keras JSON config when none is given. */
export function defaultWeightsFile(jsonFile: string): string | undefined {
  const dir = dirname(jsonFile);
  const stem = basename(jsonFile).replace(/\.json$/i, '').replace(/_config$/, '');
  for (const c of [`${stem}_weights.h5`, `${stem}.weights.h5`, `${stem}_model.h5`, `${stem}.h5`]) {
    const p = join(dir, c);
    if (existsSync(p)) return p;
  }
  return undefined;
}
