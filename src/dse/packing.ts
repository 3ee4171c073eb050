/**
 * From predicted LUTs and flip-flops to the logic cells nextpnr's packer will use, with the board's
 * UART top around the accelerator: what "fits the device" is decided on.
 *
 * Yosys's max(LUTs, FFs, carries) is only a lower bound: an iCE40 logic cell holds one LUT and one
 * flip-flop, and the packer pairs a flip-flop with a LUT only when that LUT feeds it, so most of the
 * flip-flops take a cell of their own (measured here 30-75 % above Yosys's count). The model:
 *
 *   packed = (luts + top.luts) + ffShare · (ffs + top.ffs)
 *
 * with luts and ffs as the calibrated predictor gives them for the accelerator, `top` the UART
 * wrapper's own logic, and `ffShare` the median share of unpaired flip-flops on real designs
 * (synthesized and packed by bench/admission.bench.ts, both its smallest and its fastest designs;
 * src/dse/calibration/packing.json, refitted by scripts/fit-packing.ts): a central estimate, whose error
 * the dse stage reports. `margin` is the share of the device that covers the largest under-prediction of that estimate on the same designs:
 * fit is judged with at least that share of the device's logic cells kept free (deviceBudget), so the
 * admission rests on what the calibration measured, not on a guess.
 */
import shipped from './calibration/packing.json';
import { median } from './calibration';

export interface PackingSample {
  name: string;
  /** The calibrated predictor's figures for the accelerator. */
  predicted: { luts: number; ffs: number };
  /** nextpnr's packed logic cells of the accelerator inside the board top. */
  packed: number;
}

export interface PackingModel {
  /** Flip-flops that take a logic cell of their own, as a share of all flip-flops (the samples' median). */
  ffShare: number;
  /**
   * The share of the device's logic cells to keep free so that the model's largest under-prediction on its
   * samples (u, as a share of the prediction) still fits: u / (1 + u), rounded up to 0.01.
   */
  margin: number;
  /** The model's relative error on its samples. */
  fit?: { samples: number; medianAbsError: number; maxUnder: number; maxOver: number };
  /** The board top's (UART bridge, reset, LEDs) own LUTs and flip-flops, from Yosys. */
  top: { luts: number; ffs: number };
  /** Where the figures come from. */
  source: string;
  samples: PackingSample[];
}

export function loadPackingModel(): PackingModel {
  return shipped as PackingModel;
}

export function predictPackedCells(c: { luts: number; ffs: number }, m: PackingModel = loadPackingModel()): number {
  return Math.ceil(c.luts + m.top.luts + m.ffShare * (c.ffs + m.top.ffs));
}

/** The share of flip-flops a sample's packed count implies once its LUTs and the top are placed. */
function impliedShare(s: PackingSample, top: { luts: number; ffs: number }): number {
  return (s.packed - s.predicted.luts - top.luts) / Math.max(1, s.predicted.ffs + top.ffs);
}

/**
 * The central ffShare (the median of the samples' implied shares, rounded to 0.01) and the margin that
 * covers the samples it under-predicts (rounded up to 0.01), with the model's errors on the samples.
 */
export function fitPacking(samples: PackingSample[], top: { luts: number; ffs: number }): Pick<PackingModel, 'ffShare' | 'margin' | 'fit'> {
  if (!samples.length) throw new Error('fitPacking: no samples');
  const share = median(samples.map((x) => impliedShare(x, top)).sort((a, b) => a - b));
  const ffShare = Math.round(Math.min(1, Math.max(0, share)) * 100) / 100;
  const rel = samples.map((x) => x.packed / predictPackedCells(x.predicted, { ffShare, top, margin: 0, source: '', samples: [] }) - 1);
  const abs = rel.map(Math.abs).sort((a, b) => a - b);
  const maxUnder = Math.max(0, ...rel);
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    ffShare,
    // A prediction p that is under by u fits when p·(1 + u) ≤ cells, i.e. with u / (1 + u) of the cells kept free.
    margin: Math.ceil((maxUnder / (1 + maxUnder)) * 100 - 1e-9) / 100,
    fit: { samples: samples.length, medianAbsError: r4(median(abs)), maxUnder: r4(maxUnder), maxOver: r4(Math.max(0, ...rel.map((v) => -v))) },
  };
}
