/**
 * The HDF5 reading thread (src/importers/hdf5.ts starts it). h5wasm runs the HDF5 C library in
 * WebAssembly, synchronously: on some corrupt files the library loops forever (a fuzzed Keras .h5
 * whose superblock area was duplicated spun in the attribute reader with no end). Reading here, in
 * a worker the main thread can stop, turns such a file into an error instead of a hung convert.
 *
 * A job is one file's bytes; the answer is the whole file as a plain tree (groups, attributes,
 * datasets with their values), each read failure kept beside the object it concerns so that the
 * reader reports it only if the importer asks for that object.
 */
import { parentPort } from 'node:worker_threads';

export interface H5Failure {
  error: string;
}
export interface H5AttrValue {
  value?: unknown;
  error?: string;
}
export interface H5TreeNode {
  kind: 'group' | 'dataset' | 'other';
  attrs: Record<string, H5AttrValue>;
  /** Why the attributes could not be listed. */
  attrsError?: string;
  children?: Record<string, H5TreeNode>;
  /** Why the members could not be listed (or the nesting limit). */
  childrenError?: string;
  shape?: number[];
  dtype?: string;
  value?: unknown;
  /** Why the dataset's values could not be read. */
  error?: string;
}
export type H5Job = { id: number; bytes: Uint8Array; maxValues: number };
export type H5Answer = { id: number; tree?: H5TreeNode; error?: string };

/** Groups nested deeper than this are not walked (HDF5 hard links can make a group its own ancestor). */
export const MAX_DEPTH = 32;
/** Objects walked per file, at most. */
export const MAX_OBJECTS = 200_000;

/** Runs `fn` with HDF5's stderr output captured instead of printed; returns it with the result. */
function capturingDiagnostics<T>(fn: () => T): { value?: T; error?: unknown; diag: string } {
  const original = process.stderr.write;
  let diag = '';
  (process.stderr as any).write = (chunk: any, ...rest: any[]) => {
    // Only the HDF5 library writes here while it runs: all of it is its error stack (long lines
    // arrive in pieces, so no line-by-line filter would catch every piece).
    diag += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    const done = rest.find((r) => typeof r === 'function');
    if (done) done();
    return true;
  };
  try {
    return { value: fn(), diag };
  } catch (error) {
    return { error, diag };
  } finally {
    process.stderr.write = original;
  }
}

/** The most specific reason in an HDF5 error stack (its last detail, else its last "minor:" line). */
export function diagReason(diag: string): string | undefined {
  const minors = [...diag.matchAll(/minor:\s*(.+)/g)].map((m) => m[1].trim());
  const details = [...diag.matchAll(/#\d{3}:.*?\):\s*(.+)/g)].map((m) => m[1].trim());
  return details[details.length - 1] ?? minors[minors.length - 1];
}

function why(r: { error?: unknown; diag: string }): string {
  return diagReason(r.diag) ?? (r.error instanceof Error ? r.error.message : String(r.error ?? 'unknown reason'));
}

/** Values that survive postMessage and that the reader knows how to turn into numbers or text. */
function plain(v: unknown): boolean {
  return ArrayBuffer.isView(v) || ['number', 'bigint', 'string', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => plain(x) || x === null));
}

let fileCounter = 0;

async function read(job: H5Job): Promise<H5Answer> {
  const mod = await import('h5wasm');
  await mod.ready;
  const fsPath = `/deepmaker-${process.pid}-${++fileCounter}.h5`;
  mod.FS!.writeFile(fsPath, job.bytes);
  const opened = capturingDiagnostics(() => new mod.File(fsPath, 'r'));
  const file = opened.value as any;
  if (opened.error || !file || file.file_id < 0n) {
    try {
      mod.FS!.unlink(fsPath);
    } catch {
      /* already gone */
    }
    return { id: job.id, error: why(opened) };
  }
  let objects = 0;
  const attrsOf = (o: any, node: H5TreeNode) => {
    const names = capturingDiagnostics(() => Object.keys(o.attrs));
    if (names.error) {
      node.attrsError = why(names);
      return;
    }
    for (const name of names.value!) {
      const a = capturingDiagnostics(() => o.attrs[name].value);
      node.attrs[name] = a.error ? { error: why(a) } : plain(a.value) ? { value: a.value } : { error: 'an attribute of a type this tool does not read' };
    }
  };
  const walk = (o: any, depth: number): H5TreeNode => {
    objects++;
    const type = o?.type;
    const node: H5TreeNode = { kind: type === 'Group' ? 'group' : type === 'Dataset' ? 'dataset' : 'other', attrs: {} };
    if (node.kind === 'other') return node;
    attrsOf(o, node);
    if (node.kind === 'dataset') {
      const meta = capturingDiagnostics(() => ({ shape: (o.shape ?? []) as number[], dtype: String(o.dtype) }));
      if (meta.error) {
        node.error = why(meta);
        return node;
      }
      node.shape = meta.value!.shape;
      node.dtype = meta.value!.dtype;
      const count = node.shape.reduce((a, b) => a * b, 1);
      if (!(count <= job.maxValues)) {
        node.error = `it declares ${count} values (shape [${node.shape.join(', ')}]), more than the ${job.maxValues} a model file may hold`;
        return node;
      }
      const v = capturingDiagnostics(() => o.value);
      if (v.error || v.value === undefined || v.value === null) node.error = why(v);
      else if (plain(v.value)) node.value = v.value;
      else node.error = `type ${node.dtype} is not a number array`;
      return node;
    }
    node.children = {};
    if (depth >= MAX_DEPTH || objects >= MAX_OBJECTS) {
      node.childrenError = depth >= MAX_DEPTH ? `groups nest deeper than ${MAX_DEPTH} levels (a link loop?)` : `the file holds more than ${MAX_OBJECTS} objects`;
      return node;
    }
    const keys = capturingDiagnostics(() => o.keys() as string[]);
    if (keys.error) {
      node.childrenError = why(keys);
      return node;
    }
    for (const k of keys.value!) {
      const c = capturingDiagnostics(() => o.get(k));
      node.children[k] = c.error ? { kind: 'other', attrs: {}, error: why(c) } : walk(c.value, depth + 1);
    }
    return node;
  };
  try {
    return { id: job.id, tree: walk(file, 0) };
  } finally {
    try {
      file.close();
    } catch {
      /* closing a damaged file may fail; the bytes are dropped below */
    }
    try {
      mod.FS!.unlink(fsPath);
    } catch {
      /* already gone */
    }
  }
}

parentPort?.on('message', (job: H5Job) => {
  read(job).then(
    (answer) => parentPort!.postMessage(answer),
    (e) => parentPort!.postMessage({ id: job.id, error: (e as Error)?.message ?? String(e) }),
  );
});
