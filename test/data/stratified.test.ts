/** The class-stratified subset of the search's low fidelity (src/data/shuffle.ts stratifiedSubset). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stratifiedSubset } from '../../src/data/shuffle';

/** 1,000 labels of 4 classes in proportions 50%, 30%, 15%, 5%, in a scrambled order. */
const labels = Int32Array.from({ length: 1000 }, (_, i) => {
  const j = (i * 379) % 1000;
  return j < 500 ? 0 : j < 800 ? 1 : j < 950 ? 2 : 3;
});
const perClass = (rows: Int32Array) => [0, 1, 2, 3].map((c) => rows.filter((r) => labels[r] === c).length);

describe('stratifiedSubset', () => {
  it('keeps the class proportions, the rounding remainders going to the largest fractional quotas', () => {
    assert.deepEqual(perClass(stratifiedSubset(labels, 100, 1)), [50, 30, 15, 5]);
    // 37 rows: exact quotas 18.5, 11.1, 5.55, 1.85 -> floors 18, 11, 5, 1 (35); the two left go to
    // the largest remainders, 0.85 (class 3) and 0.55 (class 2).
    assert.deepEqual(perClass(stratifiedSubset(labels, 37, 1)), [18, 11, 6, 2]);
  });

  it('is sorted, without repeats, a pure function of the seed, and another seed draws other rows', () => {
    const a = stratifiedSubset(labels, 200, 7);
    assert.equal(a.length, 200);
    assert.equal(new Set(a).size, 200);
    assert.deepEqual([...a], [...a].sort((x, y) => x - y));
    assert.deepEqual(stratifiedSubset(labels, 200, 7), a);
    const b = stratifiedSubset(labels, 200, 8);
    assert.deepEqual(perClass(b), perClass(a));
    assert.notDeepEqual(b, a);
  });

  it('gives every row when the size is at least the row count', () => {
    assert.deepEqual([...stratifiedSubset(labels, 1000, 1)], Array.from({ length: 1000 }, (_, i) => i));
    assert.equal(stratifiedSubset(labels, 5000, 1).length, 1000);
  });

  it('never takes more rows of a class than it has', () => {
    const skewed = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    for (let size = 1; size <= 10; size++) {
      const rows = stratifiedSubset(skewed, size, 3);
      assert.equal(rows.length, size);
      assert.equal(new Set(rows).size, size);
    }
  });
});
