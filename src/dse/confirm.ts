/**
 * Synthesis confirms the choice. The predictor check synthesizes (and packs) the chosen point
 * first; when its real logic cells (nextpnr's packed count) exceed the budget (the calibration drifted: another Yosys, a changed generator),
 * every prediction is scaled by the largest synthesized/predicted ratio seen on the checked points,
 * the choice is made again among the points that still fit, and the new choice is synthesized too.
 * When no point fits on the scaled predictions, the design with the least logic is synthesized as the
 * last try. Up to `rounds` times; each round is recorded (dse report `corrections`). EBR, DSP and
 * SPRAM are counted exactly, so only logic is corrected. A choice that synthesis shows does not fit
 * is never returned: the stage fails here with the figures rather than handing it to synth.
 */
import { DeepMakerError } from '../util/errors';
import type { Logger } from '../util/log';
import type { CheckedPoint, PredictorCheck } from './check';
import { violation, type DeviceBudget } from './cost-model';
import { choosePoint, type ChooseRule } from './pareto';
import type { ExploredPoint } from './search';

/** The logic cells a checked design really takes: nextpnr's packed count when there is one, else Yosys's max(LUTs, FFs, carries). */
function realCells(p: CheckedPoint): number {
  return p.synthesized.packedLogicCells ?? p.synthesized.logicCells;
}

export interface Correction {
  /** The point synthesis rejected, with its predicted and synthesized logic cells. */
  rejected: { id: number; predictedLogicCells: number; synthesizedLogicCells: number };
  /** The factor every logic prediction was multiplied by. */
  ratio: number;
  /** The point chosen on the corrected predictions. */
  chosen: number;
}

export async function confirmChoice(o: {
  points: ExploredPoint[];
  rule: ChooseRule;
  budget: DeviceBudget;
  /** The points to check first; the first is the current choice. */
  first: ExploredPoint[];
  /** Synthesizes (and simulates) the given points; earlier ones come from its cache. */
  check: (points: ExploredPoint[]) => Promise<PredictorCheck>;
  rounds?: number;
  log: Logger;
}): Promise<{ chosen: ExploredPoint; check: PredictorCheck; corrections: Correction[] }> {
  let chosen = o.first[0];
  let checked = o.first;
  let check = await o.check(checked);
  const corrections: Correction[] = [];
  const real = (id: number) => {
    const p = check.points.find((q) => q.id === id);
    return p ? realCells(p) : undefined;
  };
  for (let round = 0; round < (o.rounds ?? 3); round++) {
    const mine = check.points.find((p) => p.id === chosen.id);
    if (!mine || realCells(mine) <= o.budget.logicCells) break;
    const ratio = Math.max(1, ...check.points.map((p) => realCells(p) / Math.max(1, predictedCells(p.predicted))));
    const corrected = o.points.map((p) => {
      const packedLogicCells = Math.ceil(predictedCells(p.cost) * ratio);
      return { ...p, fits: p.cost.legal && violation({ ...p.cost, packedLogicCells }, o.budget) === 0 };
    });
    let next: ExploredPoint;
    if (corrected.some((p) => p.fits)) {
      next = o.points.find((p) => p.id === choosePoint(corrected, o.rule).id)!;
    } else {
      // Nothing fits on the scaled predictions: the design with the least logic is the last hope (if synthesis has not seen it yet).
      const smallest = smallestDesign(o.points, o.budget);
      if (!smallest || real(smallest.id) !== undefined) break;
      next = smallest;
    }
    corrections.push({ rejected: { id: chosen.id, predictedLogicCells: predictedCells(mine.predicted), synthesizedLogicCells: realCells(mine) }, ratio: Math.round(ratio * 1e4) / 1e4, chosen: next.id });
    o.log.warn(
      `synthesis: point #${chosen.id} needs ${realCells(mine)} logic cells (predicted ${predictedCells(mine.predicted)}, budget ${o.budget.logicCells}); ` +
        `predictions scaled by ${ratio.toFixed(3)} choose #${next.id} (${next.cost.cycles} cycles); synthesizing it`,
    );
    chosen = next;
    checked = [next, ...checked.filter((p) => p.id !== next.id)];
    check = await o.check(checked);
  }
  const cells = real(chosen.id);
  if (cells !== undefined && cells > o.budget.logicCells) {
    // Never hand a design that does not fit to the synth stage: fail here, with the figures.
    const tried = check.points.map((p) => `#${p.id}: ${realCells(p)} (predicted ${predictedCells(p.predicted)})`).join(', ');
    const smallest = smallestDesign(o.points, o.budget);
    const smallestCells = smallest ? real(smallest.id) : undefined;
    throw new DeepMakerError(
      `no explored design point fits: synthesized and packed, the designs take ${tried} logic cells, over the device's ${o.budget.logicCells}` +
        (corrections.length ? ` (${corrections.length} correction round(s) on scaled predictions)` : ''),
      { where: 'dse' },
      smallestCells !== undefined && smallestCells > o.budget.logicCells
        ? `even the design with the least logic (#${smallest!.id}) takes ${smallestCells}: the network is too large for this device even with one lane per layer: search with a tighter hardware constraint (search.constraints.maxLuts, maxParams), use a smaller train.architecture, or a bigger target.device`
        : 'lower dse.maxLanes or raise dse.margin, use narrower weights (quantize.weights.bits), a smaller network, or a bigger target.device',
    );
  }
  return { chosen, check, corrections };
}

/** The predicted cells fit is judged on: the packed prediction when there is one. */
function predictedCells(p: { logicCells: number; packedLogicCells?: number }): number {
  return p.packedLogicCells ?? p.logicCells;
}

/** The legal point with the least predicted logic among those whose exact resources (EBR, DSP, SPRAM) fit. */
function smallestDesign(points: ExploredPoint[], budget: DeviceBudget): ExploredPoint | undefined {
  let best: ExploredPoint | undefined;
  for (const p of points) {
    if (!p.cost.legal || violation({ ...p.cost, logicCells: 0, packedLogicCells: 0 }, budget) > 0) continue;
    if (!best || predictedCells(p.cost) < predictedCells(best.cost)) best = p;
  }
  return best;
}
