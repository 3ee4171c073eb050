/** The pieces every hand-written report figure shares (pareto.svg, precision-sweep.svg, the NAS plots). */

/** Escapes text for SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Plot geometry: the figure's size and its margins around the plotting area. */
export interface Frame {
  W: number;
  H: number;
  L: number;
  R: number;
  T: number;
  B: number;
}

/** The opening of a figure: <svg>, white background, centred title, and the two axes of the plotting area. */
export function svgFrame(f: Frame, title: string): string[] {
  const { W, H, L, R, T, B } = f;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
  ];
}

/** `v` without the binary noise of repeated addition (0.1 + 0.2 → 0.3). */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

/**
 * Round axis ticks ("nice numbers", Heckbert's Graphics Gems rule): the step is (hi − lo)/count
 * rounded to 1, 2 or 5 × 10^k (mantissa below 1.5 → 1, below 3 → 2, below 7 → 5, else 10), and the
 * ticks run from the multiple of the step at or below `lo` to the one at or above `hi` (so the first
 * and last ticks can serve as the axis ends): about `count` intervals, between 0.7× and 1.5× as many.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`niceTicks: the range [${lo}, ${hi}] is not finite`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    // One value: a range of one unit of its magnitude around it.
    const m = lo === 0 ? 1 : 10 ** Math.floor(Math.log10(Math.abs(lo)));
    lo -= m;
    hi += m;
  }
  const raw = (hi - lo) / Math.max(1, Math.floor(count));
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  const step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  const first = Math.floor(clean(lo / step));
  const last = Math.ceil(clean(hi / step));
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(clean(i * step));
  return ticks;
}

/**
 * Ticks for a log axis over [lo, hi] (both > 0): the powers of ten, else 1-2-5 in every decade, else
 * 1..9 in every decade, whichever first gives at least `min` ticks inside the range; on a range too
 * narrow for any of them, round linear ticks inside it.
 */
export function logTicks(lo: number, hi: number, min = 3): number[] {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`logTicks: the range [${lo}, ${hi}] is not positive and finite`);
  if (hi < lo) [lo, hi] = [hi, lo];
  const inside = (v: number) => v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12);
  for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of mantissas) if (inside(clean(m * 10 ** e))) ticks.push(clean(m * 10 ** e));
    if (ticks.length >= min) return ticks;
  }
  return niceTicks(lo, hi).filter(inside);
}

/** A tick label: thousands as k, millions as M (2500 → 2.5k, 1500000 → 1.5M), smaller numbers as they are. */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${clean(v / 1e6)}M`;
  if (a >= 1e3) return `${clean(v / 1e3)}k`;
  return String(clean(v));
}
