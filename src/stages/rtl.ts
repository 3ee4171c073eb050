/**
 * The rtl stage: dist/convert (layers.json + weights, knobs.json) and a directive set -> dist/rtl:
 *   deepmaker_accel.v        the accelerator (top `deepmaker_accel`, src/rtl/interface.ts)
 *   *.hex                    ROM images ($readmemh, relative to the tool's working directory)
 *   interface.json           the stream interface for this model (wrappers and testbenches read it)
 *   directives.json          the resolved directive of every layer (what was built)
 *   tb_deepmaker_accel.v     a file-to-memory Verilog testbench (Icarus & co.)
 *   report.json              modules, parallelism, memories, predictedCycles, ...
 *
 * The directive set: the file `rtl.directives` names, else dist/dse/chosen.json (`directives`),
 * else the default from `rtl.lanes`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv from 'ajv';
import type { NumberKnobs } from '../qmodel/precision';
import { getDevice } from '../fpga/devices';
import { readModelIR } from '../ir/serialize';
import type { StageContext } from './context';
import { verilogTestbench, TESTBENCH_FILE } from '../sim/testbench';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, readJson } from '../util/fs';
import { defaultDirectives, DirectiveSet } from '../rtl/directives';
import { generateRtl, GeneratedRtl } from '../rtl/generate';

export interface RtlView {
  rtl: { lanes?: number; directives?: string };
  target: { device: string };
}

export const DIRECTIVES_SCHEMA = resolve(__dirname, '..', '..', '..', 'schemas', 'directives.schema.json');

function directivesSchemaPath(): string {
  for (const p of [DIRECTIVES_SCHEMA, resolve(__dirname, '..', '..', 'schemas', 'directives.schema.json')]) if (existsSync(p)) return p;
  return DIRECTIVES_SCHEMA;
}

/** Reads and validates a directive-set file (schemas/directives.schema.json). */
export function readDirectiveSet(file: string, pick?: (json: any) => unknown): DirectiveSet {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DeepMakerError(`not valid JSON: ${(e as Error).message}`, { file }, 'write a directive set as described by schemas/directives.schema.json');
  }
  const set = pick ? pick(json) : json;
  const ajv = new Ajv({ allErrors: true, useDefaults: false, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(directivesSchemaPath(), 'utf8')));
  if (!validate(set)) {
    const first = validate.errors![0];
    throw new DeepMakerError(`directive set ${first.instancePath || '(root)'} ${first.message}`, { file, where: first.instancePath || undefined }, 'see schemas/directives.schema.json');
  }
  return set as DirectiveSet;
}

/**
 * The directive set: a file the user names (`rtl.directives`) wins; else the dse stage's chosen point
 * (dist/dse/chosen.json, present whenever dse ran: it is an upstream stage of rtl); else `rtl.lanes`
 * on every layer (the rtl stage called on its own, without a dse run).
 */
function chooseDirectives(ctx: StageContext<RtlView>, ir: ReturnType<typeof readModelIR>): { set: DirectiveSet; source: string } {
  if (ctx.spec.rtl.directives) {
    const file = resolve(ctx.projectRoot, ctx.spec.rtl.directives);
    if (!existsSync(file)) throw new DeepMakerError(`directive file ${ctx.spec.rtl.directives} does not exist`, { where: 'rtl.directives' }, 'paths are relative to deepmaker.yaml');
    return { set: readDirectiveSet(file), source: ctx.spec.rtl.directives };
  }
  const chosen = join(ctx.inputDir('dse'), 'chosen.json');
  if (existsSync(chosen)) return { set: readDirectiveSet(chosen, (j) => j.directives), source: 'dist/dse/chosen.json' };
  return { set: defaultDirectives(ir, ctx.spec.rtl.lanes ?? 1), source: `rtl.lanes = ${ctx.spec.rtl.lanes ?? 1}` };
}

export async function runRtlStage(ctx: StageContext<RtlView>): Promise<void> {
  const convDir = ctx.inputDir('convert');
  const ir = readModelIR(convDir);
  const knobsFile = join(convDir, 'knobs.json');
  if (!existsSync(knobsFile)) throw new DeepMakerError('knobs.json is missing', { file: knobsFile }, 'rerun the convert stage');
  const knobs = readJson<NumberKnobs>(knobsFile);
  const device = getDevice(ctx.spec.target.device);
  const { set, source } = chooseDirectives(ctx, ir);
  const gen = generateRtl(ir, knobs, set, { name: device.name, dsp: device.dsp, spram: device.spram }, source);
  for (const [name, text] of gen.verilog) writeFileSync(join(ctx.outDir, name), text);
  for (const [name, text] of gen.hex) writeFileSync(join(ctx.outDir, name), text);
  writeFileSync(join(ctx.outDir, TESTBENCH_FILE), verilogTestbench(gen.interface));
  writeFileSync(join(ctx.outDir, 'interface.json'), canonicalJson(gen.interface));
  writeFileSync(join(ctx.outDir, 'directives.json'), canonicalJson(resolvedSet(gen, ir.name, device.name)));
  const report = rtlReport(gen, source, device.name);
  writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson(report));
  const p = report.parallelism;
  ctx.log.info(
    `${gen.engines.length} engines for ${ir.layers.length} layers${gen.array ? ' on one shared MAC array' : ''}; ${p.lanes} lanes (${p.dspMultipliers} DSP, ${p.lutMultipliers} LUT multipliers); ` +
      `${gen.memories.length} activation memories; predicted ${gen.cycles.cycles} cycles per inference (floor ${gen.cycles.floorCycles})`,
  );
}

function resolvedSet(gen: GeneratedRtl, model: string, device: string): DirectiveSet {
  const layers: DirectiveSet['layers'] = {};
  for (const [name, d] of gen.directives) if (gen.plans.some((p) => p.op.layer === name)) layers[name] = { ...d };
  return { version: 1, model, device, ...(gen.array ? { architecture: 'array' as const } : {}), layers };
}

export function rtlReport(gen: GeneratedRtl, directiveSource: string, device: string) {
  const modules = gen.engines.map((e) => {
    const p = e.plan;
    const cyc = gen.cycles.perEngine.find((c) => c.module === p.module)!;
    return {
      module: p.module,
      layer: p.op.layer,
      type: p.op.irType,
      kind: p.kind,
      lanes: p.lanes,
      unroll: p.directive.unroll,
      pipeline: p.pipeline,
      loops: p.levels.map((l) => ({ name: l.name, count: l.count })),
      reductionSteps: p.K,
      groups: p.NG,
      ...(p.pool ? { fusedPool: p.pool.layer } : {}),
      macs: cyc.macs,
      cycles: cyc.cycles,
      multipliers: { dsp: e.dspMultipliers, lut: e.lutMultipliers },
      roms: e.roms.map((r) => ({ file: r.file, role: r.role, memory: r.memory, width: r.width, depth: r.depth, words: r.words })),
    };
  });
  const mac = gen.plans.filter((p) => p.kind === 'mac' || p.kind === 'recurrent');
  return {
    top: gen.top,
    device,
    directives: directiveSource,
    files: [...gen.verilog.keys(), ...gen.hex.keys(), TESTBENCH_FILE, 'interface.json', 'directives.json', 'report.json'].sort(),
    modules,
    architecture: gen.array ? 'array' : 'engines',
    ...(gen.array
      ? { array: { lanes: gen.array.lanes, dspLanes: gen.array.dspLanes, dspBlocks: gen.array.dspBlocks, dualLanesPerDsp: gen.array.dual, laneKind: gen.array.ternary ? 'ternary add/sub' : `${gen.array.wBits}x${gen.array.xBits}-bit multiply`, accumulators: gen.array.accs, accBits: gen.array.accBits, weightWords: gen.array.words, tree: gen.array.tree } }
      : {}),
    parallelism: {
      // Multiplier lanes in the hardware: the array's (shared by every layer), or the sum over the layers' engines.
      lanes: gen.array ? gen.array.lanes : mac.reduce((s, p) => s + p.lanes, 0),
      perLayer: Object.fromEntries(mac.map((p) => [p.op.layer, { lanes: p.lanes, unroll: p.directive.unroll, pipeline: p.pipeline, partition: p.directive.weights.partition }])),
      dspMultipliers: gen.engines.reduce((s, e) => s + e.dspMultipliers, 0) + (gen.array?.dspLanes ?? 0),
      lutMultipliers: gen.engines.reduce((s, e) => s + e.lutMultipliers, 0) + (gen.array && !gen.array.ternary ? gen.array.lanes - gen.array.dspLanes : 0),
    },
    memories: {
      activations: gen.memories.map((m) => ({ name: m.name, kind: m.kind, banks: m.banks, depth: m.depth, width: m.width, bits: m.banks * m.depth * m.width, tensors: m.tensors })),
      romBits: gen.roms.reduce((s, r) => s + r.depth * r.width, 0),
      weightBits: gen.roms.filter((r) => r.role === 'weights').reduce((s, r) => s + r.words * r.width, 0),
    },
    macs: gen.cycles.macs,
    predictedCycles: gen.cycles.cycles,
    floorCycles: gen.cycles.floorCycles,
    interface: gen.interface,
  };
}
