/**
 * The calibrated resource predictor: per resource (LUTs, flip-flops, carry cells) one non-negative
 * coefficient per feature (src/dse/features.ts), fitted by relative least squares on real Yosys
 * syntheses of generated modules and whole generated designs. The data (the samples with their
 * features and the synthesized figures, the fitted coefficients, the memory-mapping rules and the
 * fit's own error) live in src/dse/calibration/ice40.json; `npm run calibrate` (deepmaker
 * calibrate) synthesizes the samples again and rewrites that file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeepMakerError } from '../util/errors';
import { ALL_FEATURES, Features, ICE40_EBR_MODES, MemoryRules } from './features';
import { nnls } from './nnls';
// Imported (not only read at run time) so that the build copies it beside the compiled code and an
// installed package carries it.
import shipped from './calibration/ice40.json';

export const CALIBRATION_FORMAT = 'deepmaker-dse-calibration';
export const CALIBRATION_VERSION = 1;

export type LogicResource = 'luts' | 'ffs' | 'carry';
export const LOGIC_RESOURCES: LogicResource[] = ['luts', 'ffs', 'carry'];

export interface SynthFigures {
  luts: number;
  ffs: number;
  carry: number;
  logicCells: number;
  ebr: number;
  dsp: number;
  spram: number;
}

export interface CalibrationSample {
  kind: 'memory' | 'engine' | 'design';
  name: string;
  /** What was synthesized (model, layer, directive), for people reading the file. */
  description: string;
  features: Features;
  /** Blocks the mapping rules predict (memories: the ones measured set the rules). */
  blocks?: { ebr: number; dsp: number; spram: number };
  /** Memory samples: the geometry. */
  memory?: { kind: 'rom' | 'ram'; width: number; depth: number };
  actual: SynthFigures;
}

export interface ErrorStats {
  samples: number;
  /** Median of |predicted − actual| / actual. */
  medianRelError: number;
  /** 90th percentile of the same. */
  p90RelError: number;
  maxRelError: number;
}

export interface Calibration {
  format: typeof CALIBRATION_FORMAT;
  version: number;
  family: 'ice40';
  /** The synthesis tool the samples were measured with. */
  toolchain: string;
  memory: MemoryRules;
  coefficients: Record<LogicResource, Record<string, number>>;
  /** In-sample error of the fit, per resource and for logic cells, on the design samples and on all samples. */
  fit: { designs: Record<string, ErrorStats>; engines: Record<string, ErrorStats> };
  samples: CalibrationSample[];
}

export const CALIBRATION_DIR = join(__dirname, 'calibration');
export const CALIBRATION_FILE = 'ice40.json';

/** The repository's calibration (src/dse/calibration/ice40.json; build/ reads the same file from src/). */
export function calibrationPath(): string {
  // Compiled code runs from build/src/dse (with a copy of the JSON); the file to rewrite is the one in src/dse/calibration.
  const candidates = [join(__dirname, '..', '..', '..', 'src', 'dse', 'calibration', CALIBRATION_FILE), join(CALIBRATION_DIR, CALIBRATION_FILE)];
  return candidates.find((c) => existsSync(c)) ?? candidates[0];
}

let cached: Calibration | undefined;

/** The repository's calibration (as built), or a calibration file. */
export function loadCalibration(file?: string): Calibration {
  if (file === undefined) {
    cached ??= check(shipped as unknown as Calibration, calibrationPath());
    return cached;
  }
  return check(readCalibrationFile(file), file);
}

function readCalibrationFile(file: string): Calibration {
  if (!existsSync(file)) throw new DeepMakerError('the DSE calibration data is missing', { file }, 'run `npm run calibrate` to synthesize the calibration modules and write it');
  return JSON.parse(readFileSync(file, 'utf8')) as Calibration;
}

function check(c: Calibration, file: string): Calibration {
  if (c.format !== CALIBRATION_FORMAT || c.version !== CALIBRATION_VERSION) {
    throw new DeepMakerError(`not a DSE calibration file of version ${CALIBRATION_VERSION} (format '${c.format}', version ${c.version})`, { file }, 'run `npm run calibrate` to rewrite it');
  }
  return c;
}

export function predictLogic(coefficients: Calibration['coefficients'], f: Features): { luts: number; ffs: number; carry: number; logicCells: number } {
  const out = { luts: 0, ffs: 0, carry: 0, logicCells: 0 };
  for (const r of LOGIC_RESOURCES) {
    let s = 0;
    for (const [k, c] of Object.entries(coefficients[r])) s += c * (f[k] ?? 0);
    out[r] = Math.round(s);
  }
  out.logicCells = Math.max(out.luts, out.ffs, out.carry);
  return out;
}

/** Relative error |p − a| / a, with a floor on a so tiny modules do not dominate. */
export function relError(predicted: number, actual: number, floor = 16): number {
  return Math.abs(predicted - actual) / Math.max(actual, floor);
}

/** The median of ascending `sorted` (the mean of the middle two for an even count; 0 when empty). */
export function median(sorted: number[]): number {
  const n = sorted.length;
  return n === 0 ? 0 : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

export function errorStats(pairs: [number, number][], floor = 16): ErrorStats {
  const e = pairs.map(([p, a]) => relError(p, a, floor)).sort((x, y) => x - y);
  const at = (q: number) => (e.length ? e[Math.min(e.length - 1, Math.floor(q * e.length))] : 0);
  return { samples: e.length, medianRelError: round4(median(e)), p90RelError: round4(at(0.9)), maxRelError: round4(e[e.length - 1] ?? 0) };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/**
 * Memory-mapping rules from the memory samples: the largest ROM / RAM that Yosys put in logic
 * (every sample at or below it must have gone to logic, every one above to EBR, else the rule is
 * not a threshold and we say so).
 */
export function fitMemoryRules(samples: CalibrationSample[]): MemoryRules {
  const rule = (kind: 'rom' | 'ram') => {
    const ms = samples.filter((s) => s.kind === 'memory' && s.memory?.kind === kind);
    if (ms.length === 0) throw new Error(`calibration: no ${kind} samples`);
    const logic = ms.filter((s) => s.actual.ebr === 0).map((s) => s.memory!.width * s.memory!.depth);
    const ebr = ms.filter((s) => s.actual.ebr > 0).map((s) => s.memory!.width * s.memory!.depth);
    const max = logic.length ? Math.max(...logic) : 0;
    const minEbr = ebr.length ? Math.min(...ebr) : Infinity;
    if (minEbr <= max) throw new Error(`calibration: ${kind}s of ${minEbr} bits went to EBR but ${max} bits to logic: not a size threshold`);
    return max;
  };
  return { romLogicMaxBits: rule('rom'), ramLogicMaxBits: rule('ram'), ebrModes: ICE40_EBR_MODES };
}

/**
 * Fits the coefficients: for each logic resource, NNLS on rows scaled by 1/max(actual, 16) (so the
 * fit minimises relative error, what the predictor check measures). Design samples carry `weight`
 * times the weight of an engine sample: they are what the DSE predicts.
 */
export function fitCoefficients(samples: CalibrationSample[], designWeight = 3): Calibration['coefficients'] {
  const rows = samples;
  const features = ALL_FEATURES.filter((f) => rows.some((s) => (s.features[f] ?? 0) !== 0));
  const out = {} as Calibration['coefficients'];
  for (const r of LOGIC_RESOURCES) {
    const A: number[][] = [];
    const b: number[] = [];
    for (const s of rows) {
      const w = (s.kind === 'design' ? designWeight : 1) / Math.max(s.actual[r], 16);
      A.push(features.map((f) => (s.features[f] ?? 0) * w));
      b.push(s.actual[r] * w);
    }
    const x = nnls(A, b);
    out[r] = {};
    features.forEach((f, i) => {
      if (x[i] > 0) out[r][f] = Math.round(x[i] * 1e6) / 1e6;
    });
  }
  return out;
}

export function fitStats(samples: CalibrationSample[], coefficients: Calibration['coefficients']): Calibration['fit'] {
  const stats = (kind: 'engine' | 'design') => {
    const rows = samples.filter((s) => s.kind === kind);
    const preds = rows.map((s) => predictLogic(coefficients, s.features));
    const out: Record<string, ErrorStats> = {};
    for (const r of [...LOGIC_RESOURCES, 'logicCells'] as const) out[r] = errorStats(rows.map((s, i) => [preds[i][r], s.actual[r]]));
    return out;
  };
  return { designs: stats('design'), engines: stats('engine') };
}
