/**
 * Property-based fuzzing of the spec loader (issue 15): generated YAML values and mutations of valid
 * specs (text edits and value replacements). Every input either validates or gives a SpecError with
 * the file named; nothing else may escape, and a spec that validates holds only finite numbers.
 * Counts per run: 4,000 random documents + 4,000 value mutations + 4,000 text mutations = 12,000.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { parseSpec, SpecError } from '../../src/spec/load';

const REPO = join(__dirname, '..', '..');
const SEED = Number(process.env.DM_FUZZ_SEED ?? 15);

const VALID: string[] = readdirSync(join(REPO, 'models'))
  .map((p) => join(REPO, 'models', p, 'deepmaker.yaml'))
  .filter((f) => existsSync(f))
  .map((f) => readFileSync(f, 'utf8'));
VALID.push('name: m\n', 'name: kws\ndata:\n  dataset: csv\n  train: { files: [a.csv] }\n  test: { files: [b.csv] }\n  csv: { label: -1, window: 16 }\n');

let accepted = 0;
let refused = 0;

/** Loads `text`; anything but a Spec or a SpecError naming the file fails the property. */
function check(text: string): void {
  let spec: unknown;
  try {
    spec = parseSpec(text, 'fuzz.yaml');
  } catch (e) {
    if (!(e instanceof SpecError)) throw new Error(`not a SpecError: ${(e as Error)?.stack ?? String(e)}\n--- input ---\n${text.slice(0, 2000)}`);
    assert.ok(e.problems.length > 0);
    assert.ok(e.message.startsWith('fuzz.yaml'), e.message);
    refused++;
    return;
  }
  accepted++;
  const walk = (v: unknown): void => {
    if (typeof v === 'number') assert.ok(Number.isFinite(v), `a non-finite number in a valid spec: ${text}`);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(spec);
}

/** Scalars that stress the schema: huge, tiny, non-finite, long, odd strings. */
const edgeScalar = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53 + 1, 1e29, -1e29, 1e-320, 0.5, Infinity, -Infinity, NaN, null, true, false, '', 'device', 'auto', '.inf', '1e400', '~'),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 80 }),
  fc.string({ minLength: 4000, maxLength: 5000 }),
);
const value = fc.oneof(edgeScalar, fc.array(edgeScalar, { maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 12 }), edgeScalar, { maxKeys: 4 }), fc.jsonValue({ maxDepth: 3 }));

/** Every path (list of keys/indices) into a plain value. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

/** Sets own properties only (a generated key may be `__proto__`: the harness must not pollute prototypes). */
function setAt(root: any, path: (string | number)[], v: unknown): unknown {
  if (path.length === 0) return v;
  let node = root;
  for (const k of path.slice(0, -1)) node = Object.getOwnPropertyDescriptor(node, k)!.value;
  Object.defineProperty(node, path[path.length - 1], { value: v, enumerable: true, writable: true, configurable: true });
  return root;
}

describe('fuzz: spec loader', () => {
  it('random YAML documents (4,000)', () => {
    fc.assert(
      fc.property(fc.oneof(value, fc.record({ name: fc.oneof(fc.constant('m'), fc.string()) }, { requiredKeys: [] }).chain((r) => fc.dictionary(fc.constantFrom('data', 'search', 'train', 'quantize', 'convert', 'verify', 'dse', 'rtl', 'sim', 'target', 'model', 'bogus'), value).map((d) => ({ ...r, ...d })))), (v) => {
        check(stringify(v));
      }),
      { numRuns: 4000, seed: SEED },
    );
  });

  it('valid specs with one value replaced (4,000)', () => {
    const docs = VALID.map((t) => parse(t));
    fc.assert(
      fc.property(fc.nat(docs.length - 1), fc.nat(), value, fc.boolean(), (d, p, v, asKey) => {
        const doc = structuredClone(docs[d]);
        const all = paths(doc);
        const path = all[p % all.length];
        // A key is renamed only in a mapping (a numeric key on a list would make it sparse and huge in the harness, not in the loader).
        const parent = path.slice(0, -1).reduce((n: any, k) => Object.getOwnPropertyDescriptor(n, k)!.value, doc);
        const mutated = asKey && path.length > 0 && !Array.isArray(parent) ? setAt(doc, [...path.slice(0, -1), typeof v === 'string' ? v : (JSON.stringify(v) ?? 'x')], 1) : setAt(doc, path, v);
        check(stringify(mutated));
      }),
      { numRuns: 4000, seed: SEED },
    );
  });

  it('valid spec texts with characters and lines edited (4,000)', () => {
    const edit = fc.oneof(
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('&a ', '*a', '*', '&', '---\n', '...\n', '\t', ': ', '- ', '{', '[', ']', '}', '"', "'", '#', '!!binary ', '!!js/function ', '<<: *a\n', '? ', '|\n', '>\n', '%YAML 1.1\n', '\u0000', '\uFEFF', '.nan', '1e400')) }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('dupline' as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.nat(VALID.length - 1), fc.array(edit, { minLength: 1, maxLength: 4 }), (d, edits) => {
        let t = VALID[d];
        for (const e of edits) {
          const at = t.length ? e.at % (t.length + 1) : 0;
          if (e.op === 'insert') t = t.slice(0, at) + e.text + t.slice(at);
          else if (e.op === 'delete') t = t.slice(0, at) + t.slice(at + e.len);
          else if (e.op === 'truncate') t = t.slice(0, at);
          else {
            const lines = t.split('\n');
            const i = e.at % lines.length;
            lines.splice(i, 0, lines[i]);
            t = lines.join('\n');
          }
        }
        check(t);
      }),
      { numRuns: 4000, seed: SEED },
    );
  });

  it('saw both outcomes', () => {
    console.log(`spec loader fuzz: ${accepted + refused} specs, ${accepted} valid, ${refused} refused with a SpecError`);
    assert.ok(accepted + refused >= 12_000);
    assert.ok(accepted > 100 && refused > 100);
  });
});
