/**
 * The two figures the page draws itself, from numbers in the reports (the stages write no picture
 * of them): training curves (train report `history`, then the quantization-aware fine-tuning's) and
 * resources used against the device. Hand-written SVG like the stages' own figures; every text is
 * escaped.
 */
import { escapeXml as esc } from '../util/svg';

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: [number, number][];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Format of the y tick labels (default: 3 significant digits). */
  yTick?: (v: number) => string;
  /** y range; default: the data's, widened to round ticks. */
  yMin?: number;
  yMax?: number;
  /** Vertical markers, e.g. where fine-tuning starts. */
  markers?: { x: number; label: string }[];
}

/** Round tick values covering [lo, hi] (1, 2, 5 x powers of ten), about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) / 10 : 1;
    return niceTicks(lo - d, lo + d, count);
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  if (out[out.length - 1] < hi) out.push(+(out[out.length - 1] + step).toPrecision(12));
  return out;
}

export function lineChartSvg(c: LineChart): string {
  const rows = Math.ceil(c.series.length / 2);
  const W = 520, L = 62, R = 16, T = 36, B = 60 + rows * 16, H = 250 + B;
  const all = c.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const xlo = Math.min(...xs), xhi = Math.max(...xs);
  const yt = niceTicks(c.yMin ?? Math.min(...ys), c.yMax ?? Math.max(...ys));
  const ylo = c.yMin ?? yt[0], yhi = c.yMax ?? yt[yt.length - 1];
  const sx = (x: number) => L + (xhi === xlo ? (W - L - R) / 2 : ((x - xlo) / (xhi - xlo)) * (W - L - R));
  const sy = (y: number) => T + (1 - (y - ylo) / (yhi - ylo || 1)) * (H - T - B);
  const fmtY = c.yTick ?? ((v: number) => `${+v.toPrecision(3)}`);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-label="${esc(c.title)}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`,
  ];
  for (const v of yt.filter((v) => v >= ylo - 1e-12 && v <= yhi + 1e-12)) {
    const Y = sy(v).toFixed(1);
    parts.push(`<line x1="${L}" y1="${Y}" x2="${W - R}" y2="${Y}" stroke="#e5e5e5"/><text x="${L - 6}" y="${Y}" text-anchor="end" dominant-baseline="middle">${esc(fmtY(v))}</text>`);
  }
  for (const v of niceTicks(xlo, xhi, 8).filter((v) => v >= xlo && v <= xhi && Number.isInteger(v))) {
    const X = sx(v).toFixed(1);
    parts.push(`<line x1="${X}" y1="${H - B}" x2="${X}" y2="${H - B + 4}" stroke="#000"/><text x="${X}" y="${H - B + 17}" text-anchor="middle">${v}</text>`);
  }
  parts.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#000"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#000"/>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - B + 34}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  parts.push(`<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">${esc(c.yLabel)}</text>`);
  for (const m of c.markers ?? []) {
    const X = sx(m.x).toFixed(1);
    // The label on the side with more room.
    const right = sx(m.x) < (L + W - R) / 2;
    parts.push(`<line x1="${X}" y1="${T}" x2="${X}" y2="${H - B}" stroke="#888" stroke-dasharray="4 3"/><text x="${(sx(m.x) + (right ? 4 : -4)).toFixed(1)}" y="${T + 12}" text-anchor="${right ? 'start' : 'end'}" fill="#555" font-size="11">${esc(m.label)}</text>`);
  }
  for (const s of c.series) {
    if (!s.points.length) continue;
    const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts}"/>`);
    if (s.points.length <= 60) for (const [x, y] of s.points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"><title>${esc(`${s.name}, epoch ${x}: ${fmtY(y)}`)}</title></circle>`);
  }
  // Legend below the x label: two entries per row.
  c.series.forEach((s, i) => {
    const lx = L + (i % 2) * ((W - L - R) / 2), ly = H - B + 52 + Math.floor(i / 2) * 16;
    parts.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${lx + 27}" y="${ly}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface ResourceBar {
  name: string;
  used: number;
  available: number;
  /** What the DSE predicted for this resource, drawn as a tick. */
  predicted?: number;
}

/** Horizontal bars: each resource used, as a fraction of what the device has. */
export function resourceBarsSvg(title: string, bars: ResourceBar[]): string {
  const W = 640, L = 150, R = 170, T = 40, row = 34, H = T + bars.length * row + 40;
  const span = W - L - R;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-label="${esc(title)}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = T + i * row;
    const frac = b.available > 0 ? b.used / b.available : 0;
    const over = b.used > b.available;
    const color = over ? '#d62728' : frac > 0.9 ? '#ff7f0e' : '#2a6fdb';
    parts.push(`<text x="${L - 8}" y="${y + 14}" text-anchor="end">${esc(b.name)}</text>`);
    parts.push(`<rect x="${L}" y="${y + 2}" width="${span}" height="18" fill="#eef1f5" stroke="#c8ced6"/>`);
    parts.push(`<rect x="${L}" y="${y + 2}" width="${(Math.min(1, frac) * span).toFixed(1)}" height="18" fill="${color}"><title>${esc(`${b.name}: ${b.used} of ${b.available}`)}</title></rect>`);
    if (b.predicted !== undefined && b.available > 0) {
      const X = (L + Math.min(1, b.predicted / b.available) * span).toFixed(1);
      parts.push(`<line x1="${X}" y1="${y - 1}" x2="${X}" y2="${y + 23}" stroke="#000" stroke-width="2"><title>${esc(`DSE prediction: ${b.predicted}`)}</title></line>`);
    }
    const text = b.available > 0 ? `${b.used.toLocaleString('en-US')} / ${b.available.toLocaleString('en-US')} (${(frac * 100).toFixed(0)}%)` : `${b.used.toLocaleString('en-US')} (device has none)`;
    parts.push(`<text x="${L + span + 8}" y="${y + 15}">${esc(text)}</text>`);
  });
  const ly = T + bars.length * row + 16;
  parts.push(`<rect x="${L}" y="${ly - 9}" width="14" height="10" fill="#2a6fdb"/><text x="${L + 20}" y="${ly}">used, as synthesized and packed</text>`);
  if (bars.some((b) => b.predicted !== undefined)) parts.push(`<line x1="${L + 250}" y1="${ly - 11}" x2="${L + 250}" y2="${ly + 3}" stroke="#000" stroke-width="2"/><text x="${L + 258}" y="${ly}">DSE prediction</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
