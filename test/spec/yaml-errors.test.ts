/**
 * YAML-level problems get line:column and a message for a user (issue 15): an alias bomb and an
 * unresolved alias had no position, the unresolved alias carried the unrelated hint "aliases may
 * expand at most 100 times", and a two-document spec said "please use YAML.parseAllDocuments()".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_SPEC_VALUES, parseSpec, SpecError, type SpecProblem } from '../../src/spec/load';

function problems(text: string): SpecProblem[] {
  try {
    parseSpec(text, 'deepmaker.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.problems;
  }
  assert.fail('expected a SpecError');
}

/** "Billion laughs": nine aliases of nine aliases of ..., a few hundred bytes. */
function bomb(levels: number): string {
  const lines = ['name: m', 'x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  const names = 'abcdefghijklmnop';
  for (let i = 1; i < levels; i++) lines.push(`x-${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

describe('YAML errors for a user', () => {
  it('an alias bomb: refused at the line where the expansion passes the limit, with the figures', () => {
    const text = bomb(9);
    assert.ok(text.length < 600);
    const ps = problems(text);
    assert.equal(ps.length, 1);
    assert.equal(ps[0].line, 7);
    assert.equal(ps[0].column, 10);
    assert.match(ps[0].message, /^with its aliases expanded the spec holds 4[\d,]+ values, more than the 100,000 allowed; here \*e repeats 66,430$/);
    assert.match(ps[0].hint ?? '', /alias bomb/);
    assert.doesNotMatch(ps[0].message + (ps[0].hint ?? ''), /resource exhaustion|aliases may expand/);
  });

  it('an alias that names no anchor: its position, and no hint about expansion', () => {
    const [p, ...rest] = problems('name: m\ntrain:\n  epochs: *twelve\n');
    assert.equal(rest.length, 0);
    assert.deepEqual([p.line, p.column], [3, 11]);
    assert.equal(p.message, 'the alias *twelve names no anchor');
    assert.match(p.hint ?? '', /define the anchor before this line/);
    assert.doesNotMatch(p.hint ?? '', /expand at most/);
  });

  it('an alias inside the value it repeats (an endless value) is refused, not a stack overflow', () => {
    const [p] = problems('name: m\ntrain: &t\n  epochs: [*t]\n');
    assert.deepEqual([p.line, p.column], [3, 12]);
    assert.match(p.message, /the alias \*t is inside the value it repeats \(&t\): an endless value/);
  });

  it('a two-document spec: where the second starts, in words for a user', () => {
    for (const text of ['name: m\n---\nname: n\n', 'name: m\n---\n']) {
      const [p] = problems(text);
      assert.deepEqual([p.line, p.column], [2, 1]);
      assert.equal(p.message, 'a second YAML document starts here; a deepmaker.yaml is one document');
      assert.doesNotMatch(p.message + p.hint, /parseAllDocuments/);
    }
  });

  it('other YAML errors keep their position without a repeated "at line" tail', () => {
    const [p] = problems('name: m\nsearch: {population: 8, population: 9}\n');
    assert.deepEqual([p.line, p.column], [2, 25]);
    assert.equal(p.message, 'malformed YAML: Map keys must be unique');
  });

  it('ordinary aliases still work, also a value repeated more than 100 times', () => {
    const s = parseSpec('name: m\ntrain:\n  epochs: &e 3\nquantize:\n  fineTune: { epochs: *e }\n', 'deepmaker.yaml');
    assert.equal(s.train.epochs, 3);
    assert.equal((s.quantize as any).fineTune.epochs, 3);
    const files = `[&f a.bin, ${Array(150).fill('*f').join(', ')}]`;
    const many = parseSpec(`name: m\ndata:\n  dataset: cifar10\n  train: { files: ${files} }\n  test: { files: [*f] }\n`, 'deepmaker.yaml');
    assert.equal((many.data as any).train.files.length, 151);
  });

  it('a spec with more values than allowed, aliases or not', () => {
    const [p] = problems(`name: m\nx-list:\n${'  - 1\n'.repeat(MAX_SPEC_VALUES + 10)}`);
    assert.match(p.message, /^the spec holds 100,01\d values; at most 100,000 are allowed$/);
  });
});
