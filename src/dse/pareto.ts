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
import { escapeXml, svgFrame } from '../util/svg';

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
        (['logicCells', 'ebr', 'dsp', 'spram'] as const).map((k) => `${base.cost[k]}${base.cost[k] > budget[k] ? ` > ${budget[k]}` : ` of ${budget[k]}`} ${k === 'logicCells' ? 'logic cells' : k.toUpperCase()}`).join(', ')
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

/** pareto.svg: every explored point (cycles on a log axis, logic cells), the frontier, the budget line and the chosen point. */
export function paretoSvg(points: ExploredPoint[], front: ExploredPoint[], chosen: ExploredPoint, opts: { title: string; budgetLogicCells: number; baseline?: ExploredPoint }): string {
  const W = 640, H = 420, L = 72, R = 24, T = 44, B = 56;
  // Plot at most a few thousand points (spread evenly) so the file stays small.
  const step = Math.max(1, Math.ceil(points.length / 4000));
  const shown = points.filter((_, i) => i % step === 0);
  const all = [...shown, ...front, chosen];
  const xs = all.map((p) => Math.log10(p.cost.cycles));
  const ys = all.map((p) => p.cost.logicCells).concat([opts.budgetLogicCells]);
  const xmin = Math.floor(Math.min(...xs) * 10) / 10, xmax = Math.ceil(Math.max(...xs) * 10) / 10 || xmin + 1;
  const ymin = 0, ymax = Math.max(...ys) * 1.08;
  const px = (c: number) => L + ((Math.log10(c) - xmin) / (xmax - xmin || 1)) * (W - L - R);
  const py = (v: number) => T + (1 - (v - ymin) / (ymax - ymin || 1)) * (H - T - B);
  const parts = svgFrame({ W, H, L, R, T, B }, opts.title);
  for (let e = Math.ceil(xmin); e <= Math.floor(xmax); e++) {
    for (const m of [1, 2, 5]) {
      const c = m * 10 ** e;
      if (Math.log10(c) < xmin || Math.log10(c) > xmax) continue;
      parts.push(`<line x1="${px(c)}" y1="${T}" x2="${px(c)}" y2="${H - B + 5}" stroke="#eee"/><text x="${px(c)}" y="${H - B + 18}" text-anchor="middle">${c >= 1e6 ? `${c / 1e6}M` : c >= 1e3 ? `${c / 1e3}k` : c}</text>`);
    }
  }
  for (let i = 0; i <= 5; i++) {
    const v = ymin + ((ymax - ymin) * i) / 5;
    parts.push(`<line x1="${L - 5}" y1="${py(v)}" x2="${W - R}" y2="${py(v)}" stroke="#eee"/><text x="${L - 8}" y="${py(v) + 4}" text-anchor="end">${Math.round(v)}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 14}" text-anchor="middle">cycles per inference (log scale)</text>`);
  parts.push(`<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">logic cells (predicted)</text>`);
  parts.push(`<line x1="${L}" y1="${py(opts.budgetLogicCells)}" x2="${W - R}" y2="${py(opts.budgetLogicCells)}" stroke="#d62728" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${W - R}" y="${py(opts.budgetLogicCells) - 6}" text-anchor="end" fill="#d62728">device budget (with margin)</text>`);
  for (const p of shown) {
    parts.push(`<circle cx="${px(p.cost.cycles).toFixed(1)}" cy="${py(p.cost.logicCells).toFixed(1)}" r="2" fill="${p.fits ? '#9ecae1' : '#dddddd'}"/>`);
  }
  const f2 = [...front].sort((a, b) => a.cost.cycles - b.cost.cycles);
  parts.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${f2.map((p) => `${px(p.cost.cycles).toFixed(1)},${py(p.cost.logicCells).toFixed(1)}`).join(' ')}"/>`);
  for (const p of f2) {
    parts.push(`<circle cx="${px(p.cost.cycles).toFixed(1)}" cy="${py(p.cost.logicCells).toFixed(1)}" r="3.5" fill="#1f77b4"><title>#${p.id}: ${p.cost.cycles} cycles, ${p.cost.logicCells} logic cells, ${p.cost.ebr} EBR, ${p.cost.dsp} DSP</title></circle>`);
  }
  if (opts.baseline) {
    const b = opts.baseline;
    parts.push(`<rect x="${(px(b.cost.cycles) - 4).toFixed(1)}" y="${(py(b.cost.logicCells) - 4).toFixed(1)}" width="8" height="8" fill="none" stroke="black"><title>one-lane baseline: ${b.cost.cycles} cycles</title></rect>`);
  }
  parts.push(`<circle cx="${px(chosen.cost.cycles).toFixed(1)}" cy="${py(chosen.cost.logicCells).toFixed(1)}" r="7" fill="none" stroke="#ff7f0e" stroke-width="2.5"><title>chosen #${chosen.id}: ${chosen.cost.cycles} cycles</title></circle>`);
  const lx = L + 12;
  parts.push(`<circle cx="${lx}" cy="${T + 8}" r="3" fill="#9ecae1"/><text x="${lx + 8}" y="${T + 12}">explored, fits</text>`);
  parts.push(`<circle cx="${lx + 110}" cy="${T + 8}" r="3" fill="#cccccc"/><text x="${lx + 118}" y="${T + 12}">does not fit</text>`);
  parts.push(`<circle cx="${lx + 210}" cy="${T + 8}" r="3.5" fill="#1f77b4"/><text x="${lx + 218}" y="${T + 12}">Pareto frontier</text>`);
  parts.push(`<circle cx="${lx + 330}" cy="${T + 8}" r="6" fill="none" stroke="#ff7f0e" stroke-width="2"/><text x="${lx + 340}" y="${T + 12}">chosen</text>`);
  parts.push('</svg>', '');
  return parts.join('\n');
}
