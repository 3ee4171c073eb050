/** Writing and printing a verification: report.json, precision-sweep.svg, trace.json and a text summary. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../util/fs';
import { sweepSvg } from './svg';
import { formatTraceDiff } from './trace';
import type { VerifyResult } from './verify';

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);

export function formatSweep(r: VerifyResult): string {
  const head = ['bits', 'weights', 'biases', 'activations', 'accuracy', 'top-1 agreement'];
  const rows = r.sweep.map((s) => [String(s.bits), s.weights, s.biases, s.activations, pct(s.accuracy), pct(s.top1Agreement)]);
  const widths = head.map((_, c) => Math.max(...[head, ...rows].map((x) => x[c].length)));
  return [head, ...rows].map((x) => x.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

export function formatVerification(r: VerifyResult): string {
  const ref = r.reference.kind === 'expected' ? `expected vectors (${r.reference.file})` : `${r.reference.engine} on ${r.reference.backend}`;
  const lines = [
    `samples: ${r.samples}; reference: ${ref}${r.reference.accuracy !== undefined ? `, accuracy ${pct(r.reference.accuracy)}` : ''}`,
    `float C: top-1 agreement ${pct(r.float.top1Agreement)}, max abs error ${r.float.maxAbsError.toExponential(2)}${r.float.accuracy !== undefined ? `, accuracy ${pct(r.float.accuracy)}` : ''}, ${Math.round(r.float.imagesPerSecond)} samples/s`,
    `fixed C (${r.fixed.format}): top-1 agreement ${pct(r.fixed.top1Agreement)}${r.fixed.accuracy !== undefined ? `, accuracy ${pct(r.fixed.accuracy)}` : ''}, ${Math.round(r.fixed.imagesPerSecond)} samples/s`,
    '',
    `precision sweep (integer bits per width: the best of ${r.sweepSearch.splitsPerWidth} splits around the observed need, chosen on ${r.sweepSearch.samples} ${r.sweepSearch.on === 'validation' ? 'validation' : 'of the verified'} samples):`,
    formatSweep(r),
    '',
    `per-layer trace, fixed vs float on ${r.trace.samples} samples:`,
    formatTraceDiff(r.trace),
  ];
  if (r.sanitizers) lines.push('', `sanitizers (address, undefined) on ${r.sanitizers.samples} samples: float ${r.sanitizers.float}, fixed ${r.sanitizers.fixed}`);
  return lines.join('\n');
}

/** report.json with DESIGN §5's fields (samples, reference, float, fixed, sweep) and the rest. */
export function writeVerification(dir: string, r: VerifyResult, extra: Record<string, unknown> = {}): string[] {
  const useAccuracy = r.float.accuracy !== undefined;
  const points = r.sweep.map((s) => ({ bits: s.bits, value: useAccuracy ? s.accuracy! : s.top1Agreement }));
  writeFileSync(
    join(dir, 'precision-sweep.svg'),
    sweepSvg(points, {
      title: 'Fixed-point precision sweep',
      yLabel: useAccuracy ? 'test accuracy' : 'top-1 agreement with the reference',
      floatValue: useAccuracy ? r.float.accuracy : r.float.top1Agreement,
    }),
  );
  writeFileSync(join(dir, 'trace.json'), canonicalJson(r.trace));
  const report = {
    samples: r.samples,
    reference: r.reference,
    float: r.float,
    fixed: { format: r.fixed.format, top1Agreement: r.fixed.top1Agreement, ...(r.fixed.accuracy !== undefined ? { accuracy: r.fixed.accuracy } : {}), ...(r.fixed.maxAbsErrorVsFloat !== undefined ? { maxAbsErrorVsFloat: r.fixed.maxAbsErrorVsFloat } : {}), imagesPerSecond: r.fixed.imagesPerSecond, knobs: r.fixed.knobs },
    sweep: r.sweep,
    firstDrift: r.trace.firstDrift ?? null,
    observedIntegerBits: r.observedIntegerBits,
    sweepSearch: r.sweepSearch,
    ...(r.sanitizers ? { sanitizers: r.sanitizers } : {}),
    ...extra,
    files: ['report.json', 'precision-sweep.svg', 'trace.json'],
  };
  writeFileSync(join(dir, 'report.json'), canonicalJson(report));
  return report.files;
}
