/**
 * The RTL back end: ModelIR + number knobs + directive set -> Verilog-2005 files and ROM images.
 *
 *   lowerModelForRtl (lower.ts)   IR -> integer ops with the C model's formats (src/qmodel/lower.ts),
 *                                 after refusing what the RTL does not compute
 *   resolveDirectives             directive set -> one checked directive per layer
 *   placeConcatenations           concatenations -> views of one buffer (concat.ts, zero-copy)
 *   fusePools                     max pools -> the writer of the MAC engine before them (fuse-pool.ts)
 *   buildPlans (plan.ts)          ops + directives -> engine plans (loop nests, lanes, banks)
 *   allocateBuffers (buffers.ts)  tensors -> shared, banked activation memories (EBR / SPRAM)
 *   emitPlan / emitTop            plans -> Verilog modules (emit.ts: engines.ts, recurrent.ts); ROM images -> .hex
 *
 * Design: one engine per layer (a module with its own loop nest, MAC lanes and weight ROMs), run one
 * after the other by the top; activations stay on chip. Per-layer engines let every layer have its
 * own lanes, unroll and banking (the DSE's directives) and its own exact cycle formula.
 */
import type { NumberKnobs } from '../qmodel/precision';
import type { ModelIR } from '../ir/types';
import { DeepMakerError } from '../util/errors';
import { allocateBuffers, PhysicalMemory, TensorBuffer } from './buffers';
import { CycleReport, predictFromPlans } from './cycles';
import { DirectiveSet, ResolvedDirective, resolveDirectives } from './directives';
import { EngineModule, leafModules, RomImage } from './engines';
import { emitPlan } from './emit';
import { ArraySpec, emitArray, planArray } from './array';
import { StreamInterface, streamInterface } from './interface';
import { placeConcatenations } from './concat';
import { fusePools } from './fuse-pool';
import { buildPlans, dspWanted, EnginePlan } from './plan';
import type { QModel } from '../qmodel/lower';
import { lowerModelForRtl } from './lower';
import { emitTop } from './top';

export interface RtlDevice {
  name: string;
  /** SB_MAC16 blocks the multipliers may use (0: LUT multipliers only). */
  dsp: number;
  /** SPRAM blocks for activation memories. */
  spram: number;
}

export interface GeneratedRtl {
  top: string;
  /** Verilog files in compile order (name -> text). */
  verilog: Map<string, string>;
  /** ROM images for $readmemh (name -> text). */
  hex: Map<string, string>;
  interface: StreamInterface;
  q: QModel;
  plans: EnginePlan[];
  engines: EngineModule[];
  directives: Map<string, ResolvedDirective>;
  buffers: Map<string, TensorBuffer>;
  memories: PhysicalMemory[];
  roms: RomImage[];
  cycles: CycleReport;
  dspUsed: number;
  /** The shared MAC array (architecture: array), else undefined. */
  array?: ArraySpec;
}

export const RTL_FILE = 'deepmaker_accel.v';

export function generateRtl(ir: ModelIR, knobs: NumberKnobs, set: DirectiveSet, device: RtlDevice, directiveSource = 'directives'): GeneratedRtl {
  const q = lowerModelForRtl(ir, knobs);
  const directives = resolveDirectives(ir, set, directiveSource);
  const placement = fusePools(q, placeConcatenations(q));
  const plans = buildPlans(q, directives, placement.layouts, placement.ops);
  const { buffers, memories } = allocateBuffers(q, plans, { spram: device.spram }, placement.layouts);
  // Address widths cover the whole buffer a tensor lives in (a concatenation view addresses its storage).
  const tensor = (name: string) => {
    const b = buffers.get(q.alias.get(name) ?? name)!;
    return { size: b.size, bits: q.tensors.get(name)!.format.bits, banks: b.banks };
  };
  // DSPs go to the lanes in layer order; a layer forced to `dsp` must get all it needs.
  // On the shared array they go to the array's lanes first, then to the ternary layers' scale multipliers.
  let dspLeft = device.dsp;
  const array = set.architecture === 'array' ? planArray(plans, device.dsp) : undefined;
  const arrayModule = array ? emitArray(array, plans) : undefined;
  if (array) dspLeft -= array.dspBlocks;
  const engines = plans.map((p) => {
    const d = p.directive;
    let budget = 0;
    if ((p.kind === 'mac' || p.kind === 'recurrent') && d.multiplier !== 'lut') {
      // A recurrent engine keeps its own lanes beside the shared array.
      const need = dspWanted(p.op, p.lanes, !!array);
      if (d.multiplier === 'dsp' && need > dspLeft) {
        throw new DeepMakerError(
          `needs ${need} DSP multipliers, ${dspLeft} of the ${device.dsp} on ${device.name} are left`,
          { file: directiveSource, where: `layer '${p.op.layer}'` },
          'use multiplier: auto (LUT multipliers for the rest) or fewer lanes',
        );
      }
      budget = Math.min(need, dspLeft);
    }
    const e = emitPlan(p, { tensor, dspBudget: budget, array });
    dspLeft -= e.dspMultipliers;
    return e;
  });
  const topText = emitTop(q, engines, buffers, memories, array);
  const verilog = new Map<string, string>();
  verilog.set(
    RTL_FILE,
    [
      `// deepmaker_accel: generated by DeepMaker (src/rtl) from model '${ir.name}'. Verilog-2005.`,
      `// ROM images (*.hex) are read by $readmemh relative to the working directory of the tool.`,
      '',
      leafModules(),
      ...engines.map((e) => e.verilog),
      ...(arrayModule ? [arrayModule.verilog] : []),
      topText,
    ].join('\n'),
  );
  const hex = new Map<string, string>();
  const roms = [...engines.flatMap((e) => e.roms), ...(arrayModule?.roms ?? [])];
  for (const r of roms) hex.set(r.file, r.contents);
  const outT = q.tensors.get(q.outputs[0])!;
  const inputShape = ir.layers.find((l) => l.name === q.inputs[0].name)!.outputShape;
  const iface = streamInterface(inputShape, q.inputs[0].format, outT.size, outT.format);
  return {
    top: iface.top,
    verilog,
    hex,
    interface: iface,
    q,
    plans,
    engines,
    directives,
    buffers,
    memories,
    roms,
    cycles: predictFromPlans(plans),
    dspUsed: device.dsp - dspLeft,
    array,
  };
}
