/** The precision-sweep figure (accuracy vs total bits), hand-written SVG. */
import { escapeXml, svgFrame } from '../util/svg';

export interface SweepPoint {
  bits: number;
  value: number;
}

export function sweepSvg(points: SweepPoint[], opts: { title: string; yLabel: string; floatValue?: number }): string {
  const W = 560, H = 360, L = 64, R = 24, T = 40, B = 52;
  const xs = points.map((p) => p.bits);
  const xmin = Math.min(...xs), xmax = Math.max(...xs);
  const ys = points.map((p) => p.value).concat(opts.floatValue !== undefined ? [opts.floatValue] : []);
  const ymin = Math.max(0, Math.floor(Math.min(...ys) * 10) / 10), ymax = 1;
  const px = (b: number) => L + (xmax === xmin ? (W - L - R) / 2 : ((b - xmin) / (xmax - xmin)) * (W - L - R));
  const py = (v: number) => T + (1 - (v - ymin) / (ymax - ymin || 1)) * (H - T - B);
  const parts = svgFrame({ W, H, L, R, T, B }, opts.title);
  for (const b of xs) parts.push(`<line x1="${px(b)}" y1="${H - B}" x2="${px(b)}" y2="${H - B + 5}" stroke="black"/><text x="${px(b)}" y="${H - B + 18}" text-anchor="middle">${b}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = ymin + ((ymax - ymin) * i) / 5;
    parts.push(`<line x1="${L - 5}" y1="${py(v)}" x2="${W - R}" y2="${py(v)}" stroke="#ddd"/><text x="${L - 8}" y="${py(v) + 4}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">total bits (fixed point)</text>`);
  parts.push(`<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">${escapeXml(opts.yLabel)}</text>`);
  if (opts.floatValue !== undefined) {
    parts.push(`<line x1="${L}" y1="${py(opts.floatValue)}" x2="${W - R}" y2="${py(opts.floatValue)}" stroke="#888" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${W - R}" y="${py(opts.floatValue) - 6}" text-anchor="end" fill="#555">float ${(opts.floatValue * 100).toFixed(2)}%</text>`);
  }
  const sorted = [...points].sort((a, b) => a.bits - b.bits);
  parts.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${sorted.map((p) => `${px(p.bits)},${py(p.value)}`).join(' ')}"/>`);
  for (const p of sorted) parts.push(`<circle cx="${px(p.bits)}" cy="${py(p.value)}" r="4" fill="#1f77b4"><title>${p.bits} bits: ${(p.value * 100).toFixed(2)}%</title></circle>`);
  parts.push('</svg>', '');
  return parts.join('\n');
}
