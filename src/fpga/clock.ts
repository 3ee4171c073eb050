/**
 * The design clock: what `target.clockMHz` asks for, turned into what the board can make.
 *
 * - A number: on a board, its oscillator itself, or the PLL setting that makes exactly that number
 *   (src/fpga/pll.ts); without a board, the number (the user's own clock drives the core).
 * - `auto`: the fastest clock at or below Fmax / (1 + margin), where Fmax is what nextpnr achieved;
 *   on a board, the fastest PLL output under that limit (or the oscillator, when the PLL's 16 MHz
 *   floor is above it).
 */
import { DeepMakerError } from '../util/errors';
import type { Board } from './boards';
import { closestPll, fastestPllAtMost, PLL_LIMITS } from './pll';
import type { DesignClock } from './uart-top';

export type ClockRequest = number | 'auto';

/** The clock nextpnr is asked for when probing Fmax for `auto`: above what these designs reach, so the probe measures the limit. */
export const PROBE_MHZ = 60;

export const DEFAULT_CLOCK_MARGIN = 0.05;

/** The design clock for a numeric target.clockMHz. */
export function requestedClock(board: Board | undefined, mhz: number): DesignClock {
  if (!board || mhz === board.oscillatorMHz) return { mhz };
  if (mhz < PLL_LIMITS.outMHz[0] || mhz > PLL_LIMITS.outMHz[1]) {
    throw new DeepMakerError(
      `the ${board.name} cannot clock the design at ${mhz} MHz: its oscillator gives ${board.oscillatorMHz} MHz and the iCE40 PLL makes ${PLL_LIMITS.outMHz[0]}-${PLL_LIMITS.outMHz[1]} MHz`,
      { where: 'target.clockMHz' },
      `use ${board.oscillatorMHz}, a PLL clock such as ${closestPll(board.oscillatorMHz, 24).outMHz}, or auto (the fastest clock that meets timing)`,
    );
  }
  const pll = closestPll(board.oscillatorMHz, mhz);
  if (Math.abs(pll.outMHz - mhz) > 1e-6) {
    throw new DeepMakerError(
      `the PLL cannot make exactly ${mhz} MHz from the ${board.name}'s ${board.oscillatorMHz} MHz oscillator; the nearest it makes is ${pll.outMHz} MHz`,
      { where: 'target.clockMHz' },
      `use ${pll.outMHz}, or auto`,
    );
  }
  return { mhz: pll.outMHz, pll };
}

/** The design clock for `auto`, given the Fmax that place and route achieved. */
export function clockUnderFmax(board: Board | undefined, fmaxMHz: number, margin: number): DesignClock {
  const limit = fmaxMHz / (1 + margin);
  if (!board) return { mhz: Math.floor(limit * 10) / 10 };
  const pll = fastestPllAtMost(board.oscillatorMHz, limit);
  if (pll && pll.outMHz > board.oscillatorMHz) return { mhz: pll.outMHz, pll };
  if (limit >= board.oscillatorMHz) return { mhz: board.oscillatorMHz };
  throw new DeepMakerError(
    `timing cannot be met on the ${board.name}: Fmax is ${fmaxMHz.toFixed(2)} MHz, below its ${board.oscillatorMHz} MHz oscillator with a ${(margin * 100).toFixed(0)} % margin`,
    { where: 'target.clockMHz' },
    'shorten the critical path (pipeline: true in the directives, fewer lanes per adder tree) or lower target.clockMargin',
  );
}
