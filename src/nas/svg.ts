/**
 * The search's pictures, hand-written SVG (no plotting library):
 *  - pareto.svg: validation error against params and against MACs (both axes logarithmic); every
 *    trained candidate in grey, the multi-objective Pareto set in blue, the two-objective front of
 *    each panel as an orange staircase, the selected architecture ringed in red;
 *  - hypervolume.svg: the normalised hypervolume of the Pareto set after each generation.
 */
import type { Candidate, GenerationSummary } from './search';
import { escapeXml } from '../util/svg';

const esc = escapeXml;
const fmt = (x: number) => (x >= 1e6 ? `${+(x / 1e6).toPrecision(3)}M` : x >= 1e3 ? `${+(x / 1e3).toPrecision(3)}k` : `${+x.toPrecision(3)}`);

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Log-scale ticks at 1, 2, 5 × powers of ten inside [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const at = (mantissas: number[]) => {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mantissas) {
        const v = +(m * 10 ** e).toPrecision(6);
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
      }
    }
    return out;
  };
  const coarse = at([1, 2, 5]);
  // A narrow range (less than a decade or so) gets every integer mantissa.
  return coarse.length >= 4 ? coarse : at([1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

/** Compact figures for captions: 8.44M, 15.3k, 0.5. */
export const compact = fmt;

function scatterPanel(p: Panel, title: string, xLabel: string, points: { x: number; y: number; kind: 'other' | 'pareto'; selected: boolean; id: string }[]): string {
  const parts: string[] = [];
  if (points.length === 0) {
    return `<text x="${p.x + p.w / 2}" y="${p.y + p.h / 2}" text-anchor="middle" font-size="13">no trained candidates</text>`;
  }
  const xs = points.map((q) => q.x), ys = points.map((q) => q.y);
  const xlo = Math.min(...xs) / 1.3, xhi = Math.max(...xs) * 1.3;
  const ylo = Math.max(1e-4, Math.min(...ys)) / 1.3, yhi = Math.min(1, Math.max(...ys) * 1.3);
  const sx = (v: number) => p.x + ((Math.log10(v) - Math.log10(xlo)) / (Math.log10(xhi) - Math.log10(xlo))) * p.w;
  const sy = (v: number) => p.y + p.h - ((Math.log10(Math.max(v, ylo)) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo) || 1)) * p.h;
  parts.push(`<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="#fff" stroke="#999"/>`);
  parts.push(`<text x="${p.x + p.w / 2}" y="${p.y - 10}" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (const t of logTicks(xlo, xhi)) {
    const X = sx(t).toFixed(1);
    parts.push(`<line x1="${X}" y1="${p.y}" x2="${X}" y2="${p.y + p.h}" stroke="#eee"/><text x="${X}" y="${p.y + p.h + 16}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of logTicks(ylo, yhi)) {
    const Y = sy(t).toFixed(1);
    parts.push(`<line x1="${p.x}" y1="${Y}" x2="${p.x + p.w}" y2="${Y}" stroke="#eee"/><text x="${p.x - 6}" y="${Y}" text-anchor="end" dominant-baseline="middle" font-size="11">${+(t * 100).toPrecision(3)}%</text>`);
  }
  parts.push(`<text x="${p.x + p.w / 2}" y="${p.y + p.h + 36}" text-anchor="middle" font-size="12">${esc(xLabel)} (log)</text>`);
  parts.push(`<text x="${p.x - 48}" y="${p.y + p.h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${p.x - 48} ${p.y + p.h / 2})">validation error (log)</text>`);
  // The two-objective front of this projection, as a staircase.
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const front: typeof points = [];
  for (const q of sorted) if (!front.length || q.y < front[front.length - 1].y) front.push(q);
  let d = '';
  front.forEach((q, i) => {
    d += i === 0 ? `M${sx(q.x).toFixed(1)},${sy(q.y).toFixed(1)}` : `H${sx(q.x).toFixed(1)}V${sy(q.y).toFixed(1)}`;
  });
  parts.push(`<path d="${d}" fill="none" stroke="#e67e22" stroke-width="1.5"/>`);
  for (const q of points.filter((q) => q.kind === 'other')) parts.push(`<circle cx="${sx(q.x).toFixed(1)}" cy="${sy(q.y).toFixed(1)}" r="3" fill="#bbb"><title>${esc(q.id)}</title></circle>`);
  for (const q of points.filter((q) => q.kind === 'pareto')) parts.push(`<circle cx="${sx(q.x).toFixed(1)}" cy="${sy(q.y).toFixed(1)}" r="4" fill="#2a6fdb"><title>${esc(q.id)}</title></circle>`);
  for (const q of points.filter((q) => q.selected)) {
    parts.push(`<circle cx="${sx(q.x).toFixed(1)}" cy="${sy(q.y).toFixed(1)}" r="8" fill="none" stroke="#d62728" stroke-width="2"/>`);
    parts.push(`<text x="${(sx(q.x) + 10).toFixed(1)}" y="${(sy(q.y) - 10).toFixed(1)}" font-size="11" fill="#d62728">selected ${esc(q.id)}</text>`);
  }
  return parts.join('\n');
}

export function paretoSvg(candidates: Candidate[], pareto: Candidate[], selected: Candidate | undefined, caption: string): string {
  const inFront = new Set(pareto.filter((c) => c.feasible).map((c) => c.key));
  const trained = candidates.filter((c) => c.error !== null);
  const pts = (field: string) =>
    trained
      .filter((c) => c.values[field] > 0)
      .map((c) => ({ x: c.values[field], y: Math.max(c.error!, 1e-4), kind: inFront.has(c.key) ? ('pareto' as const) : ('other' as const), selected: c.key === selected?.key, id: c.id }));
  const W = 980, H = 470;
  const body = [
    scatterPanel({ x: 80, y: 50, w: 380, h: 330 }, 'error vs parameters', 'parameters', pts('params')),
    scatterPanel({ x: 580, y: 50, w: 380, h: 330 }, 'error vs MACs', 'MACs per inference', pts('macs')),
    `<circle cx="90" cy="${H - 30}" r="4" fill="#2a6fdb"/><text x="100" y="${H - 26}" font-size="11">Pareto set (all objectives)</text>`,
    `<circle cx="270" cy="${H - 30}" r="3" fill="#bbb"/><text x="280" y="${H - 26}" font-size="11">other trained candidates</text>`,
    `<line x1="440" y1="${H - 30}" x2="460" y2="${H - 30}" stroke="#e67e22" stroke-width="1.5"/><text x="466" y="${H - 26}" font-size="11">front of this pair of objectives</text>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#555">${esc(caption)}</text>`,
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n<rect width="${W}" height="${H}" fill="#fafafa"/>\n${body.join('\n')}\n</svg>\n`;
}

export function hypervolumeSvg(gens: GenerationSummary[], caption: string): string {
  const W = 640, H = 380;
  const p: Panel = { x: 70, y: 40, w: 530, h: 270 };
  const parts: string[] = [`<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="#fff" stroke="#999"/>`];
  parts.push(`<text x="${p.x + p.w / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">hypervolume of the Pareto set per generation</text>`);
  const n = gens.length;
  const hvMax = Math.max(1e-9, ...gens.map((g) => g.hypervolume));
  const top = niceCeil(hvMax);
  const sx = (i: number) => p.x + (n <= 1 ? p.w / 2 : (i / (n - 1)) * p.w);
  const sy = (v: number) => p.y + p.h - (v / top) * p.h;
  for (let k = 0; k <= 5; k++) {
    const v = (top * k) / 5, Y = sy(v).toFixed(1);
    parts.push(`<line x1="${p.x}" y1="${Y}" x2="${p.x + p.w}" y2="${Y}" stroke="#eee"/><text x="${p.x - 6}" y="${Y}" text-anchor="end" dominant-baseline="middle" font-size="11">${+v.toPrecision(3)}</text>`);
  }
  const step = Math.max(1, Math.ceil(n / 12));
  gens.forEach((g, i) => {
    if (i % step === 0 || i === n - 1) parts.push(`<text x="${sx(i).toFixed(1)}" y="${p.y + p.h + 16}" text-anchor="middle" font-size="11">${g.generation + 1}</text>`);
  });
  parts.push(`<text x="${p.x + p.w / 2}" y="${p.y + p.h + 36}" text-anchor="middle" font-size="12">generation</text>`);
  if (n) {
    parts.push(`<polyline points="${gens.map((g, i) => `${sx(i).toFixed(1)},${sy(g.hypervolume).toFixed(1)}`).join(' ')}" fill="none" stroke="#2a6fdb" stroke-width="2"/>`);
    for (const [i, g] of gens.entries()) parts.push(`<circle cx="${sx(i).toFixed(1)}" cy="${sy(g.hypervolume).toFixed(1)}" r="3.5" fill="#2a6fdb"><title>generation ${g.generation + 1}: ${g.hypervolume.toFixed(4)}</title></circle>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle" font-size="11" fill="#555">${esc(caption)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n<rect width="${W}" height="${H}" fill="#fafafa"/>\n${parts.join('\n')}\n</svg>\n`;
}

function niceCeil(v: number): number {
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= v) return m * e;
  return 10 * e;
}
