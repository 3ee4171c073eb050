/**
 * The resource-aware Pareto frontier of the explored points and the rule that picks the point the
 * rtl stage builds, plus the frontier figure (pareto.svg).
 *
 * Frontier: the points that fit the device (with the margin) and that no other fitting point
 * dominates on (cycles, logic cells, EBR, DSP). Points with equal figures (different directives,
 * same predicted hardware) are kept once: the first one explored.
 * Rules (dse.choose):
 *  - min-latency: the fewest cycles; ties: fewer logic cells, then EBR, then DSP;
 *  - min-luts: the fewest logic cells; ties: fewer cycles;
 *  - knee: on the two-objective front (cycles, logic cells), both normalised to [0, 1], the point
 *    farthest below the line joining the front's two ends (the best trade of cycles for logic).
 */
import { dominates } from '../moo/dominance';
import { DeepMakerError } from '../util/errors';
import type { ExploredPoint } from './search';
import { objectives } from './search';
import { escapeXml, logTicks, niceTicks, svgFrame, tickLabel } from '../util/svg';

export type ChooseRule = 'min-latency' | 'min-luts' | 'knee';

export function paretoFront(points: ExploredPoint[], objs: (p: ExploredPoint) => number[] = (p) => objectives(p.cost)): ExploredPoint[] {
  const fit = points.filter((p) => p.fits);
  // Sort by the objectives lexicographically; then a point can only be dominated by an earlier one.
  const sorted = [...fit].sort((a, b) => {
    const x = objs(a);
    const y = objs(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return a.id - b.id;
  });
  const front: ExploredPoint[] = [];
  for (const p of sorted) {
    const o = objs(p);
    if (front.some((q) => dominates(objs(q), o) || objs(q).every((v, i) => v === o[i]))) continue;
    front.push(p);
  }
  return front;
}

/** The two-objective front (cycles, logic cells), ascending in cycles. */
export function front2d(points: ExploredPoint[]): ExploredPoint[] {
  return paretoFront(points, (p) => [p.cost.cycles, p.cost.logicCells]);
}

/**
 * The chosen point by `rule` among the fitting ones. `budget` (the device less the margin) only
 * serves the error when none fits: it names what the smallest design (one lane per layer) needs.
 */
export function choosePoint(points: ExploredPoint[], rule: ChooseRule, budget?: { logicCells: number; ebr: number; dsp: number; spram: number }): ExploredPoint {
  const fit = points.filter((p) => p.fits);
  if (fit.length === 0) {
    const base = points.find((p) => p.genome.every((c) => c === 0));
    const needs = base && budget
      ? ': one lane per layer needs ' +
        (['logicCells', 'ebr', 'dsp', 'spram'] as const).map((k) => {
          // Logic is judged on the packed prediction (src/dse/packing.ts) when the cost has one.
          const used = k === 'logicCells' ? (base.cost.packedLogicCells ?? base.cost.logicCells) : base.cost[k];
          return `${used}${used > budget[k] ? ` > ${budget[k]}` : ` of ${budget[k]}`} ${k === 'logicCells' ? 'logic cells once packed' : k.toUpperCase()}`;
        }).join(', ')
      : '';
    throw new DeepMakerError(
      `no explored directive set fits the device with the spec margin (not even one lane per layer)${needs}`,
      { where: 'dse' },
      'the model needs more EBR or logic than the device offers: search with search.constraints.maxLuts: device (only networks whose whole design fits are trained), use fewer weight bits, a larger device, or a smaller dse.margin',
    );
  }
  const lex = (keys: (p: ExploredPoint) => number[]) => (a: ExploredPoint, b: ExploredPoint) => {
    const x = keys(a);
    const y = keys(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return a.id - b.id;
  };
  if (rule === 'min-latency') return [...fit].sort(lex((p) => [p.cost.cycles, p.cost.logicCells, p.cost.ebr, p.cost.dsp]))[0];
  if (rule === 'min-luts') return [...fit].sort(lex((p) => [p.cost.logicCells, p.cost.cycles, p.cost.ebr, p.cost.dsp]))[0];
  const f = front2d(points);
  if (f.length <= 2) return f[0];
  const c0 = f[0].cost.cycles;
  const c1 = f[f.length - 1].cost.cycles;
  const l0 = f[f.length - 1].cost.logicCells;
  const l1 = f[0].cost.logicCells;
  const nx = (p: ExploredPoint) => (p.cost.cycles - c0) / Math.max(1, c1 - c0);
  const ny = (p: ExploredPoint) => (p.cost.logicCells - l0) / Math.max(1, l1 - l0);
  // The ends are (0, 1) and (1, 0); the distance below the line x + y = 1 is (1 − x − y)/√2.
  let best = f[0];
  let bestD = -Infinity;
  for (const p of f) {
    const d = 1 - nx(p) - ny(p);
    if (d > bestD) {
      best = p;
      bestD = d;
    }
  }
  return best;
}

/**
 * pareto.svg: cycles (log axis) against logic cells. Every explored point; the frontier of the four
 * objectives (cycles, logic cells, EBR, DSP), whose members need not trade cycles for logic in this
 * plane (one may sit above and right of another and still be on it for its EBR or DSP), as hollow
 * marks; the front of the plotted pair itself, computed over every fitting point, as a staircase
 * (the boundary of what the explored points attain); the device budget; the one-lane baseline; the
 * chosen point. Axes have round ticks (1-2-5 × 10^k).
 */
export function paretoSvg(points: ExploredPoint[], front: ExploredPoint[], chosen: ExploredPoint, opts: { title: string; budgetLogicCells: number; baseline?: ExploredPoint }): string {
  const W = 820, H = 440, L = 72, R = 210, T = 44, B = 56;
  // Plot at most a few thousand points (spread evenly) so the file stays small; the 2-D front is computed over all of them.
  const step = Math.max(1, Math.ceil(points.length / 4000));
  const shown = points.filter((_, i) => i % step === 0);
  const pair = front2d(points);
  const all = [...shown, ...front, ...pair, chosen, ...(opts.baseline ? [opts.baseline] : [])];
  const cycles = all.map((p) => p.cost.cycles);
  const xlo = Math.min(...cycles), xhi = Math.max(...cycles);
  // The x axis spans the points with a little room (a tenth of a decade) on each side.
  const xmin = Math.log10(xlo) - 0.05, xmax = Math.log10(Math.max(xhi, xlo * 1.01)) + 0.05;
  // A little headroom, so that the budget line or the highest point does not sit on the frame.
  const yTicks = niceTicks(0, 1.04 * Math.max(...all.map((p) => p.cost.logicCells), opts.budgetLogicCells));
  const ymin = yTicks[0], ymax = yTicks[yTicks.length - 1];
  const right = W - R;
  const px = (c: number) => L + ((Math.log10(c) - xmin) / (xmax - xmin)) * (right - L);
  const py = (v: number) => T + (1 - (v - ymin) / (ymax - ymin || 1)) * (H - T - B);
  const f1 = (v: number) => v.toFixed(1);
  const parts = svgFrame({ W, H, L, R, T, B }, opts.title);
  for (const c of logTicks(10 ** xmin, 10 ** xmax)) {
    parts.push(`<line x1="${f1(px(c))}" y1="${T}" x2="${f1(px(c))}" y2="${H - B + 5}" stroke="#eee"/><text x="${f1(px(c))}" y="${H - B + 18}" text-anchor="middle">${tickLabel(c)}</text>`);
  }
  for (const v of yTicks) {
    parts.push(`<line x1="${L - 5}" y1="${f1(py(v))}" x2="${right}" y2="${f1(py(v))}" stroke="#eee"/><text x="${L - 8}" y="${f1(py(v) + 4)}" text-anchor="end">${tickLabel(v)}</text>`);
  }
  parts.push(`<text x="${(L + right) / 2}" y="${H - 14}" text-anchor="middle">cycles per inference (log scale)</text>`);
  parts.push(`<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">logic cells (predicted)</text>`);
  parts.push(`<line x1="${L}" y1="${f1(py(opts.budgetLogicCells))}" x2="${right}" y2="${f1(py(opts.budgetLogicCells))}" stroke="#d62728" stroke-dasharray="6 4"/>`);
  for (const p of shown) {
    parts.push(`<circle cx="${f1(px(p.cost.cycles))}" cy="${f1(py(p.cost.logicCells))}" r="2" fill="${p.fits ? '#9ecae1' : '#cccccc'}"/>`);
  }
  for (const p of front) {
    parts.push(`<circle cx="${f1(px(p.cost.cycles))}" cy="${f1(py(p.cost.logicCells))}" r="3.5" fill="white" stroke="#1f77b4" stroke-width="1.2"><title>#${p.id}: ${p.cost.cycles} cycles, ${p.cost.logicCells} logic cells, ${p.cost.ebr} EBR, ${p.cost.dsp} DSP</title></circle>`);
  }
  // The staircase: from each front point right to the next one's cycles, then down to its logic cells.
  const stairs = pair.flatMap((p, i) => {
    const here = `${f1(px(p.cost.cycles))},${f1(py(p.cost.logicCells))}`;
    return i === 0 ? [here] : [`${f1(px(p.cost.cycles))},${f1(py(pair[i - 1].cost.logicCells))}`, here];
  });
  parts.push(`<polyline class="front2d" fill="none" stroke="#08519c" stroke-width="1.8" points="${stairs.join(' ')}"/>`);
  for (const p of pair) {
    parts.push(`<circle class="front2d" cx="${f1(px(p.cost.cycles))}" cy="${f1(py(p.cost.logicCells))}" r="3" fill="#08519c"><title>on the cycles/logic front: #${p.id}, ${p.cost.cycles} cycles, ${p.cost.logicCells} logic cells</title></circle>`);
  }
  if (opts.baseline) {
    const b = opts.baseline;
    parts.push(`<rect x="${f1(px(b.cost.cycles) - 4.5)}" y="${f1(py(b.cost.logicCells) - 4.5)}" width="9" height="9" fill="none" stroke="black" stroke-width="1.5"><title>one lane per layer (baseline) #${b.id}: ${b.cost.cycles} cycles, ${b.cost.logicCells} logic cells</title></rect>`);
  }
  parts.push(`<circle cx="${f1(px(chosen.cost.cycles))}" cy="${f1(py(chosen.cost.logicCells))}" r="7" fill="none" stroke="#ff7f0e" stroke-width="2.5"><title>chosen #${chosen.id}: ${chosen.cost.cycles} cycles, ${chosen.cost.logicCells} logic cells</title></circle>`);
  // The legend, in a column right of the plot.
  const lx = right + 18;
  let ly = T + 6;
  const entry = (mark: string, text: string) => {
    parts.push(`<g class="legend">${mark}<text x="${lx + 22}" y="${ly + 4}">${escapeXml(text)}</text></g>`);
    ly += 22;
  };
  entry(`<circle cx="${lx + 8}" cy="${ly}" r="2.5" fill="#9ecae1"/>`, 'explored, fits');
  entry(`<circle cx="${lx + 8}" cy="${ly}" r="2.5" fill="#cccccc"/>`, 'explored, does not fit');
  entry(`<circle cx="${lx + 8}" cy="${ly}" r="3.5" fill="white" stroke="#1f77b4" stroke-width="1.2"/>`, 'frontier (cycles, logic,');
  parts.push(`<text x="${lx + 22}" y="${ly - 4}">EBR, DSP)</text>`);
  ly += 10;
  entry(`<line x1="${lx}" y1="${ly}" x2="${lx + 16}" y2="${ly}" stroke="#08519c" stroke-width="1.8"/><circle cx="${lx + 8}" cy="${ly}" r="3" fill="#08519c"/>`, 'front of cycles vs logic');
  if (opts.baseline) entry(`<rect x="${lx + 3.5}" y="${ly - 4.5}" width="9" height="9" fill="none" stroke="black" stroke-width="1.5"/>`, 'one lane per layer');
  entry(`<circle cx="${lx + 8}" cy="${ly}" r="6" fill="none" stroke="#ff7f0e" stroke-width="2.5"/>`, 'chosen');
  entry(`<line x1="${lx}" y1="${ly}" x2="${lx + 16}" y2="${ly}" stroke="#d62728" stroke-dasharray="6 4"/>`, 'device budget (margin)');
  parts.push('</svg>', '');
  return parts.join('\n');
}
