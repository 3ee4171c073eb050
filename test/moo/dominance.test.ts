import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constrainedDominates, crowdingDistance, dominates, nonDominatedSort, ParetoArchive, paretoIndices } from '../../src/moo/dominance';
import { Rng } from '../../src/moo/rng';

const pt = (objectives: number[], violation = 0) => ({ objectives, violation });

describe('dominance', () => {
  it('Pareto dominance needs one strict improvement', () => {
    assert.equal(dominates([1, 2], [2, 2]), true);
    assert.equal(dominates([1, 2], [1, 2]), false);
    assert.equal(dominates([1, 3], [2, 2]), false);
  });

  it('constraint-domination: feasible first, then smaller violation, then Pareto', () => {
    assert.equal(constrainedDominates(pt([9, 9]), pt([0, 0], 0.1)), true);
    assert.equal(constrainedDominates(pt([0, 0], 0.1), pt([9, 9])), false);
    assert.equal(constrainedDominates(pt([9, 9], 0.1), pt([0, 0], 0.2)), true);
    assert.equal(constrainedDominates(pt([0, 0], 0.2), pt([9, 9], 0.1)), false);
    assert.equal(constrainedDominates(pt([1, 1]), pt([2, 2])), true);
    assert.equal(constrainedDominates(pt([1, 3]), pt([2, 2])), false);
  });

  it('fast non-dominated sort gives the fronts in order', () => {
    const points = [pt([1, 5]), pt([2, 2]), pt([5, 1]), pt([3, 3]), pt([6, 6]), pt([2, 6]), pt([0, 0], 1), pt([0, 0], 2)];
    assert.deepEqual(nonDominatedSort(points), [[0, 1, 2], [3, 5], [4], [6], [7]]);
  });

  it('the sort agrees with a naive peeling on random sets', () => {
    const rng = new Rng('sort');
    for (let t = 0; t < 30; t++) {
      const points = Array.from({ length: 40 }, () => pt([rng.int(6), rng.int(6), rng.int(6)], rng.bool(0.2) ? rng.int(3) + 1 : 0));
      const fronts = nonDominatedSort(points);
      let rest = points.map((_, i) => i);
      for (const front of fronts) {
        const naive = rest.filter((i) => !rest.some((j) => constrainedDominates(points[j], points[i])));
        assert.deepEqual([...front].sort((a, b) => a - b), naive);
        rest = rest.filter((i) => !front.includes(i));
      }
      assert.equal(rest.length, 0);
    }
  });

  it('crowding distance: boundaries infinite, inner points the normalised neighbour gap', () => {
    const d = crowdingDistance([[0, 4], [1, 3], [3, 1], [4, 0]]);
    assert.equal(d[0], Infinity);
    assert.equal(d[3], Infinity);
    // Point 1: neighbours 0 and 2: (3-0)/4 + (4-1)/4 = 1.5.
    assert.equal(d[1], 1.5);
    assert.equal(d[2], 1.5);
    assert.deepEqual(crowdingDistance([[1, 1], [2, 0]]), [Infinity, Infinity]);
  });

  it('paretoIndices and the archive keep the feasible non-dominated points', () => {
    const points = [pt([1, 5]), pt([2, 2]), pt([3, 3]), pt([0, 0], 1), pt([5, 1])];
    assert.deepEqual(paretoIndices(points), [0, 1, 4]);
    assert.deepEqual(paretoIndices([pt([0, 0], 2), pt([1, 1], 1), pt([2, 2], 1)]), [1, 2]);
    const a = new ParetoArchive();
    for (const p of points) a.add(p);
    assert.deepEqual(a.members.map((m) => m.objectives), [[1, 5], [2, 2], [5, 1]]);
    assert.equal(a.add(pt([2, 2])), false);
    assert.equal(a.add(pt([1, 1])), true);
    assert.deepEqual(a.members.map((m) => m.objectives), [[1, 1]]);
  });

  it('the generator is deterministic for a seed and differs between seeds', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const sa = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(sa, Array.from({ length: 5 }, () => b.next()));
    assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.next()));
    const r = new Rng('u');
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += r.next();
    assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
  });
});
