import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hypervolume } from '../../src/moo/hypervolume';
import { Rng } from '../../src/moo/rng';

/** Inclusion-exclusion over all subsets: exact, exponential, independent of the algorithms under test. */
function bruteForce(points: number[][], ref: number[]): number {
  const pts = points.filter((p) => p.every((v, i) => v < ref[i]));
  let total = 0;
  for (let mask = 1; mask < 1 << pts.length; mask++) {
    const corner = ref.map(() => -Infinity);
    let bits = 0;
    for (let i = 0; i < pts.length; i++) {
      if (!(mask & (1 << i))) continue;
      bits++;
      pts[i].forEach((v, k) => (corner[k] = Math.max(corner[k], v)));
    }
    const vol = corner.reduce((s, v, k) => s * (ref[k] - v), 1);
    total += bits % 2 ? vol : -vol;
  }
  return total;
}

describe('hypervolume', () => {
  it('2-D: a staircase by hand', () => {
    // Rectangles to ref (4,4): (1,3) -> 3x1, (2,2) adds 2x1, (3,1) adds 1x1.
    assert.equal(hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]), 6);
    // Dominated, duplicate and outside points change nothing.
    assert.equal(hypervolume([[1, 3], [2, 2], [3, 1], [3, 3], [2, 2], [5, 0], [0, 4]], [4, 4]), 6);
    assert.equal(hypervolume([], [1, 1]), 0);
  });

  it('3-D: a unit cube corner and a box', () => {
    assert.equal(hypervolume([[0, 0, 0]], [1, 2, 3]), 6);
    // Two boxes overlapping in [1,2]x[1,2]x[1,2]: 1*2*2... computed by inclusion-exclusion.
    assert.equal(hypervolume([[0, 1, 1], [1, 0, 1]], [2, 2, 2]), 2 * 1 * 1 + 1 * 2 * 1 - 1 * 1 * 1);
  });

  for (const d of [2, 3, 4, 5]) {
    it(`${d}-D: equals inclusion-exclusion on random sets`, () => {
      const rng = new Rng(`hv${d}`);
      for (let trial = 0; trial < 40; trial++) {
        const n = 1 + rng.int(9);
        // Points on a rough front (plus some dominated ones) so that many are mutually non-dominated.
        const pts = Array.from({ length: n }, () => {
          const v = Array.from({ length: d }, () => rng.next());
          const s = v.reduce((a, b) => a + b, 0);
          return v.map((x) => (rng.bool(0.8) ? x / s : x) + (rng.bool(0.2) ? 0.3 : 0));
        });
        const ref = Array.from({ length: d }, () => 1.2);
        const got = hypervolume(pts, ref);
        const want = bruteForce(pts, ref);
        assert.ok(Math.abs(got - want) < 1e-9 * Math.max(1, want), `d=${d} trial ${trial}: ${got} vs ${want}`);
      }
    });
  }

  it('3-D: the analytic volume dominated by the unit sphere octant is approached from below', () => {
    const pts: number[][] = [];
    const side = 120;
    for (let a = 0; a < side; a++) for (let b = 0; b < side; b++) {
      const t = (a / (side - 1)) * (Math.PI / 2), p = (b / (side - 1)) * (Math.PI / 2);
      pts.push([Math.cos(t) * Math.cos(p), Math.cos(t) * Math.sin(p), Math.sin(t)]);
    }
    const exact = 1.1 ** 3 - Math.PI / 6;
    const got = hypervolume(pts, [1.1, 1.1, 1.1]);
    assert.ok(got < exact && got > 0.99 * exact, `${got} vs ${exact}`);
  });
});
