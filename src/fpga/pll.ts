/**
 * The iCE40 PLL (SB_PLL40_PAD / SB_PLL40_CORE) in SIMPLE feedback mode: which divider settings a
 * reference clock allows, under the sysCLOCK limits of Lattice's iCE40 PLL usage guide (TN1251):
 *
 *   F_PFD = F_REF / (DIVR + 1)        10 .. 133 MHz    DIVR 0..15
 *   F_VCO = F_PFD * (DIVF + 1)       533 .. 1066 MHz   DIVF 0..127 (SIMPLE feedback)
 *   F_OUT = F_VCO / 2^DIVQ            16 .. 275 MHz    DIVQ 1..6
 *   FILTER_RANGE from F_PFD: < 17, 26, 44, 66, 101 MHz -> 1..5, else 6
 *
 * `closestPll` picks what icestorm's icepll picks for a requested frequency (test/fpga/pll.test.ts
 * runs icepll from @yowasp/nextpnr-ice40 against it); `fastestPllAtMost` picks the clock that
 * `target.clockMHz: auto` wants: the highest output frequency not above a timing limit.
 */
import { DeepMakerError } from '../util/errors';

export const PLL_LIMITS = {
  refMHz: [10, 133],
  pfdMHz: [10, 133],
  vcoMHz: [533, 1066],
  outMHz: [16, 275],
} as const;

export interface PllConfig {
  refMHz: number;
  divr: number;
  divf: number;
  divq: number;
  filterRange: number;
  pfdMHz: number;
  vcoMHz: number;
  outMHz: number;
}

export function filterRange(pfdMHz: number): number {
  return pfdMHz < 17 ? 1 : pfdMHz < 26 ? 2 : pfdMHz < 44 ? 3 : pfdMHz < 66 ? 4 : pfdMHz < 101 ? 5 : 6;
}

const within = (x: number, [lo, hi]: readonly [number, number]) => x >= lo && x <= hi;

/** Every legal SIMPLE-feedback setting for a reference clock, in icepll's search order (DIVR, DIVF, DIVQ ascending). */
export function pllConfigs(refMHz: number): PllConfig[] {
  if (!within(refMHz, PLL_LIMITS.refMHz)) return [];
  const out: PllConfig[] = [];
  for (let divr = 0; divr <= 15; divr++) {
    const pfdMHz = refMHz / (divr + 1);
    if (!within(pfdMHz, PLL_LIMITS.pfdMHz)) continue;
    for (let divf = 0; divf <= 127; divf++) {
      const vcoMHz = pfdMHz * (divf + 1);
      if (!within(vcoMHz, PLL_LIMITS.vcoMHz)) continue;
      for (let divq = 1; divq <= 6; divq++) {
        // icepll checks only the requested output against 16..275 MHz, not the one it achieves; we keep both inside.
        const outMHz = vcoMHz / 2 ** divq;
        if (within(outMHz, PLL_LIMITS.outMHz)) out.push({ refMHz, divr, divf, divq, filterRange: filterRange(pfdMHz), pfdMHz, vcoMHz, outMHz });
      }
    }
  }
  return out;
}

/** The setting closest to `wantMHz` (the first in search order on a tie), as icepll chooses it. */
export function closestPll(refMHz: number, wantMHz: number): PllConfig {
  let best: PllConfig | undefined;
  for (const c of pllConfigs(refMHz)) if (!best || Math.abs(c.outMHz - wantMHz) < Math.abs(best.outMHz - wantMHz)) best = c;
  if (!best) throw new DeepMakerError(`no PLL setting exists for a ${refMHz} MHz reference clock`, { where: 'target.clockMHz' }, `the iCE40 PLL takes ${PLL_LIMITS.refMHz.join('-')} MHz`);
  return best;
}

/**
 * The fastest output not above `limitMHz` (ties: the lowest VCO, i.e. the first found). Undefined
 * when even the slowest output (16 MHz) is above the limit.
 */
export function fastestPllAtMost(refMHz: number, limitMHz: number): PllConfig | undefined {
  let best: PllConfig | undefined;
  for (const c of pllConfigs(refMHz)) {
    if (c.outMHz > limitMHz + 1e-9) continue;
    if (!best || c.outMHz > best.outMHz + 1e-9) best = c;
  }
  return best;
}

/** The PLL's Verilog parameter list (binary literals as icepll writes them). */
export function pllParameters(c: PllConfig): string {
  const bin = (v: number, n: number) => `${n}'b${v.toString(2).padStart(n, '0')}`;
  return [
    `.FEEDBACK_PATH("SIMPLE")`,
    `.DIVR(${bin(c.divr, 4)})`,
    `.DIVF(${bin(c.divf, 7)})`,
    `.DIVQ(${bin(c.divq, 3)})`,
    `.FILTER_RANGE(${bin(c.filterRange, 3)})`,
  ].join(',\n    ');
}
