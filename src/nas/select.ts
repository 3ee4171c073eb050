/**
 * Picking the one architecture handed to the train stage from the feasible Pareto set
 * (search.select):
 *  - lowest-error: the smallest validation error; ties go to the candidate trained longer (higher
 *    rung), then to the cheaper one (smaller sum of the other objectives, each divided by its
 *    hypervolume reference), then to the earlier one;
 *  - knee: the compromise point, closest (Euclidean) to the ideal point after scaling every
 *    objective to [0, 1] over the set. In two objectives this is the bend of the front; in more it
 *    is the usual multi-objective generalisation.
 */
import { DeepMakerError } from '../util/errors';
import type { Candidate } from './search';

export type SelectRule = 'lowest-error' | 'knee';

export function selectCandidate<G>(pareto: Candidate<G>[], rule: SelectRule, reference: number[]): Candidate<G> {
  const pool = pareto.filter((c) => c.feasible && c.error !== null);
  if (pool.length === 0) {
    throw new DeepMakerError(
      'no candidate satisfies the search constraints, so there is no architecture to select',
      { where: 'search.constraints' },
      'relax search.constraints (maxParams, maxMacs, maxWeightBits, maxCycles, maxLuts), pick a larger target.device, or run more generations',
    );
  }
  if (rule === 'lowest-error') {
    const cheapness = (c: Candidate<G>) => c.objectives.slice(1).reduce((s, v, k) => s + v / reference[k + 1], 0);
    return [...pool].sort((a, b) => a.error! - b.error! || b.rung - a.rung || cheapness(a) - cheapness(b) || a.index - b.index)[0];
  }
  const m = pool[0].objectives.length;
  const lo = Array.from({ length: m }, (_, k) => Math.min(...pool.map((c) => c.objectives[k])));
  const hi = Array.from({ length: m }, (_, k) => Math.max(...pool.map((c) => c.objectives[k])));
  const dist = (c: Candidate<G>) => Math.hypot(...c.objectives.map((v, k) => (hi[k] > lo[k] ? (v - lo[k]) / (hi[k] - lo[k]) : 0)));
  return [...pool].sort((a, b) => dist(a) - dist(b) || a.index - b.index)[0];
}
