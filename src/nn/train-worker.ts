/**
 * A training worker thread: one more replica of the model (replica.ts) on its own core, with its
 * own TensorFlow.js backend instance. The main thread (train.ts) sends the batch rows of this
 * worker's share; the worker answers with its gradients, then applies the summed update it is sent,
 * so its weights stay bit-identical to the main thread's. The training data is shared memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from './backend';
import { Replica, type DataView, type ReplicaSpec } from './replica';

export type WorkerRequest =
  | { type: 'init'; spec: ReplicaSpec; backend: BackendName; data: DataView; weights: Float32Array[] }
  | { type: 'step'; rows: Int32Array; batchSize: number; dropoutSeed: number; augmentSeed: number; learningRate: number }
  /** Every replica's share in rank order; null marks this worker's own (kept since its step). */
  | { type: 'apply'; shares: (Float32Array[] | null)[] }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'grads'; grads: Float32Array[]; lossSum: number; correct: number }
  | { type: 'error'; message: string };

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as Extract<WorkerRequest, { type: 'init' }>;
  await selectBackend(init.backend);
  const replica = await Replica.create(init.spec);
  const initial = init.weights.map((w, i) => tf.tensor(w, replica.model.weights[i].shape as number[]));
  replica.model.setWeights(initial);
  tf.dispose(initial);
  let pending: tf.NamedTensorMap | undefined;
  port.on('message', (m: WorkerRequest) => {
    try {
      if (m.type === 'step') {
        replica.setLearningRate(m.learningRate);
        const r = replica.computeGradients(init.data, m.rows, m.batchSize, m.dropoutSeed, m.augmentSeed);
        pending = r.grads;
        port.postMessage({ type: 'grads', grads: replica.gradientArrays(r.grads), lossSum: r.lossSum, correct: r.correct } satisfies WorkerReply);
      } else if (m.type === 'apply') {
        replica.applyShares(m.shares.map((s) => s ?? pending!));
        pending = undefined;
      } else if (m.type === 'close') {
        replica.dispose();
        port.close();
      }
    } catch (e) {
      port.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) } satisfies WorkerReply);
    }
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

main().catch((e) => parentPort!.postMessage({ type: 'error', message: (e as Error).stack ?? String(e) } satisfies WorkerReply));
