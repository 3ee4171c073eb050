/**
 * What the confirmation rung tells about the search's low fidelity: for the confirmed candidates,
 * their low-fidelity and final-fidelity errors, the rank correlation between the two (Kendall's
 * tau-b), whether the pick changed, and what the low-fidelity pick would have given away.
 */
import { networkDepth, type Candidate } from './search';

/**
 * Kendall's tau-b (Kendall 1945) of two paired samples: (C − D) / √((n0 − n1)(n0 − n2)), with C and D
 * the concordant and discordant pairs, n0 = n(n − 1)/2, n1 and n2 the pairs tied in x and in y
 * (a pair tied in both counts in n1 and n2 and in neither C nor D). 1: the same order; −1: reversed.
 * null when it is undefined: fewer than two pairs, or every value of x or of y equal.
 */
export function kendallTauB(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length) throw new RangeError(`kendallTauB: ${x.length} x values but ${y.length} y values`);
  const n = x.length;
  let concordant = 0, discordant = 0, tiedX = 0, tiedY = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign(x[i] - x[j]), dy = Math.sign(y[i] - y[j]);
      if (dx === 0) tiedX++;
      if (dy === 0) tiedY++;
      if (dx * dy > 0) concordant++;
      else if (dx * dy < 0) discordant++;
    }
  }
  const n0 = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((n0 - tiedX) * (n0 - tiedY));
  return denominator > 0 ? (concordant - discordant) / denominator : null;
}

export interface ConfirmedEntry {
  id: string;
  description: string;
  params: number;
  macs: number;
  weightBits: number;
  /** Place in the selection rule's order at low fidelity (1 = what would have been selected). */
  lowFidelityRank: number;
  lowFidelity: { error: number; epochs: number; subset: number };
  /** Place by final-fidelity error (1 = lowest; ties keep the low-fidelity order). */
  finalRank: number;
  final: { error: number; validationAccuracy: number; epochs: number; subset: number; seconds: number; cached: boolean };
  /** Layers with weights (networkDepth): the per-depth choice's key. */
  depth: number;
}

export interface RegretReport {
  top: number;
  epochs: number;
  subset: number;
  learningRateSchedule: 'constant' | 'cosine';
  /** search.fidelity.final.recipe, when set: train (the train stage's training and seed; learningRateSchedule does not apply). */
  recipe?: 'search' | 'train';
  /** search.fidelity.final.candidates, when set: per-depth (the best of each depth). */
  chosenFrom?: 'front' | 'per-depth';
  /** The confirmed candidates in the low-fidelity order. */
  candidates: ConfirmedEntry[];
  /** Kendall's tau-b between the low- and final-fidelity errors of the confirmed (null: fewer than two, or all tied). */
  kendallTau: number | null;
  /** What the selection rule picks at low fidelity, and what it picks with the final-fidelity errors (the selection). */
  lowFidelityPick: string;
  finalPick: string;
  flipped: boolean;
  /** Final-fidelity error of the low-fidelity pick minus the final pick's: what selecting at low fidelity would have given away. */
  regret: number;
  evaluations: number;
  cacheHits: number;
  sampleEpochs: number;
}

export function regretReport(
  confirmed: Candidate[],
  finalPick: Candidate,
  o: { top: number; learningRateSchedule: 'constant' | 'cosine'; evaluations: number; cacheHits: number; sampleEpochs: number; recipe?: 'search' | 'train'; chosenFrom?: 'front' | 'per-depth' },
): RegretReport {
  if (confirmed.length === 0 || confirmed.some((c) => !c.final || c.error === null)) throw new Error('regretReport: every confirmed candidate needs a low- and a final-fidelity error');
  const byFinal = confirmed.map((c, k) => ({ c, k })).sort((a, b) => a.c.final!.error - b.c.final!.error || a.k - b.k);
  const finalRank = new Map(byFinal.map((e, r) => [e.c, r + 1]));
  const low = confirmed[0];
  const first = confirmed[0].final!;
  return {
    top: o.top,
    epochs: first.epochs,
    subset: first.subset,
    learningRateSchedule: o.learningRateSchedule,
    ...(o.recipe ? { recipe: o.recipe } : {}),
    ...(o.chosenFrom ? { chosenFrom: o.chosenFrom } : {}),
    candidates: confirmed.map((c, k) => {
      const lowRung = c.rungs.find((r) => r.rung === c.rung)!;
      return {
        id: c.id,
        description: c.description,
        params: c.values.params,
        macs: c.values.macs,
        weightBits: c.values.weightBits,
        lowFidelityRank: k + 1,
        lowFidelity: { error: c.error!, epochs: lowRung.epochs, subset: lowRung.subset },
        finalRank: finalRank.get(c)!,
        final: { error: c.final!.error, validationAccuracy: c.final!.validationAccuracy, epochs: c.final!.epochs, subset: c.final!.subset, seconds: c.final!.seconds, cached: c.final!.cached },
        depth: networkDepth(c.architecture),
      };
    }),
    kendallTau: kendallTauB(confirmed.map((c) => c.error!), confirmed.map((c) => c.final!.error)),
    lowFidelityPick: low.id,
    finalPick: finalPick.id,
    flipped: low.id !== finalPick.id,
    regret: low.final!.error - finalPick.final!.error,
    evaluations: o.evaluations,
    cacheHits: o.cacheHits,
    sampleEpochs: o.sampleEpochs,
  };
}

export interface FullFidelityMember {
  id: string;
  /** The search's error for it (the highest rung it reached). */
  lowFidelityError: number;
  /** Test accuracy after a full training (the train stage's schedule). */
  fullAccuracy: number;
}

export interface SelectionRegret {
  /** The most accurate after full training, and its accuracy. */
  best: { id: string; fullAccuracy: number };
  /** best − the low-fidelity pick's full accuracy: what selecting without the confirmation rung gives away. */
  withoutConfirmation: number;
  /** best − the confirmation rung's pick's full accuracy (null without one). */
  withConfirmation: number | null;
  /** Kendall's tau-b between the low-fidelity errors and the full-fidelity test errors of the members. */
  kendallTau: number | null;
}

/**
 * The selection regret among fully trained front members (the nas-regret bench): the best full
 * accuracy among them minus that of the network a rule picked. Both picks must be members.
 */
export function selectionRegret(members: FullFidelityMember[], picks: { lowFidelity: string; confirmation?: string }): SelectionRegret {
  if (members.length === 0) throw new Error('selectionRegret: no members');
  const byId = new Map(members.map((m) => [m.id, m]));
  const of = (id: string) => {
    const m = byId.get(id);
    if (!m) throw new Error(`selectionRegret: the pick ${id} is not among the fully trained members (${members.map((x) => x.id).join(', ')})`);
    return m;
  };
  const best = members.reduce((a, b) => (b.fullAccuracy > a.fullAccuracy ? b : a));
  return {
    best: { id: best.id, fullAccuracy: best.fullAccuracy },
    withoutConfirmation: best.fullAccuracy - of(picks.lowFidelity).fullAccuracy,
    withConfirmation: picks.confirmation === undefined ? null : best.fullAccuracy - of(picks.confirmation).fullAccuracy,
    kendallTau: kendallTauB(members.map((m) => m.lowFidelityError), members.map((m) => 1 - m.fullAccuracy)),
  };
}
