/**
 * Picking the one architecture handed to the train stage from the feasible Pareto set
 * (search.select):
 *  - lowest-error: the smallest validation error; ties go to the candidate trained longer (higher
 *    rung), then to the cheaper one (smaller sum of the other objectives, each divided by its
 *    hypervolume reference), then to the earlier one;
 *  - knee: the compromise point, closest (Euclidean) to the ideal point after scaling every
 *    objective to [0, 1] over the set. In two objectives this is the bend of the front; in more it
 *    is the usual multi-objective generalisation.
 * Written as `{rule, maxParams, maxMacs}`, the rule picks among the front members within those
 * bounds only: several projects can run one search and each train another member of its front.
 */
import { DeepMakerError } from '../util/errors';
import type { Candidate } from './search';

import type { SelectRule, SelectSpec } from '../spec/types';
export type { SelectRule, SelectSpec };

export function describeSelect(select: SelectSpec): string {
  if (typeof select === 'string') return select;
  const bounds = [select.maxParams !== undefined && `params <= ${select.maxParams}`, select.maxMacs !== undefined && `MACs <= ${select.maxMacs}`].filter(Boolean);
  return bounds.length ? `${select.rule} with ${bounds.join(', ')}` : select.rule;
}

export function selectCandidate<G>(pareto: Candidate<G>[], select: SelectSpec, reference: number[]): Candidate<G> {
  return rankCandidates(pareto, select, reference)[0];
}

/**
 * The feasible trained members of `pareto` within the rule's bounds, ordered by the rule, best
 * first: the selection is the first; the confirmation rung trains the first few. Throws (a user
 * error) when there is none.
 */
export function rankCandidates<G>(pareto: Candidate<G>[], select: SelectSpec, reference: number[]): Candidate<G>[] {
  const feasible = pareto.filter((c) => c.feasible && c.error !== null);
  if (feasible.length === 0) {
    throw new DeepMakerError(
      'no candidate satisfies the search constraints, so there is no architecture to select',
      { where: 'search.constraints' },
      'relax search.constraints (maxParams, maxMacs, maxWeightBits, maxCycles, maxLuts), pick a larger target.device, or run more generations',
    );
  }
  const rule = typeof select === 'string' ? select : select.rule;
  const bounds: { maxParams?: number; maxMacs?: number } = typeof select === 'string' ? {} : select;
  const pool = feasible.filter((c) => (bounds.maxParams === undefined || c.values.params <= bounds.maxParams) && (bounds.maxMacs === undefined || c.values.macs <= bounds.maxMacs));
  if (pool.length === 0) {
    const smallest = feasible.reduce((a, b) => (b.values.params < a.values.params ? b : a));
    throw new DeepMakerError(
      `no member of the Pareto set is within search.select's bounds (${describeSelect(select)}); the smallest has ${smallest.values.params} params and ${smallest.values.macs} MACs`,
      { where: 'search.select' },
      'loosen search.select.maxParams / maxMacs, or run more generations (or add params or macs to search.objectives) so that the front reaches smaller networks',
    );
  }
  if (rule === 'lowest-error') {
    const cheapness = (c: Candidate<G>) => c.objectives.slice(1).reduce((s, v, k) => s + v / reference[k + 1], 0);
    return [...pool].sort((a, b) => a.error! - b.error! || b.rung - a.rung || cheapness(a) - cheapness(b) || a.index - b.index);
  }
  const m = pool[0].objectives.length;
  const lo = Array.from({ length: m }, (_, k) => Math.min(...pool.map((c) => c.objectives[k])));
  const hi = Array.from({ length: m }, (_, k) => Math.max(...pool.map((c) => c.objectives[k])));
  const dist = (c: Candidate<G>) => Math.hypot(...c.objectives.map((v, k) => (hi[k] > lo[k] ? (v - lo[k]) / (hi[k] - lo[k]) : 0)));
  return [...pool].sort((a, b) => dist(a) - dist(b) || a.index - b.index);
}
