import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpec, SpecError } from '../../src/spec/load';

const REPO = join(__dirname, '..', '..');

function problems(text: string) {
  try {
    parseSpec(text, 'deepmaker.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, String(e));
    return e.problems;
  }
  assert.fail('expected a SpecError');
}

describe('spec loader', () => {
  it('fills defaults in every section', () => {
    const s = parseSpec('name: model\n', 'deepmaker.yaml');
    assert.equal(s.data.dataset, 'mnist');
    assert.equal(s.data.validationSplit, 0.1);
    assert.equal(s.target.device, 'ice40-up5k');
    assert.equal(s.convert.rounding, 'half-even');
  });

  it('names line, column and a suggestion for a mistyped key', () => {
    const [p] = problems('name: model\ndata:\n  datset: mnist\n');
    assert.equal(p.line, 3);
    assert.equal(p.column, 3);
    assert.equal(p.key, 'data.datset');
    assert.match(p.message, /did you mean 'dataset'/);
  });

  it('rejects an unknown top-level key', () => {
    const [p] = problems('name: model\nfoo: 1\n');
    assert.equal(p.line, 2);
    assert.match(p.message, /unknown key 'foo'/);
  });

  it('points at a bad enum value and suggests the nearest', () => {
    const [p] = problems('name: model\ntarget:\n  device: ice40-up5\n');
    assert.deepEqual([p.line, p.column], [3, 11]);
    assert.match(p.message, /did you mean 'ice40-up5k'/);
  });

  it('reports malformed YAML with a position', () => {
    const [p] = problems('name: model\ndata: {dataset: mnist\n');
    assert.ok(p.line! >= 2);
    assert.match(p.message, /malformed YAML/);
  });

  it('limits alias expansion', () => {
    const lol = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) lol.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill('*' + String.fromCharCode(96 + i)).join(', ')}]`);
    const [p] = problems(`name: model\n${lol.join('\n')}\n`);
    assert.match(p.message + (p.hint ?? ''), /alias/i);
  });

  it('accepts every spec shipped in the repository (root and models/)', () => {
    const files = ['deepmaker.yaml', ...readdirSync(join(REPO, 'models')).map((d) => join('models', d, 'deepmaker.yaml'))];
    for (const f of files) parseSpec(readFileSync(join(REPO, f), 'utf8'), f);
    const tiny = parseSpec(readFileSync(join(REPO, 'models/mnist-nas-5k/deepmaker.yaml'), 'utf8'), 'x.yaml');
    assert.deepEqual(tiny.search.select, { rule: 'lowest-error', maxParams: 5000 });
    assert.deepEqual(tiny.train.augment, { shift: 2 });
  });

  it('bounds search.select and train.augment', () => {
    assert.match(problems('name: m\nsearch:\n  select: { rule: lowest-error, maxParam: 5 }\n')[0].message, /maxParams/);
    assert.ok(problems('name: m\ntrain:\n  augment: { shift: -1 }\n').length > 0);
    assert.ok(problems('name: m\ntrain:\n  augment: {}\n').length > 0, 'shift is required');
  });

  it('search.fidelity: schedule, stratify and the confirmation rung (off unless asked for)', () => {
    const d = parseSpec('name: m\n', 'deepmaker.yaml').search.fidelity;
    assert.deepEqual([d.schedule, d.stratify, d.final], ['rungs', false, undefined]);
    const s = parseSpec('name: m\nsearch:\n  fidelity: { schedule: hyperband, stratify: true, final: { top: 3, epochs: 2 } }\n', 'deepmaker.yaml').search.fidelity;
    assert.deepEqual(s.final, { top: 3, epochs: 2, learningRateSchedule: 'cosine' });
    assert.equal(s.schedule, 'hyperband');
    const [bad] = problems('name: m\nsearch:\n  fidelity:\n    schedule: hyperbnd\n');
    assert.deepEqual([bad.line, bad.column], [4, 15]);
    assert.match(bad.message, /did you mean 'hyperband'/);
    assert.match(problems('name: m\nsearch:\n  fidelity: { final: { top: 3 } }\n')[0].message, /epochs/);
    assert.ok(problems('name: m\nsearch:\n  fidelity: { final: { top: 0, epochs: 2 } }\n').length > 0);
    // recipe train: the train stage's epochs; epochs of its own is an error that says what to do.
    const r = parseSpec('name: m\nsearch:\n  fidelity: { final: { top: 4, recipe: train, candidates: per-depth } }\n', 'deepmaker.yaml').search.fidelity.final;
    assert.deepEqual([r?.top, r?.recipe, r?.candidates, r?.epochs], [4, 'train', 'per-depth', undefined]);
    const [both] = problems('name: m\nsearch:\n  fidelity:\n    final: { top: 4, recipe: train, epochs: 3 }\n');
    assert.match(both.message, /recipe train trains for train\.epochs .*remove search\.fidelity\.final\.epochs/);
    assert.equal(both.line, 4);
    assert.match(problems('name: m\nsearch:\n  fidelity: { final: { top: 3, recipe: search } }\n')[0].message, /epochs/);
    assert.match(problems('name: m\nsearch:\n  fidelity: { final: { top: 3, epochs: 2, candidates: deep } }\n')[0].message, /per-depth/);
  });

  it('quantize.fineTune.earlyStopping: false or { patience }, anything else an error at its line', () => {
    const off = parseSpec('name: m\nquantize:\n  mode: ternary\n  fineTune: { epochs: 15, earlyStopping: false }\n', 'deepmaker.yaml').quantize.fineTune;
    assert.equal(off?.earlyStopping, false);
    const own = parseSpec('name: m\nquantize:\n  mode: ternary\n  fineTune: { epochs: 15, earlyStopping: { patience: 5 } }\n', 'deepmaker.yaml').quantize.fineTune;
    assert.deepEqual(own?.earlyStopping, { patience: 5 });
    for (const bad of ['true', '{ patience: 0 }', '{ patience: 2.5 }', '{ epochs: 3 }']) {
      const [p] = problems(`name: m\nquantize:\n  mode: ternary\n  fineTune:\n    earlyStopping: ${bad}\n`);
      assert.ok(p, bad);
      assert.equal(p.line, 5, `${bad}: ${p.message}`);
      assert.match(`${p.key} ${p.message}`, /earlyStopping/, bad);
    }
  });

  it('requires name', () => {
    const [p] = problems('data: {dataset: mnist}\n');
    assert.match(p.message, /missing required key 'name'/);
  });
});
