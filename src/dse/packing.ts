/**
 * From predicted LUTs and flip-flops to the logic cells nextpnr's packer will use, with the board's
 * UART top around the accelerator: what "fits the device" is decided on.
 *
 * Yosys's max(LUTs, FFs, carries) is only a lower bound: an iCE40 logic cell holds one LUT and one
 * flip-flop, and the packer pairs a flip-flop with a LUT only when that LUT feeds it, so about half
 * of the flip-flops take a cell of their own (measured here 30-75 % above Yosys's count). The model:
 *
 *   packed = (luts + top.luts) + ffShare · (ffs + top.ffs)
 *
 * with luts and ffs as the calibrated predictor gives them for the accelerator, `top` the UART
 * wrapper's own logic, and `ffShare` the largest share of unpaired flip-flops seen on real designs
 * (bench/admission.bench.ts, in src/dse/calibration/packing.json), so the prediction is an upper
 * envelope of the designs it was fitted on (designs measured after a fit can need more: see the
 * source field; the search and the DSE keep a margin of the device free on top of it).
 */
import shipped from './calibration/packing.json';

export interface PackingSample {
  name: string;
  /** The calibrated predictor's figures for the accelerator. */
  predicted: { luts: number; ffs: number };
  /** nextpnr's packed logic cells of the accelerator inside the board top. */
  packed: number;
}

export interface PackingModel {
  /** Flip-flops that take a logic cell of their own, as a share of all flip-flops. */
  ffShare: number;
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

/**
 * The smallest ffShare under which every sample's prediction is at least its packed count (the upper
 * envelope), rounded up to 0.01.
 */
export function fitFfShare(samples: PackingSample[], top: { luts: number; ffs: number }): number {
  let share = 0;
  for (const s of samples) share = Math.max(share, (s.packed - s.predicted.luts - top.luts) / (s.predicted.ffs + top.ffs));
  return Math.ceil(share * 100) / 100;
}
