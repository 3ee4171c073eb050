/**
 * HDF5 reading through h5wasm (the HDF5 C library compiled to WebAssembly; no Python, no native
 * addon). h5wasm is an ES module with a `ready` promise; its ESM build uses Emscripten's in-memory
 * file system, so a file is read by writing its bytes into that FS (which also serves HDF5 files
 * that arrive as bytes, e.g. model.weights.h5 inside a .keras zip).
 *
 * The HDF5 library reports failures on stderr ("HDF5-DIAG ...") and h5wasm returns an invalid id or
 * throws a bare message; this wrapper captures that text and turns it into a DeepMakerError naming
 * the file and the object.
 */
import { DeepMakerError } from '../util/errors';

type H5Module = typeof import('h5wasm', { with: { 'resolution-mode': 'import' } });
type H5File = InstanceType<H5Module['File']>;

let h5Promise: Promise<H5Module> | undefined;

async function h5(): Promise<H5Module> {
  h5Promise ??= (async () => {
    const mod = await import('h5wasm');
    await mod.ready;
    return mod;
  })();
  return h5Promise;
}

export const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return HDF5_MAGIC.every((b, i) => bytes[i] === b);
}

/** Runs `fn` with HDF5's stderr diagnostics captured instead of printed; returns them with the result. */
function capturingDiagnostics<T>(fn: () => T): { value?: T; error?: unknown; diag: string } {
  const original = process.stderr.write;
  let diag = '';
  (process.stderr as any).write = (chunk: any, ...rest: any[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    if (/HDF5-DIAG|^\s+#\d{3}:|^\s+(major|minor):/m.test(text)) {
      diag += text;
      return true;
    }
    return (original as any).call(process.stderr, chunk, ...rest);
  };
  try {
    return { value: fn(), diag };
  } catch (error) {
    return { error, diag };
  } finally {
    process.stderr.write = original;
  }
}

/** The last "minor:" line of an HDF5 error stack: the most specific reason. */
function diagReason(diag: string): string | undefined {
  const minors = [...diag.matchAll(/minor:\s*(.+)/g)].map((m) => m[1].trim());
  const details = [...diag.matchAll(/#\d{3}:.*?\):\s*(.+)/g)].map((m) => m[1].trim());
  const last = details[details.length - 1];
  return last ?? minors[minors.length - 1];
}

let fileCounter = 0;

export interface Hdf5Dataset {
  path: string;
  shape: number[];
  dtype: string;
  /** The values as float32 (float64, float16 and integer datasets are converted). */
  readFloat32(): Float32Array;
}

/** A read-only view of one HDF5 file held in memory. Close it when done. */
export class Hdf5Reader {
  private constructor(
    private readonly mod: H5Module,
    private readonly file: H5File,
    private readonly fsPath: string,
    /** The file name shown in messages (the user's path, or `archive.keras!model.weights.h5`). */
    readonly displayName: string,
  ) {}

  static async open(bytes: Uint8Array, displayName: string): Promise<Hdf5Reader> {
    if (!isHdf5(bytes)) {
      throw new DeepMakerError('not an HDF5 file (the first 8 bytes are not the HDF5 signature \\x89HDF\\r\\n\\x1a\\n)', { file: displayName }, 'give a Keras .h5 file saved by model.save() or model.save_weights()');
    }
    const mod = await h5();
    const fsPath = `/deepmaker-${process.pid}-${++fileCounter}.h5`;
    mod.FS!.writeFile(fsPath, bytes);
    const r = capturingDiagnostics(() => new mod.File(fsPath, 'r'));
    const file = r.value;
    if (r.error || !file || (file as any).file_id < 0n) {
      try {
        mod.FS!.unlink(fsPath);
      } catch {
        /* already gone */
      }
      const why = diagReason(r.diag) ?? (r.error instanceof Error ? r.error.message : 'unknown reason');
      throw new DeepMakerError(`cannot open the HDF5 file: ${why}`, { file: displayName }, 'the file is corrupt or truncated; save the model again (or download it again)');
    }
    return new Hdf5Reader(mod, file, fsPath, displayName);
  }

  close(): void {
    try {
      this.file.close();
    } finally {
      try {
        this.mod.FS!.unlink(this.fsPath);
      } catch {
        /* already gone */
      }
    }
  }

  private fail(what: string, path: string, diag: string, error: unknown): never {
    const why = diagReason(diag) ?? (error instanceof Error ? error.message : String(error ?? 'unknown reason'));
    throw new DeepMakerError(`cannot read ${what} '${path}': ${why}`, { file: this.displayName }, 'the file is corrupt or truncated; save the model again');
  }

  /** Object type at `path`: 'Group', 'Dataset', or undefined when absent. */
  typeOf(path: string): 'Group' | 'Dataset' | undefined {
    const r = capturingDiagnostics(() => this.file.get(path));
    if (r.error) this.fail('object', path, r.diag, r.error);
    const obj = r.value as any;
    if (!obj) return undefined;
    if (obj.type === 'Dataset') return 'Dataset';
    if (obj.type === 'Group') return 'Group';
    return undefined;
  }

  /** Member names of a group ([] when the group is missing). */
  keys(path: string): string[] {
    const r = capturingDiagnostics(() => {
      const g = this.file.get(path) as any;
      return g && g.type === 'Group' ? (g.keys() as string[]) : [];
    });
    if (r.error) this.fail('group', path, r.diag, r.error);
    return r.value!;
  }

  /** Names of the attributes of an object. */
  attrNames(path: string): string[] {
    const r = capturingDiagnostics(() => {
      const o = (path === '/' ? this.file : this.file.get(path)) as any;
      return o ? Object.keys(o.attrs) : [];
    });
    if (r.error) this.fail('attributes of', path, r.diag, r.error);
    return r.value!;
  }

  /** An attribute's value as a string or an array of strings (HDF5 byte strings decoded as UTF-8). */
  attr(path: string, name: string): unknown {
    const r = capturingDiagnostics(() => {
      const o = (path === '/' ? this.file : this.file.get(path)) as any;
      if (!o || !(name in o.attrs)) return undefined;
      return decode(o.attrs[name].value);
    });
    if (r.error) this.fail(`attribute '${name}' of`, path, r.diag, r.error);
    return r.value;
  }

  dataset(path: string): Hdf5Dataset | undefined {
    const r = capturingDiagnostics(() => this.file.get(path) as any);
    if (r.error) this.fail('dataset', path, r.diag, r.error);
    const d = r.value;
    if (!d || d.type !== 'Dataset') return undefined;
    const meta = capturingDiagnostics(() => ({ shape: (d.shape ?? []) as number[], dtype: String(d.dtype) }));
    if (meta.error) this.fail('dataset', path, meta.diag, meta.error);
    return {
      path,
      shape: meta.value!.shape,
      dtype: meta.value!.dtype,
      readFloat32: () => {
        const v = capturingDiagnostics(() => d.value);
        if (v.error || v.value === undefined || v.value === null) this.fail('dataset', path, v.diag, v.error);
        return toFloat32(v.value, meta.value!.dtype, path, this.displayName);
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
