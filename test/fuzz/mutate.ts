/**
 * Corruptions of model files for the importer fuzz tests: byte-level (flips, truncation, zeroed or
 * 0xff runs, inserted and duplicated chunks), JSON-level (a field replaced by an edge value, deleted,
 * an array element duplicated, a shape made huge), and zip-level (a member dropped, renamed,
 * corrupted or replaced, stored instead of deflated). Every choice is drawn by fast-check, so a
 * failing case shrinks and replays from its seed.
 */
import fc from 'fast-check';
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';

/** Values a corrupt or hostile file may hold where a model file holds a number, string, list or object. */
export const edgeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -1, 1, 3, 2 ** 31, 2 ** 53, 1e9, 1e308, -1e308, 0.5, null, true, false, '', 'relu', 'same', 'channels_first', 'float64', 'uint8', 'Dense', 'Functional', '../x', '/etc/passwd'),
  fc.constantFrom([], {}, [null], [1e9, 1e9, 1e9], [100000, 100000, 2], [null, 1e9], [-1, -1], [2 ** 53, 1], { class_name: 'Dense', config: {} }, { class_name: 'Bogus', config: {} }, [[[]]], [['a', 0, 0]]),
  fc.integer({ min: -5, max: 70000 }),
  fc.double({ noNaN: false }),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 2 }),
);

export type ByteOp = { op: 'flip' | 'truncate' | 'zero' | 'ones' | 'insert' | 'duplicate' | 'empty'; at: number; len: number; xor: number; count: number };

export const byteOp: fc.Arbitrary<ByteOp> = fc.record({
  op: fc.constantFrom('flip', 'flip', 'flip', 'truncate', 'truncate', 'zero', 'ones', 'insert', 'duplicate', 'empty'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 4096 }),
  xor: fc.integer({ min: 1, max: 255 }),
  count: fc.integer({ min: 1, max: 16 }),
});

/** A corrupted copy of `bytes` (never the original array). */
export function mutateBytes(bytes: Uint8Array, m: ByteOp): Uint8Array {
  const n = bytes.length;
  const at = n ? m.at % n : 0;
  switch (m.op) {
    case 'empty':
      return new Uint8Array(0);
    case 'truncate':
      return bytes.slice(0, at);
    case 'flip': {
      const out = bytes.slice();
      // Spread `count` flips from `at` on, a prime stride apart, so several structures are hit.
      for (let i = 0; i < m.count && n; i++) out[(at + i * 7919 * (m.len | 1)) % n] ^= m.xor;
      return out;
    }
    case 'zero':
    case 'ones': {
      const out = bytes.slice();
      out.fill(m.op === 'zero' ? 0 : 0xff, at, Math.min(n, at + m.len));
      return out;
    }
    case 'insert': {
      const chunk = Uint8Array.from({ length: m.len }, (_, i) => (i * m.xor + m.count) & 0xff);
      return concat(bytes.subarray(0, at), chunk, bytes.subarray(at));
    }
    case 'duplicate':
      return concat(bytes.subarray(0, Math.min(n, at + m.len)), bytes.subarray(at));
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Every path (keys and indices) into a JSON value, the root included. */
export function jsonPaths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => jsonPaths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) jsonPaths(x, [...prefix, k], out);
  return out;
}

export type JsonOp = { op: 'replace' | 'delete' | 'duplicate' | 'hugeShape' | 'wrongType'; path: number; value: unknown };

export const jsonOp: fc.Arbitrary<JsonOp> = fc.record({
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'duplicate', 'hugeShape', 'wrongType'),
  path: fc.nat(),
  value: edgeValue,
});

const clone = (v: unknown): any => JSON.parse(JSON.stringify(v));

/**
 * A mutated deep copy of `doc`. `within` restricts the mutation to paths that start with one of
 * these keys (e.g. the weights manifest). hugeShape replaces the nearest shape-like list (a list of
 * numbers and nulls) with a huge one; wrongType swaps a value for one of another JSON type.
 */
export function mutateJson(doc: unknown, m: JsonOp, within?: string[]): any {
  const root = clone(doc);
  let paths = jsonPaths(root).filter((p) => p.length > 0);
  if (within) paths = paths.filter((p) => within.includes(String(p[0])));
  if (m.op === 'hugeShape') {
    const shapes = paths.filter((p) => {
      const v = get(root, p);
      return Array.isArray(v) && v.length > 0 && v.every((x) => x === null || typeof x === 'number');
    });
    if (shapes.length) paths = shapes;
  }
  if (!paths.length) return root;
  const p = paths[m.path % paths.length];
  const parent = get(root, p.slice(0, -1));
  const key = p[p.length - 1];
  const old = parent[key];
  switch (m.op) {
    case 'replace':
      set(parent, key, clone(m.value ?? null));
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.splice(Number(key), 0, clone(old));
      else if (Array.isArray(old)) set(parent, key, [...old, ...clone(old)]);
      else set(parent, key, [old, old]);
      break;
    case 'hugeShape':
      set(parent, key, Array.isArray(old) ? old.map((x: unknown, i: number) => (x === null ? null : [1e9, 100000, 2 ** 31, 65536][i % 4])) : [1e9, 1e9]);
      break;
    case 'wrongType':
      set(parent, key, typeof old === 'string' ? 7 : typeof old === 'number' ? String(old) : Array.isArray(old) ? { 0: old[0] } : old && typeof old === 'object' ? Object.values(old) : 'x');
      break;
  }
  return root;
}

function get(root: any, path: (string | number)[]): any {
  let v = root;
  for (const k of path) v = v[k];
  return v;
}

/** Own property only: a generated key may be `__proto__`. */
function set(parent: any, key: string | number, v: unknown): void {
  Object.defineProperty(parent, key, { value: v, enumerable: true, writable: true, configurable: true });
}

export type ZipOp = {
  op: 'drop' | 'rename' | 'config' | 'configText' | 'weights' | 'metadata' | 'extra' | 'store' | 'whole';
  member: number;
  json: JsonOp;
  bytes: ByteOp;
};

export const zipOp: fc.Arbitrary<ZipOp> = fc.record({
  op: fc.constantFrom('drop', 'rename', 'config', 'config', 'config', 'configText', 'weights', 'weights', 'metadata', 'extra', 'store', 'whole', 'whole'),
  member: fc.nat(),
  json: jsonOp,
  bytes: byteOp,
});

/** A corrupted .keras archive: one member changed (or the zip's own bytes, for `whole`). */
export function mutateZip(zip: Uint8Array, m: ZipOp): Uint8Array {
  if (m.op === 'whole') return mutateBytes(zip, m.bytes);
  const entries = unzipSync(zip);
  const names = Object.keys(entries).sort();
  const name = names[m.member % names.length];
  const out: Zippable = { ...entries };
  switch (m.op) {
    case 'drop':
      delete out[name];
      break;
    case 'rename':
      out[`${name}.bak`] = entries[name];
      delete out[name];
      break;
    case 'config':
      out['config.json'] = strToU8(JSON.stringify(mutateJson(JSON.parse(strFromU8(entries['config.json'])), m.json)));
      break;
    case 'configText':
      out['config.json'] = mutateBytes(entries['config.json'], m.bytes);
      break;
    case 'weights':
      out['model.weights.h5'] = mutateBytes(entries['model.weights.h5'], m.bytes);
      break;
    case 'metadata':
      out['metadata.json'] = strToU8(JSON.stringify(mutateJson(JSON.parse(strFromU8(entries['metadata.json'])), m.json)));
      break;
    case 'extra':
      out[`assets/${m.member % 5}.bin`] = new Uint8Array(m.bytes.len);
      break;
    case 'store':
      return zipSync(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [v as Uint8Array, { level: 0 }]])) as Zippable);
  }
  return zipSync(out);
}
