/**
 * HDF5 reading through h5wasm (the HDF5 C library compiled to WebAssembly; no Python, no native
 * addon). The library runs in a worker thread (src/importers/hdf5-worker.ts), which reads the whole
 * file into a plain tree: on some corrupt files the library loops forever, and only a thread the
 * main thread can stop bounds that. A file the worker has not read after HDF5_READ_LIMIT_MS (plus
 * a second per MiB) is refused as corrupt, and the worker is replaced.
 *
 * The HDF5 library reports failures on stderr ("HDF5-DIAG ..."); the worker captures that text and
 * this reader turns it into a DeepMakerError naming the file and the object.
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { DeepMakerError } from '../util/errors';
import type { H5Answer, H5Job, H5TreeNode } from './hdf5-worker';

export const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return HDF5_MAGIC.every((b, i) => bytes[i] === b);
}

/** How long the worker may take to read a file, on top of a second per MiB (DEEPMAKER_HDF5_READ_LIMIT_MS overrides it). */
export const HDF5_READ_LIMIT_MS = 60_000;
/** The most values a dataset may declare (2^28 float32 = 1 GiB, the model file limit). */
export const HDF5_MAX_DATASET_VALUES = 2 ** 28;

let worker: Worker | undefined;
let jobCounter = 0;
const queue: { job: H5Job; displayName: string; resolve: (t: H5TreeNode) => void; reject: (e: unknown) => void }[] = [];
let busy = false;

function startWorker(): Worker {
  // Built (build/src/importers/hdf5.js): the compiled worker beside it. Under tsx (tests, tools):
  // the TypeScript source, with tsx's require hook registered in the thread first.
  const w = __filename.endsWith('.ts')
    ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(join(__dirname, 'hdf5-worker.ts'))});`, { eval: true })
    : new Worker(join(__dirname, 'hdf5-worker.js'));
  w.unref();
  return w;
}

/** Reads one file in the worker, one file at a time. */
function readTree(bytes: Uint8Array, displayName: string): Promise<H5TreeNode> {
  return new Promise((resolve, reject) => {
    queue.push({ job: { id: ++jobCounter, bytes, maxValues: HDF5_MAX_DATASET_VALUES }, displayName, resolve, reject });
    pump();
  });
}

function pump(): void {
  if (busy || !queue.length) return;
  busy = true;
  const { job, displayName, resolve, reject } = queue.shift()!;
  const w = (worker ??= startWorker());
  w.ref(); // a read in progress keeps the process alive
  const limit = (Number(process.env.DEEPMAKER_HDF5_READ_LIMIT_MS) || HDF5_READ_LIMIT_MS) + Math.ceil(job.bytes.length / 1024 / 1024) * 1000;
  const done = (f: () => void, replace: boolean) => {
    clearTimeout(timer);
    w.off('message', onMessage);
    w.off('error', onError);
    w.off('exit', onExit);
    if (replace) {
      if (worker === w) worker = undefined;
      void w.terminate();
    } else w.unref();
    busy = false;
    f();
    pump();
  };
  const onMessage = (a: H5Answer) => {
    if (a.id !== job.id) return;
    if (a.tree) done(() => resolve(a.tree!), false);
    else done(() => reject(new DeepMakerError(`cannot open the HDF5 file: ${a.error}`, { file: displayName }, 'the file is corrupt or truncated; save the model again (or download it again)')), false);
  };
  const onError = (e: Error) => done(() => reject(new DeepMakerError(`cannot read the HDF5 file: the HDF5 library failed (${e.message})`, { file: displayName }, 'the file is corrupt or truncated; save the model again')), true);
  const onExit = (code: number) => done(() => reject(new DeepMakerError(`cannot read the HDF5 file: the HDF5 reader stopped (exit ${code})`, { file: displayName }, 'the file is corrupt or truncated; save the model again')), true);
  const timer = setTimeout(
    () =>
      done(
        () =>
          reject(
            new DeepMakerError(
              `cannot read the HDF5 file: the HDF5 library had not finished after ${limit / 1000} s on ${job.bytes.length} bytes (a corrupt file can make it loop)`,
              { file: displayName },
              'the file is corrupt or truncated; save the model again (or download it again)',
            ),
          ),
        true,
      ),
    limit,
  );
  w.on('message', onMessage);
  w.on('error', onError);
  w.on('exit', onExit);
  w.postMessage(job);
}

export interface Hdf5Dataset {
  path: string;
  shape: number[];
  dtype: string;
  /** The values as float32 (float64, float16 and integer datasets are converted). */
  readFloat32(): Float32Array;
}

/** A read-only view of one HDF5 file, read whole by the worker. close() is kept for the callers' try/finally. */
export class Hdf5Reader {
  private constructor(
    private readonly root: H5TreeNode,
    /** The file name shown in messages (the user's path, or `archive.keras!model.weights.h5`). */
    readonly displayName: string,
  ) {}

  static async open(bytes: Uint8Array, displayName: string): Promise<Hdf5Reader> {
    if (!isHdf5(bytes)) {
      throw new DeepMakerError('not an HDF5 file (the first 8 bytes are not the HDF5 signature \\x89HDF\\r\\n\\x1a\\n)', { file: displayName }, 'give a Keras .h5 file saved by model.save() or model.save_weights()');
    }
    return new Hdf5Reader(await readTree(bytes, displayName), displayName);
  }

  close(): void {
    /* the worker closed the file when it had read it */
  }

  private fail(what: string, path: string, why: string | undefined): never {
    throw new DeepMakerError(`cannot read ${what} '${path}': ${why ?? 'unknown reason'}`, { file: this.displayName }, 'the file is corrupt or truncated; save the model again');
  }

  /** The object at `path` ('/a/b'; a segment may not be empty), or undefined; a group whose members could not be listed fails. */
  private node(path: string): H5TreeNode | undefined {
    let n: H5TreeNode | undefined = this.root;
    let at = '';
    for (const seg of path.split('/').filter((s) => s !== '')) {
      if (n.kind !== 'group') return undefined;
      if (n.childrenError !== undefined) this.fail('group', at || '/', n.childrenError);
      at += `/${seg}`;
      n = Object.hasOwn(n.children!, seg) ? n.children![seg] : undefined;
      if (!n) return undefined;
      if (n.kind === 'other' && n.error !== undefined) this.fail('object', at, n.error);
    }
    return n;
  }

  /** Object type at `path`: 'Group', 'Dataset', or undefined when absent. */
  typeOf(path: string): 'Group' | 'Dataset' | undefined {
    const n = this.node(path);
    return n?.kind === 'group' ? 'Group' : n?.kind === 'dataset' ? 'Dataset' : undefined;
  }

  /** Member names of a group ([] when the group is missing). */
  keys(path: string): string[] {
    const n = this.node(path);
    if (n?.kind !== 'group') return [];
    if (n.childrenError !== undefined) this.fail('group', path, n.childrenError);
    return Object.keys(n.children!);
  }

  /** Names of the attributes of an object. */
  attrNames(path: string): string[] {
    const n = this.node(path);
    if (!n) return [];
    if (n.attrsError !== undefined) this.fail('attributes of', path, n.attrsError);
    return Object.keys(n.attrs);
  }

  /** An attribute's value as a string or an array of strings (HDF5 byte strings decoded as UTF-8). */
  attr(path: string, name: string): unknown {
    const n = this.node(path);
    if (!n) return undefined;
    if (n.attrsError !== undefined) this.fail('attributes of', path, n.attrsError);
    if (!Object.hasOwn(n.attrs, name)) return undefined;
    const a = n.attrs[name];
    if (a.error !== undefined) this.fail(`attribute '${name}' of`, path, a.error);
    return decode(a.value);
  }

  dataset(path: string): Hdf5Dataset | undefined {
    const n = this.node(path);
    if (!n || n.kind !== 'dataset') return undefined;
    if (n.shape === undefined) this.fail('dataset', path, n.error);
    return {
      path,
      shape: n.shape,
      dtype: n.dtype!,
      readFloat32: () => {
        if (n.error !== undefined || n.value === undefined) this.fail('dataset', path, n.error);
        return toFloat32(n.value, n.dtype!, path, this.displayName);
      },
    };
  }
}

function decode(v: unknown): unknown {
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v)) return v.map(decode);
  if (typeof v === 'bigint') return Number(v);
  return v;
}

function toFloat32(v: unknown, dtype: string, path: string, file: string): Float32Array {
  if (v instanceof Float32Array) return v;
  if (v instanceof Float64Array || v instanceof Int32Array || v instanceof Int16Array || v instanceof Int8Array || v instanceof Uint8Array || v instanceof Uint16Array || v instanceof Uint32Array) {
    if (v instanceof Uint8Array && /e2$|<e|float16/i.test(dtype)) return halfToFloat32(new Uint16Array(v.buffer, v.byteOffset, v.byteLength / 2));
    return Float32Array.from(v as ArrayLike<number>);
  }
  if (v instanceof Uint16Array && /e/.test(dtype)) return halfToFloat32(v);
  if (typeof v === 'number') return Float32Array.of(v);
  throw new DeepMakerError(`dataset '${path}' has type ${dtype}, which is not a number array`, { file }, 'weights must be float or integer arrays');
}

/** IEEE 754 half precision to float32 (Keras mixed-precision weights). */
export function halfToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const sign = x & 0x8000 ? -1 : 1;
    const exp = (x >> 10) & 0x1f;
    const mant = x & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 31) out[i] = mant ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}
