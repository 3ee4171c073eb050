/**
 * Choosing the TensorFlow.js backend. `auto` takes the fastest one that loads:
 *  - node: @tensorflow/tfjs-node (native libtensorflow). An optionalDependency: its install
 *    downloads libtensorflow, which fails where only the npm registry is reachable, so its absence
 *    is normal and handled quietly.
 *  - wasm: @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD), with the convolution gradient kernels it
 *    lacks supplied by wasm-gradients.ts. In Node the .wasm binaries are read from the package's
 *    dist folder. tfjs disables the threaded build under Node (tfjs issue #3830), so one process
 *    uses one core; parallelism comes from worker processes (see parallel.ts).
 *  - cpu: the pure-JavaScript backend, about a hundred times slower; always there.
 */
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DeepMakerError } from '../util/errors';
import type { Logger } from '../util/log';
import { registerWasmGradientKernels } from './wasm-gradients';

export type BackendPreference = 'auto' | 'node' | 'wasm' | 'cpu';
export type BackendName = 'node' | 'wasm' | 'cpu';

/** tfjs' own names for our backends. */
const TF_NAME: Record<BackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

let nodeLoadError: string | undefined;
let wasmLoadError: string | undefined;

function loadNode(): boolean {
  if (tf.findBackend('tensorflow')) return true;
  if (nodeLoadError !== undefined) return false;
  try {
    // A plain require: the package is optional and may be missing or fail to find libtensorflow.
    require('@tensorflow/tfjs-node');
    return !!tf.findBackend('tensorflow');
  } catch (e) {
    nodeLoadError = (e as Error).message.split('\n')[0];
    return false;
  }
}

async function loadWasm(): Promise<boolean> {
  if (wasmLoadError !== undefined) return false;
  try {
    if (!tf.findBackendFactory('wasm')) {
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    }
    registerWasmGradientKernels();
    return true;
  } catch (e) {
    wasmLoadError = (e as Error).message.split('\n')[0];
    return false;
  }
}

/** Makes `name` the active backend; false when it cannot initialise. */
async function activate(name: BackendName): Promise<boolean> {
  try {
    const ok = await tf.setBackend(TF_NAME[name]);
    if (ok) await tf.ready();
    return ok && tf.getBackend() === TF_NAME[name];
  } catch (e) {
    if (name === 'wasm') wasmLoadError = (e as Error).message.split('\n')[0];
    return false;
  }
}

/**
 * Activates the preferred backend and returns the name of the one actually in use. An explicit
 * preference that cannot load is a DeepMakerError; `auto` falls back node -> wasm -> cpu.
 */
export async function selectBackend(pref: BackendPreference = 'auto', log?: Logger): Promise<BackendName> {
  const order: BackendName[] = pref === 'auto' ? ['node', 'wasm', 'cpu'] : [pref];
  for (const name of order) {
    if (name === 'node' && !loadNode()) continue;
    if (name === 'wasm' && !(await loadWasm())) continue;
    if (await activate(name)) {
      log?.info(`TensorFlow.js backend: ${describeBackend(name)}`);
      return name;
    }
  }
  const why = pref === 'node' ? nodeLoadError : pref === 'wasm' ? wasmLoadError : undefined;
  throw new DeepMakerError(
    `the TensorFlow.js backend "${pref}" could not be loaded${why ? `: ${why}` : ''}`,
    { where: 'train.backend' },
    pref === 'node'
      ? '@tensorflow/tfjs-node needs libtensorflow, which its install script downloads; run `npm install @tensorflow/tfjs-node` where that download is reachable, or use backend: auto'
      : 'use backend: auto to fall back to the next backend that loads',
  );
}

/** A human-readable description: the backend and, for wasm, its SIMD and thread figures. */
export function describeBackend(name: BackendName = currentBackend()): string {
  if (name !== 'wasm') return name;
  let simd: boolean | undefined;
  try {
    simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  } catch {
    simd = undefined; // an async flag not evaluated yet
  }
  return `wasm (${simd === undefined ? 'SIMD unknown' : simd ? 'SIMD' : 'no SIMD'}, 1 thread)`;
}

/** The active backend under our names. */
export function currentBackend(): BackendName {
  const b = tf.getBackend();
  return b === 'tensorflow' ? 'node' : b === 'wasm' ? 'wasm' : 'cpu';
}
