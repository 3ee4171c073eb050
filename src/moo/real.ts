/**
 * Variation for real-valued genomes within box bounds: simulated binary crossover (SBX, Deb &
 * Agrawal 1995) and polynomial mutation (Deb & Goyal 1996), in the bounded forms of Deb's reference
 * NSGA-II code (nsga2-gnu: realcross and real_mutate_ind).
 */
import type { Rng } from './rng';
import type { GenomeOps } from './types';

export interface Bounds {
  lower: readonly number[];
  upper: readonly number[];
}

const EPS = 1e-14;

export function sbx(p1: readonly number[], p2: readonly number[], bounds: Bounds, eta: number, rng: Rng): [number[], number[]] {
  const c1 = [...p1], c2 = [...p2];
  for (let i = 0; i < p1.length; i++) {
    if (!rng.bool(0.5) || Math.abs(p1[i] - p2[i]) <= EPS) continue;
    const y1 = Math.min(p1[i], p2[i]), y2 = Math.max(p1[i], p2[i]);
    const yl = bounds.lower[i], yu = bounds.upper[i];
    const u = rng.next();
    const spread = (beta: number) => {
      const alpha = 2 - Math.pow(beta, -(eta + 1));
      return u <= 1 / alpha ? Math.pow(u * alpha, 1 / (eta + 1)) : Math.pow(1 / (2 - u * alpha), 1 / (eta + 1));
    };
    let a = 0.5 * (y1 + y2 - spread(1 + (2 * (y1 - yl)) / (y2 - y1)) * (y2 - y1));
    let b = 0.5 * (y1 + y2 + spread(1 + (2 * (yu - y2)) / (y2 - y1)) * (y2 - y1));
    a = Math.min(Math.max(a, yl), yu);
    b = Math.min(Math.max(b, yl), yu);
    if (rng.bool(0.5)) [a, b] = [b, a];
    c1[i] = a;
    c2[i] = b;
  }
  return [c1, c2];
}

export function polynomialMutation(x: readonly number[], bounds: Bounds, eta: number, probability: number, rng: Rng): number[] {
  const out = [...x];
  for (let j = 0; j < x.length; j++) {
    if (!rng.bool(probability)) continue;
    const yl = bounds.lower[j], yu = bounds.upper[j];
    const y = x[j];
    const d1 = (y - yl) / (yu - yl), d2 = (yu - y) / (yu - yl);
    const u = rng.next();
    const pow = 1 / (eta + 1);
    let dq: number;
    if (u <= 0.5) {
      const val = 2 * u + (1 - 2 * u) * Math.pow(1 - d1, eta + 1);
      dq = Math.pow(val, pow) - 1;
    } else {
      const val = 2 * (1 - u) + 2 * (u - 0.5) * Math.pow(1 - d2, eta + 1);
      dq = 1 - Math.pow(val, pow);
    }
    out[j] = Math.min(Math.max(y + dq * (yu - yl), yl), yu);
  }
  return out;
}

export interface RealOpsOptions {
  /** SBX distribution index (default 20). */
  etaCrossover?: number;
  /** Polynomial mutation distribution index (default 20). */
  etaMutation?: number;
  /** Per-variable mutation probability (default 1/n). */
  mutationProbability?: number;
}

/** GenomeOps for a real vector in a box; the key is the exact bit pattern of the values. */
export function realVectorOps(bounds: Bounds, opts: RealOpsOptions = {}): GenomeOps<number[]> {
  const n = bounds.lower.length;
  const etaC = opts.etaCrossover ?? 20, etaM = opts.etaMutation ?? 20;
  const pm = opts.mutationProbability ?? 1 / n;
  return {
    random: (rng) => bounds.lower.map((lo, i) => rng.uniform(lo, bounds.upper[i])),
    crossover: (a, b, rng) => sbx(a, b, bounds, etaC, rng),
    mutate: (g, rng) => polynomialMutation(g, bounds, etaM, pm, rng),
    key: (g) => Buffer.from(Float64Array.from(g).buffer).toString('hex'),
  };
}
