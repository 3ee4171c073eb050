/**
 * TensorFlow.js layers format on the local file system: model.json (topology + weightsManifest)
 * beside binary weight shards `group1-shard<i>of<n>.bin` (4 MiB each, as the tfjs converter writes
 * them). tfjs-node's file:// handler is not available with the wasm or cpu backend, so these are
 * IOHandlers of our own over tf.io.withSaveHandler / tf.io.getModelArtifactsForJSON; the files are
 * the standard ones that tf.loadLayersModel and the convert stage's importer read.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { containedCompanion } from '../util/contained';
import { DeepMakerError } from '../util/errors';

const SHARD_BYTES = 4 * 1024 * 1024;

/** What we add to model.json's userDefinedMetadata so readers know what the output means. */
export interface DeepMakerModelMetadata {
  /** The model ends in a Dense layer without softmax: its outputs are logits. */
  output: 'logits';
  classes: number;
}

/** Writes `model` to `dir`/model.json + shards; returns the file names written. */
export async function saveModel(model: tf.LayersModel, dir: string, metadata?: DeepMakerModelMetadata): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  if (metadata) model.setUserDefinedMetadata({ deepmaker: metadata as unknown as object });
  const written: string[] = [];
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0));
      const shards = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
      const paths: string[] = [];
      for (let i = 0; i < shards; i++) {
        const name = `group1-shard${i + 1}of${shards}.bin`;
        writeFileSync(join(dir, name), new Uint8Array(data, i * SHARD_BYTES, Math.min(SHARD_BYTES, data.byteLength - i * SHARD_BYTES)));
        paths.push(name);
      }
      // The fields tfjs' own handlers write (io_utils getModelJSONForModelArtifacts, not exported).
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
      writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
      written.push('model.json', ...paths);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength } };
    }),
  );
  return written;
}

/** An IOHandler reading model.json and its shards from the file system. */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
      } catch (e) {
        throw new DeepMakerError(`cannot read a TensorFlow.js model: ${(e as Error).message}`, { file: modelJsonPath }, 'give the model.json written by the train stage or by tensorflowjs_converter');
      }
      if (!json.modelTopology) throw new DeepMakerError('model.json has no modelTopology', { file: modelJsonPath }, 'only TensorFlow.js layers models are supported');
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const [i, p] of group.paths.entries()) {
            const file = containedCompanion({ modelFile: modelJsonPath, path: p, what: 'weight shard', where: `weightsManifest[${manifest.indexOf(group)}].paths[${i}]` });
            const buf = readFileSync(file);
            buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/** Loads a TensorFlow.js layers model from `dir` (or a model.json path). */
export async function loadModel(dirOrModelJson: string): Promise<tf.LayersModel> {
  const file = dirOrModelJson.endsWith('.json') ? dirOrModelJson : join(dirOrModelJson, 'model.json');
  return tf.loadLayersModel(fileLoadHandler(file));
}
