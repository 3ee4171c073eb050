/**
 * Synthesis confirms the choice. The predictor check synthesizes (and packs) the chosen point
 * first; when its real logic cells (nextpnr's packed count) exceed the budget (the calibration drifted: another Yosys, a changed generator),
 * every prediction is scaled by the largest synthesized/predicted ratio seen on the checked points,
 * the choice is made again among the points that still fit, and the new choice is synthesized too.
 * Up to `rounds` times; each round is recorded (dse report `corrections`). EBR, DSP and SPRAM are
 * counted exactly, so only logic is corrected.
 */
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
  for (let round = 0; round < (o.rounds ?? 3); round++) {
    const mine = check.points.find((p) => p.id === chosen.id);
    if (!mine || realCells(mine) <= o.budget.logicCells) break;
    const ratio = Math.max(1, ...check.points.map((p) => realCells(p) / Math.max(1, p.predicted.logicCells)));
    const corrected = o.points.map((p) => {
      const logicCells = Math.ceil(p.cost.logicCells * ratio);
      return { ...p, fits: p.cost.legal && violation({ ...p.cost, logicCells }, o.budget) === 0 };
    });
    if (!corrected.some((p) => p.fits)) {
      o.log.warn(`synthesis: point #${chosen.id} needs ${realCells(mine)} logic cells (budget ${o.budget.logicCells}); with predictions scaled by ${ratio.toFixed(3)} no explored point fits`);
      break;
    }
    const next = o.points.find((p) => p.id === choosePoint(corrected, o.rule).id)!;
    corrections.push({ rejected: { id: chosen.id, predictedLogicCells: mine.predicted.logicCells, synthesizedLogicCells: realCells(mine) }, ratio: Math.round(ratio * 1e4) / 1e4, chosen: next.id });
    o.log.warn(
      `synthesis: point #${chosen.id} needs ${realCells(mine)} logic cells (predicted ${mine.predicted.logicCells}, budget ${o.budget.logicCells}); ` +
        `predictions scaled by ${ratio.toFixed(3)} choose #${next.id} (${next.cost.cycles} cycles); synthesizing it`,
    );
    chosen = next;
    checked = [next, ...checked.filter((p) => p.id !== next.id)];
    check = await o.check(checked);
  }
  return { chosen, check, corrections };
}
