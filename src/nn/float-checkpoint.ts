/**
 * The float phase of a quantization-aware training, kept in the train stage's work folder: when a
 * run is interrupted during fine-tuning (or anything after the float phase), the next run with the
 * same inputs takes the float network from here instead of training it again. On sequential MNIST
 * the float LSTM(64) took about 33 of the train stage's 86 minutes.
 *
 * The key is everything the float network depends on: the architecture, the training options, the
 * epochs and the values of the training and validation splits. One checkpoint is kept (a new key
 * replaces the old one). A checkpoint is written to a temporary sibling and renamed, so a kill
 * leaves either the whole checkpoint or none.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../util/fs';
import type { Logger } from '../util/log';
import type { Split } from '../data/tensors';
import type { Architecture } from './arch';
import { selectBackend, type BackendPreference } from './backend';
import { loadModel, saveModel } from './save';
import type { TrainResult } from './train';

export interface FloatCheckpointInputs {
  arch: Architecture;
  /** The training options as the stage passes them (the logger is left out). */
  options: Record<string, unknown>;
  epochs: number;
  /** The splits the float network trains and validates on, as the stage has read them (their values are hashed). */
  data: { train: Split; validation: Split };
}

const FOLDER = 'float-checkpoint';

/** The key of the float network `inputs` describe (hex). */
export function floatCheckpointKey(inputs: FloatCheckpointInputs): string {
  const h = createHash('sha256');
  const { log: _log, ...options } = inputs.options;
  h.update(canonicalJson({ arch: inputs.arch, options, epochs: inputs.epochs }));
  for (const [name, split] of Object.entries(inputs.data)) {
    h.update(`\n${name} ${split.count} [${split.shape}]:`);
    h.update(new Uint8Array(split.x.buffer, split.x.byteOffset, split.x.byteLength));
    h.update(new Uint8Array(split.y.buffer, split.y.byteOffset, split.y.byteLength));
  }
  return h.digest('hex').slice(0, 32);
}

/** The result of an earlier float phase with this key, or undefined. */
export async function loadFloatCheckpoint(workDir: string, key: string, backend: BackendPreference | undefined, log: Logger): Promise<TrainResult | undefined> {
  const dir = join(workDir, FOLDER, key);
  const resultFile = join(dir, 'result.json');
  if (!existsSync(resultFile)) return undefined;
  try {
    const saved = JSON.parse(readFileSync(resultFile, 'utf8')) as Omit<TrainResult, 'model'>;
    // The backend the float network was trained on; the fine-tuning runs on the one selected now.
    const selected = await selectBackend(backend ?? 'auto');
    if (selected !== saved.backend) {
      log.info(`float checkpoint ${key.slice(0, 12)} was trained on ${saved.backend}, this run has ${selected}: training the float network again`);
      return undefined;
    }
    const model = await loadModel(join(dir, 'model'));
    return { ...saved, model };
  } catch (e) {
    log.warn(`float checkpoint ${dir} is unreadable (${(e as Error).message.split('\n')[0]}): training the float network again`);
    return undefined;
  }
}

/** Keeps `result` under `key` (replacing any other checkpoint). */
export async function saveFloatCheckpoint(workDir: string, key: string, result: TrainResult): Promise<void> {
  const root = join(workDir, FOLDER);
  mkdirSync(root, { recursive: true });
  const tmp = join(root, `${key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  await saveModel(result.model, join(tmp, 'model'));
  const { model: _model, ...rest } = result;
  writeFileSync(join(tmp, 'result.json'), canonicalJson(rest));
  const dir = join(root, key);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  for (const other of readdirSync(root)) if (other !== key) rmSync(join(root, other), { recursive: true, force: true });
}
