/**
 * The per-layer trace diff: every layer's output in fixed point against the float model on the same
 * samples, the first layer where the difference passes the tolerance, and the integer bits each
 * layer's observed values need (so a user can see which format to widen).
 */
import { integerBitsFor } from '../qmodel/precision';
import { softmaxRows } from './metrics';

export interface TraceLayer {
  name: string;
  id: string;
  size: number;
  /** True when fixed point outputs logits here and the float model probabilities (a final softmax). */
  logits?: boolean;
}

export interface LayerDiff {
  layer: string;
  loopNest: string;
  /** Observed float range over the traced samples. */
  min: number;
  max: number;
  /** Integer bits (sign included) that hold the observed range: floor(log2(max|v|)) + 2. */
  integerBits: number;
  maxAbsError: number;
  meanAbsError: number;
  drifts: boolean;
  /** A final softmax: range = ±max|logit| of the fixed-point logits; errors compare softmax probabilities. */
  logits?: boolean;
}

export interface TraceDiff {
  samples: number;
  tolerance: number;
  layers: LayerDiff[];
  /** The first layer whose error passes the tolerance, if any. */
  firstDrift?: { layer: string; maxAbsError: number; integerBits: number; formatIntegerBits?: number; hint: string };
}

export { integerBitsFor };

/** Splits a trace file (per sample: every layer's output, float32) into per-layer views. */
export function layerSlices(trace: Float32Array, layers: TraceLayer[], samples: number): Float32Array[] {
  const per = layers.reduce((a, l) => a + l.size, 0);
  if (trace.length !== per * samples) throw new Error(`trace holds ${trace.length} values, expected ${per * samples}`);
  return layers.map((l, li) => {
    const off = layers.slice(0, li).reduce((a, x) => a + x.size, 0);
    const out = new Float32Array(l.size * samples);
    for (let s = 0; s < samples; s++) out.set(trace.subarray(s * per + off, s * per + off + l.size), s * l.size);
    return out;
  });
}

export function diffTraces(floatTrace: Float32Array, fixedTrace: Float32Array, layers: TraceLayer[], samples: number, tolerance: number, activationIntegerBits?: (layer: string) => number | undefined): TraceDiff {
  const f = layerSlices(floatTrace, layers, samples);
  const q = layerSlices(fixedTrace, layers, samples);
  const out: LayerDiff[] = layers.map((l, i) => {
    const fv = f[i];
    const qv = l.logits ? softmaxRows(q[i], samples, l.size) : q[i];
    let min = Infinity, max = -Infinity, maxErr = 0, sumErr = 0;
    for (let j = 0; j < fv.length; j++) {
      min = Math.min(min, fv[j]);
      max = Math.max(max, fv[j]);
      const e = Math.abs(fv[j] - qv[j]);
      maxErr = Math.max(maxErr, e);
      sumErr += e;
    }
    const range = l.logits ? Math.max(...Array.from(q[i], Math.abs)) : Math.max(Math.abs(min), Math.abs(max));
    return {
      layer: l.name,
      loopNest: l.id,
      min,
      max,
      integerBits: integerBitsFor(range),
      maxAbsError: maxErr,
      meanAbsError: fv.length ? sumErr / fv.length : 0,
      drifts: maxErr > tolerance,
    };
  });
  const first = out.find((d) => d.drifts);
  let firstDrift: TraceDiff['firstDrift'];
  if (first) {
    const have = activationIntegerBits?.(first.layer);
    const hint =
      have !== undefined && have < first.integerBits
        ? `its values reach ${Math.max(Math.abs(first.min), Math.abs(first.max)).toPrecision(4)}, which needs ${first.integerBits} integer bits; the format has ${have}: raise the integer bits (they saturate or wrap)`
        : `its values fit in ${first.integerBits} integer bits; the error is rounding: add fractional bits (more total bits)`;
    firstDrift = { layer: first.layer, maxAbsError: first.maxAbsError, integerBits: first.integerBits, ...(have !== undefined ? { formatIntegerBits: have } : {}), hint };
  }
  return { samples, tolerance, layers: out, ...(firstDrift ? { firstDrift } : {}) };
}

export function formatTraceDiff(d: TraceDiff): string {
  const head = ['layer', 'range', 'int bits', 'max |err|', 'mean |err|', ''];
  const rows = d.layers.map((l) => [l.layer + (l.logits ? ' (logits)' : ''), l.logits ? `±${l.max.toPrecision(3)}` : `[${l.min.toPrecision(3)}, ${l.max.toPrecision(3)}]`, String(l.integerBits), l.maxAbsError.toExponential(2), l.meanAbsError.toExponential(2), l.drifts ? 'drifts' : '']);
  const widths = head.map((_, c) => Math.max(...[head, ...rows].map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd();
  const lines = [line(head), ...rows.map(line)];
  lines.push(d.firstDrift ? `first drift past ${d.tolerance}: ${d.firstDrift.layer} — ${d.firstDrift.hint}` : `no layer drifts past ${d.tolerance}`);
  return lines.join('\n');
}
