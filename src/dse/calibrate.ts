/**
 * The calibration harness: synthesizes, with the project's own Yosys flow (src/fpga/synth.ts),
 *  - memories: the ROM and RAM leaf modules over a grid of widths and depths (-> the rules for
 *    when Yosys uses EBR and when logic),
 *  - engines: single engine modules of small synthetic models over a seeded sample of directive
 *    choices (lanes, unroll, pipeline, banking, DSP or LUT multipliers),
 *  - designs: whole generated accelerators (every engine, the memories and the top),
 * then fits the predictor (src/dse/calibration.ts) and writes src/dse/calibration/ice40.json.
 *
 * `deepmaker calibrate` / `npm run calibrate` run it. Results are cached per job in the work
 * folder (by the hash of the job's sources), so an interrupted run resumes, and `--refit` refits
 * the stored samples without synthesizing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NumberKnobs } from '../qmodel/precision';
import { Device, getDevice } from '../fpga/devices';
import { synthesize } from '../fpga/synth';
import { selectToolchain, Toolchain, ToolchainChoice } from '../fpga/toolchain';
import type { ModelIR } from '../ir/types';
import { Rng } from '../moo/rng';
import { generateRtl, RTL_FILE } from '../rtl/generate';
import { MAC_LAYERS } from '../rtl/directives';
import { leafModules, romModule } from '../rtl/engines';
import { canonicalJson, sha256 } from '../util/fs';
import { consoleLogger, Logger } from '../util/log';
import {
  Calibration,
  CALIBRATION_FORMAT,
  CALIBRATION_VERSION,
  calibrationPath,
  CalibrationSample,
  fitCoefficients,
  fitMemoryRules,
  fitStats,
  SynthFigures,
} from './calibration';
import { CostModel, deviceBudget, fastestFitting } from './cost-model';
import { emptyFeatures, engineFeatures, ICE40_EBR_MODES, memoryFeatures, MemoryRules } from './features';
import { toDirectiveSet } from './space';
import { fixedKnobs, lenet5, SyntheticModel } from './synthetic';

interface Job {
  kind: CalibrationSample['kind'];
  name: string;
  description: string;
  /** Verilog files (name -> text) and data files ($readmemh images). */
  files: Map<string, string>;
  data: Map<string, string>;
  top: string;
  /** The device whose synthesis options apply (default UP5K: -dsp). */
  device?: Device;
  /** Computed lazily for engines and designs (needs the memory rules). */
  sample: (actual: SynthFigures) => CalibrationSample;
}

interface CorpusModel {
  ir: ModelIR;
  knobs: NumberKnobs;
  /** The dse stage's maxLanes its engines and designs are drawn under (16, the stage's default, unless given). */
  maxLanes?: number;
  /** Engine choices sampled per MAC layer (the run's perLayer unless given). */
  perLayer?: number;
}

/** The calibration models: small, but covering every engine kind, widths 8-16, ternary layers (with and without ternary activations), both pool kinds and a strided stem (window unrolls). */
export function calibrationCorpus(): CorpusModel[] {
  return [
    { ir: new SyntheticModel('cal_cnn8', [12, 12, 1]).conv2d('conv1', 8, 3).pool('pool1', 'maxpool2d', 2).conv2d('conv2', 12, 3).flatten().dense('fc', 10).build(), knobs: fixedKnobs(8, 3) },
    { ir: new SyntheticModel('cal_mlp16', [48]).dense('fc1', 24, { relu: true }).dense('fc2', 10).build(), knobs: fixedKnobs(16, 6) },
    { ir: new SyntheticModel('cal_dw8', [8, 8, 4]).depthwise('dw', 3, { padding: 'same' }).conv2d('pw', 8, 1).globalAvgPool('gap').dense('fc', 4).build(), knobs: fixedKnobs(8, 3) },
    { ir: new SyntheticModel('cal_tern8', [10, 10, 2]).conv2d('tconv', 8, 3, { ternary: true }).pool('apool', 'avgpool2d', 2).flatten().dense('tfc', 10, { ternary: true }).build(), knobs: fixedKnobs(8, 3) },
    { ir: new SyntheticModel('cal_avg12', [9, 9, 3]).conv2d('conv', 6, 3, { padding: 'same' }).pool('apool', 'avgpool2d', 3).flatten().dense('fc', 5).build(), knobs: fixedKnobs(12, 4) },
    { ir: new SyntheticModel('cal_stem8', [16, 16, 1]).conv2d('stem', 8, 3, { stride: 2, padding: 'same' }).conv2d('conv', 12, 3, { padding: 'same' }).globalAvgPool('gap').dense('fc', 10).build(), knobs: fixedKnobs(8, 3) },
    { ir: lenet5('calibration'), knobs: fixedKnobs(8, 3) },
    // ToT-Net: ternary weights and activations (the 2-bit code lanes, the writers' threshold tables) after a patch
    // stem that reads the 8-bit input, as the ternary searches build them, drawn under the 64 lanes the ternary
    // projects give the dse stage (appended last: the earlier models' seeded choices, and so their cached
    // syntheses, stay as they were).
    { ir: new SyntheticModel('cal_tot8', [16, 16, 1]).conv2d('tstem', 8, 4, { stride: 4, ternary: true, ternaryOut: true }).conv2d('tconv', 12, 3, { padding: 'same', ternary: true, ternaryOut: true }).flatten().dense('tfc1', 16, { ternary: true, ternaryOut: true }).dense('tfc2', 10, { ternary: true }).build(), knobs: fixedKnobs(8, 3), maxLanes: 64, perLayer: 4 },
  ];
}

const UP5K = getDevice('ice40-up5k');
const HX8K = getDevice('ice40-hx8k');

export function memoryJobs(): Job[] {
  const jobs: Job[] = [];
  const roms: [number, number][] = [[1, 256], [2, 256], [3, 256], [4, 256], [5, 256], [6, 256], [8, 256], [2, 512], [3, 512], [16, 256], [8, 1024], [24, 256]];
  const rams: [number, number][] = [[8, 2], [8, 4], [16, 4], [8, 8], [16, 8], [8, 16], [16, 16], [8, 32], [16, 64], [8, 256], [16, 256], [8, 1024]];
  const rng = new Rng('calibration-memories');
  for (const [w, d] of roms) {
    const aw = Math.max(1, Math.ceil(Math.log2(d)));
    const hex = Array.from({ length: d }, () => rng.int(2 ** w).toString(16)).join('\n') + '\n';
    const name = `rom_${w}x${d}`;
    jobs.push({
      kind: 'memory', name, description: `dm_rom ${w} bits x ${d} words, random contents`, top: 'cal_top',
      files: new Map([[`${name}.v`, romModule(`${name}_rom`, w, d, `${name}.hex`) + `module cal_top(input wire clk, input wire [${aw - 1}:0] a, output wire [${w - 1}:0] q);\n  ${name}_rom u (.clk(clk), .addr(a), .q(q));\nendmodule\n`]]),
      data: new Map([[`${name}.hex`, hex]]),
      sample: (actual) => ({ kind: 'memory', name, description: `dm_rom ${w}x${d}`, features: {}, memory: { kind: 'rom', width: w, depth: d }, actual }),
    });
  }
  for (const [w, d] of rams) {
    const aw = Math.max(1, Math.ceil(Math.log2(d)));
    const name = `ram_${w}x${d}`;
    jobs.push({
      kind: 'memory', name, description: `dm_ram ${w} bits x ${d} words`, top: 'cal_top',
      files: new Map([[`${name}.v`, leafModules() + `module cal_top(input wire clk, input wire we, input wire [${aw - 1}:0] wa, input wire [${w - 1}:0] wd, input wire [${aw - 1}:0] ra, output wire [${w - 1}:0] q);\n  dm_ram #(.W(${w}), .D(${d}), .AW(${aw})) u (.clk(clk), .we(we), .waddr(wa), .wd(wd), .raddr(ra), .rq(q));\nendmodule\n`]]),
      data: new Map(),
      sample: (actual) => ({ kind: 'memory', name, description: `dm_ram ${w}x${d}`, features: {}, memory: { kind: 'ram', width: w, depth: d }, actual }),
    });
  }
  return jobs;
}

/** The cost model of `ir` on the shared MAC array, or undefined when the array cannot build it. */
function arrayModel(ir: ModelIR, knobs: NumberKnobs, calibration: Calibration, maxLanes: number): CostModel | undefined {
  try {
    const m = new CostModel({ ir, knobs, device: UP5K, maxLanes, calibration, architecture: 'array' });
    return m.evaluate(m.space.partitions.map(() => 0)).legal ? m : undefined;
  } catch {
    return undefined;
  }
}

/** A provisional calibration (rules only) so the cost model can compute features before any fit. */
function provisional(rules: MemoryRules): Calibration {
  return {
    format: CALIBRATION_FORMAT, version: CALIBRATION_VERSION, family: 'ice40', toolchain: '', memory: rules,
    coefficients: { luts: {}, ffs: {}, carry: {} }, fit: { designs: {}, engines: {} }, samples: [],
  };
}

/**
 * `reuse`: names of engine jobs already synthesized in the work folder (eng_<model>_<layer>_c<choice>);
 * they are added to the sample too, so a smaller rerun keeps what a larger one measured (a job whose
 * module has changed since is synthesized again: results are keyed by the module's hash).
 */
export function engineAndDesignJobs(rules: MemoryRules, perLayer: number, reuse: string[] = []): Job[] {
  const jobs: Job[] = [];
  const cal = provisional(rules);
  const rng = new Rng('calibration-engines');
  for (const { ir, knobs, maxLanes = 16, perLayer: modelPerLayer = perLayer } of calibrationCorpus()) {
    const model = new CostModel({ ir, knobs, device: UP5K, maxLanes, calibration: cal });
    const isLenet = ir.name === 'lenet5';
    model.space.partitions.forEach((p, i) => {
      // LeNet-5 only lends its large layers' engines (its whole design is synthesized below).
      const picks = new Set<number>([0]);
      const want = p.choices.length === 1 || isLenet ? 1 : modelPerLayer;
      for (let t = 0; picks.size < Math.min(want, p.choices.length) && t < 100; t++) picks.add(rng.int(p.choices.length));
      const prefix = `eng_${ir.name}_${p.layer}_c`;
      for (const name of reuse) {
        const m = name.startsWith(prefix) ? /^(\d+)(?:_p\d+)?$/.exec(name.slice(prefix.length)) : null;
        if (m && Number(m[1]) < p.choices.length) picks.add(Number(m[1]));
      }
      for (const c of [...picks].sort((a, b) => a - b)) {
        const choice = p.choices[c];
        const layer = ir.layers.find((l) => l.name === p.layer)!;
        // The generator's DSP budget for this engine when it is the first to ask (ternary: the scale multiplier).
        const budget = !MAC_LAYERS.has(p.type) || choice.multiplier === 'lut' ? 0 : layer.ternary ? 1 : Math.min(choice.lanes, UP5K.dsp);
        const { modules } = model.emitPartition(i, c, budget);
        modules.forEach((m, k) => {
          const name = `eng_${ir.name}_${p.layer}_c${c}${modules.length > 1 ? `_p${k}` : ''}`;
          const files = new Map([[`${name}.v`, leafModules() + m.verilog]]);
          const data = new Map(m.roms.map((r) => [r.file, r.contents] as [string, string]));
          const description = `${ir.name} ${p.layer} (${p.type}): lanes ${choice.lanes} ${choice.unroll} ${choice.partition}, pipeline ${choice.pipeline}, multiplier ${choice.multiplier}, dsp budget ${budget}`;
          // The features of this module alone: the cost model sums them per engine the same way.
          const ef = engineFeatures(m, rules);
          jobs.push({
            kind: 'engine', name, top: m.plan.module, files, data, description,
            sample: (actual) => ({ kind: 'engine', name, description, features: ef.features, blocks: { ebr: ef.ebr, dsp: ef.dsp, spram: 0 }, actual }),
          });
        });
      }
    });
    // Whole designs: the baseline and seeded random points, on UP5K (DSP, SPRAM) and HX8K (neither).
    // (LeNet-5 at 8 bits needs more EBR than any iCE40 has: its engines are samples, its whole design is not.)
    const designs: { device: typeof UP5K; genome: number[]; label: string; model?: CostModel }[] = [];
    if (!isLenet) {
      designs.push({ device: UP5K, genome: model.space.partitions.map(() => 0), label: 'baseline' });
      designs.push({ device: UP5K, genome: model.space.partitions.map((p) => rng.int(p.choices.length)), label: 'random0' });
      designs.push({ device: HX8K, genome: model.space.partitions.map((p) => rng.int(p.choices.length)), label: 'hx8k' });
      // The shared MAC array (with window stems where a conv reads the model input): a random point and the
      // fastest one the search's hardware objective finds on a device budget the model's size can fill, the
      // many-lane designs the dse stage chooses.
      const array = arrayModel(ir, knobs, cal, maxLanes);
      if (array) {
        designs.push({ device: UP5K, genome: array.space.partitions.map((p) => rng.int(p.choices.length)), label: 'array_random', model: array });
        const fastest = fastestFitting(array, deviceBudget(UP5K, 0.1));
        if (fastest) designs.push({ device: UP5K, genome: fastest.genome, label: 'array_fastest', model: array });
      }
    }
    for (const d of designs) {
      const m = d.model ?? (d.device === UP5K ? model : new CostModel({ ir, knobs, device: d.device, maxLanes, calibration: cal }));
      const g = d.device === UP5K ? d.genome : d.genome.map((c, i) => Math.min(c, m.space.partitions[i].choices.length - 1));
      const set = toDirectiveSet(m.space, g);
      let gen;
      try {
        gen = generateRtl(ir, knobs, set, { name: d.device.name, dsp: d.device.dsp, spram: d.device.spram });
      } catch {
        continue; // an illegal combination (e.g. two banking choices for one buffer): not a sample
      }
      const name = `design_${ir.name}_${d.label}`;
      const df = m.designFeatures(g);
      const description = `${ir.name} on ${d.device.name}: ${Object.entries(set.layers ?? {}).map(([l, x]) => `${l}=${x.lanes}${x.unroll === 'reduction' ? 'r' : x.unroll === 'both' ? `b${x.input?.factor ?? 2}` : x.unroll === 'window' ? 'w' : ''}${x.pipeline ? '' : 'np'}${x.multiplier === 'lut' ? 'L' : ''}`).join(' ')}`;
      jobs.push({
        kind: 'design', name, top: gen.top, description, device: d.device,
        files: new Map([[RTL_FILE.replace('.v', `_${name}.v`), gen.verilog.get(RTL_FILE)!]]),
        data: new Map([...gen.hex]),
        sample: (actual) => ({ kind: 'design', name, description, features: df.features, blocks: { ebr: df.ebr, dsp: df.dsp, spram: df.spram }, actual }),
      });
    }
  }
  return jobs;
}

async function runJob(job: Job, toolchain: Toolchain, root: string, log: Logger, cachedOnly = false): Promise<SynthFigures | undefined> {
  const device = job.device ?? UP5K;
  const hash = sha256(JSON.stringify({ top: job.top, files: [...job.files], data: [...job.data].map(([n, t]) => [n, sha256(t)]), device: device.name })).slice(0, 16);
  const dir = join(root, job.name);
  const resultFile = join(dir, 'result.json');
  if (existsSync(resultFile)) {
    const r = JSON.parse(readFileSync(resultFile, 'utf8'));
    // A provisional fit (cachedOnly) also takes results of an older version of the same module.
    if (r.hash === hash || cachedOnly) return r.actual as SynthFigures;
  }
  if (cachedOnly) return undefined;
  mkdirSync(dir, { recursive: true });
  const sources: string[] = [];
  for (const [n, t] of job.files) {
    writeFileSync(join(dir, n), t);
    sources.push(join(dir, n));
  }
  const dataFiles: string[] = [];
  for (const [n, t] of job.data) {
    writeFileSync(join(dir, n), t);
    dataFiles.push(join(dir, n));
  }
  const started = Date.now();
  try {
    const r = await synthesize({ toolchain, device, dir: join(dir, 'synth'), sources, dataFiles, top: job.top });
    const actual: SynthFigures = { luts: r.resources.luts, ffs: r.resources.ffs, carry: r.resources.carry, logicCells: r.resources.logicCells, ebr: r.resources.ebr, dsp: r.resources.dsp, spram: r.resources.spram };
    writeFileSync(resultFile, JSON.stringify({ hash, actual, seconds: r.seconds }, null, 2));
    log.info(`${job.name}: ${actual.luts} LUT, ${actual.ffs} FF, ${actual.carry} carry, ${actual.ebr} EBR, ${actual.dsp} DSP (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return actual;
  } catch (e) {
    log.warn(`${job.name}: synthesis failed: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

async function pool<T>(items: T[], workers: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, workers) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export interface CalibrateOptions {
  toolchain?: ToolchainChoice;
  workDir?: string;
  out?: string;
  jobs?: number;
  /** Engine choices sampled per MAC layer of the small models. */
  perLayer?: number;
  /** Fit only the jobs already synthesized in the work folder (a quick provisional fit while a run is under way). */
  cachedOnly?: boolean;
  log?: Logger;
}

export async function calibrate(opts: CalibrateOptions = {}): Promise<Calibration> {
  const log = opts.log ?? consoleLogger('calibrate');
  const toolchain = selectToolchain(opts.toolchain ?? 'auto', ['yosys']);
  const root = resolve(opts.workDir ?? join('.deepmaker', 'calibrate'));
  const workers = opts.jobs ?? 2;
  const version = (await toolchain.versions(['yosys'])).yosys;
  log.info(`synthesizing with ${version}, ${workers} at a time, work folder ${root}`);
  const samples: CalibrationSample[] = [];
  const mem = memoryJobs();
  await pool(mem, workers, async (j) => {
    const a = await runJob(j, toolchain, root, log, opts.cachedOnly);
    if (a) samples.push(j.sample(a));
  });
  const rules = fitMemoryRules(samples);
  log.info(`memory rules: ROMs up to ${rules.romLogicMaxBits} bits and RAMs up to ${rules.ramLogicMaxBits} bits become logic`);
  const reuse = existsSync(root) ? readdirSync(root).filter((n) => n.startsWith('eng_') && existsSync(join(root, n, 'result.json'))) : [];
  const jobs = engineAndDesignJobs(rules, opts.perLayer ?? 2, reuse);
  log.info(`${jobs.length} engine and design syntheses`);
  await pool(jobs, workers, async (j) => {
    const a = await runJob(j, toolchain, root, log, opts.cachedOnly);
    if (a) samples.push(j.sample(a));
  });
  return finish(samples, rules, version, opts.out, log);
}

function finish(samples: CalibrationSample[], rules: MemoryRules, toolchain: string, out: string | undefined, log: Logger): Calibration {
  samples.sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind < b.kind ? -1 : 1));
  for (const s of samples) if (s.kind === 'memory') s.features = { ...emptyFeatures(), ...memoryFeatures(s.memory!.kind, s.memory!.width, s.memory!.depth, rules) };
  const coefficients = fitCoefficients(samples);
  const fit = fitStats(samples, coefficients);
  const cal: Calibration = { format: CALIBRATION_FORMAT, version: CALIBRATION_VERSION, family: 'ice40', toolchain, memory: rules, coefficients, fit, samples };
  const file = out ?? calibrationPath();
  writeFileSync(file, canonicalJson(cal));
  log.info(`fit on ${samples.filter((s) => s.kind === 'design').length} designs: median logic-cell error ${(fit.designs.logicCells.medianRelError * 100).toFixed(1)} %, LUTs ${(fit.designs.luts.medianRelError * 100).toFixed(1)} %; engines: ${(fit.engines.logicCells.medianRelError * 100).toFixed(1)} %`);
  const blockMiss = samples.filter((s) => s.blocks && (s.blocks.ebr !== s.actual.ebr || s.blocks.dsp !== s.actual.dsp || s.blocks.spram !== s.actual.spram));
  for (const s of blockMiss) log.warn(`${s.name}: blocks predicted ${JSON.stringify(s.blocks)}, synthesized ebr ${s.actual.ebr} dsp ${s.actual.dsp} spram ${s.actual.spram}`);
  log.info(`wrote ${file}`);
  return cal;
}

/** Refits the samples stored in a calibration file (no synthesis): after a change to the fit, not to the RTL. */
export function refit(file = calibrationPath(), log: Logger = consoleLogger('calibrate')): Calibration {
  const c = JSON.parse(readFileSync(file, 'utf8')) as Calibration;
  const rules = fitMemoryRules(c.samples);
  return finish(c.samples, { ...rules, ebrModes: ICE40_EBR_MODES }, c.toolchain, file, log);
}

/** `deepmaker calibrate [--toolchain auto|native|yowasp] [--jobs N] [--work DIR] [--out FILE] [--refit]` */
export async function calibrateCommand(args: string[]): Promise<number> {
  const flag = (n: string) => {
    const i = args.indexOf(n);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args.includes('--refit')) {
    refit(flag('--out') ?? calibrationPath());
    return 0;
  }
  await calibrate({
    toolchain: (flag('--toolchain') as ToolchainChoice | undefined) ?? 'auto',
    jobs: flag('--jobs') ? Number(flag('--jobs')) : undefined,
    workDir: flag('--work'),
    out: flag('--out'),
    cachedOnly: args.includes('--cached'),
  });
  return 0;
}
