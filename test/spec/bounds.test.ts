/**
 * Every value of a spec is bounded (issue 15): `search.population: 1e29`, `verify.samples: 1e15`,
 * dense `units: 1e9` and a 100,000-character `name` passed `validate`; `target.clockMHz: 1e400` and
 * `train.learningRate: .inf` became `null` in dist/spec. Now every number, string and list in the
 * schema has a maximum, and non-finite numbers are refused, each with file:line:column and the key.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSpec, SpecError, type SpecProblem } from '../../src/spec/load';

const REPO = join(__dirname, '..', '..');

function problems(text: string): SpecProblem[] {
  try {
    parseSpec(text, 'deepmaker.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.problems;
  }
  assert.fail('expected a SpecError');
}

function one(text: string): string {
  const ps = problems(text);
  assert.equal(ps.length, 1, JSON.stringify(ps));
  const p = ps[0];
  assert.ok(p.line !== undefined && p.column !== undefined, `a position: ${JSON.stringify(p)}`);
  return `${p.line}:${p.column} ${p.key}: ${p.message}`;
}

describe('spec bounds', () => {
  it('every number, string and list in the schema has an upper bound', () => {
    const schema = JSON.parse(readFileSync(join(REPO, 'schemas', 'deepmaker.schema.json'), 'utf8'));
    const unbounded: string[] = [];
    const walk = (n: unknown, path: string) => {
      if (Array.isArray(n)) return n.forEach((v, i) => walk(v, `${path}/${i}`));
      if (!n || typeof n !== 'object') return;
      const o = n as Record<string, unknown>;
      const types = ([] as unknown[]).concat(o.type ?? []);
      const fixed = 'enum' in o || 'const' in o;
      if ((types.includes('number') || types.includes('integer')) && !fixed && !('maximum' in o || 'exclusiveMaximum' in o)) unbounded.push(`${path} (number)`);
      if (types.includes('string') && !fixed && !('maxLength' in o)) unbounded.push(`${path} (string)`);
      if (types.includes('array') && !('maxItems' in o)) unbounded.push(`${path} (list)`);
      for (const [k, v] of Object.entries(o)) if (k !== 'default' && k !== 'examples') walk(v, `${path}/${k}`);
    };
    walk(schema, '');
    assert.deepEqual(unbounded, []);
  });

  it("the issue's values are refused with file:line:column, the key and the limit", () => {
    assert.equal(one('name: m\nsearch:\n  population: 1e29\n'), "3:15 search.population: 1e29 is too large: the maximum is 10000");
    assert.equal(one('name: m\nverify:\n  samples: 1e15\n'), "3:12 verify.samples: 1e15 is too large: the maximum is 10000000");
    assert.equal(one('name: m\ntrain:\n  architecture:\n    - { type: dense, units: 1e9 }\n'), "4:29 train.architecture.0.units: 1e9 is too large: the maximum is 65536");
    assert.equal(one(`name: ${'a'.repeat(100_000)}\n`), '1:7 name: is 100000 characters long; at most 64 are allowed');
    assert.equal(one('name: m\ntarget:\n  clockMHz: 5000\n'), '3:13 target.clockMHz: 5000 is too large: the maximum is 400');
  });

  it('non-finite numbers (.inf, -.inf, .nan, 1e400) are refused where they stand, nested or in lists', () => {
    assert.match(one('name: m\ntarget:\n  clockMHz: 1e400\n'), /^3:13 target\.clockMHz: 1e400 is not a finite number$/);
    assert.match(one('name: m\ntrain:\n  learningRate: .inf\n'), /^3:17 train\.learningRate: \.inf is not a finite number$/);
    assert.match(one('name: m\nverify:\n  tolerance: .NaN\n'), /^3:14 verify\.tolerance: \.NaN is not a finite number$/);
    assert.match(one('name: m\nverify:\n  sweep: [4, -.inf]\n'), /^3:14 verify\.sweep\.1: -\.inf is not a finite number$/);
    assert.match(one('name: m\ndata:\n  validationSplit: -1e999\n'), /^3:20 data\.validationSplit: -1e999 is not a finite number$/);
    const ps = problems('name: m\ntarget:\n  clockMHz: .inf\ntrain:\n  epochs: .nan\n');
    assert.deepEqual(ps.map((p) => p.key), ['target.clockMHz', 'train.epochs'], 'every one is reported');
    assert.match(ps[0].hint ?? '', /give a number in the range/);
  });

  it('the largest allowed values and the example projects still validate', () => {
    const s = parseSpec('name: m\nsearch:\n  population: 10000\ntarget:\n  clockMHz: 400\n', 'deepmaker.yaml');
    assert.equal(s.search.population, 10000);
    for (const p of readdirSync(join(REPO, 'models'))) {
      const file = join(REPO, 'models', p, 'deepmaker.yaml');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      assert.doesNotThrow(() => parseSpec(text, file), p);
    }
  });
});
