/**
 * What the resource predictor regresses on: a few counts read off the generated hardware (the
 * engine plans, the emitted Verilog and the memory allocation), each proportional to some part of
 * the logic Yosys builds. The calibration (src/dse/calibration.ts) fits one non-negative
 * coefficient per feature and resource (LUTs, flip-flops, carry cells) on real syntheses; EBR,
 * SPRAM and DSP blocks are counted directly with the mapping rules measured by the same
 * calibration (`MemoryRules`).
 *
 * Features are computed from the same objects the RTL emitter uses (src/rtl), so a change in the
 * RTL changes the features too; `npm run calibrate` then refits the coefficients.
 */
import type { PhysicalMemory, TensorBuffer } from '../rtl/buffers';
import { SPRAM_WIDTH, SPRAM_WORDS } from '../rtl/buffers';
import type { EngineModule } from '../rtl/engines';
import type { Affine, EnginePlan, Level } from '../rtl/plan';
import { poolAccBits, sumGroup } from '../rtl/plan';
import type { QModel } from '../qmodel/lower';
import { signedBitsFor } from '../qmodel/lower';
import { clog2 } from '../rtl/verilog';
import { bytesPerElement } from '../rtl/interface';
import type { ArraySpec } from '../rtl/array';
import { arrayRomGeometry, productBits, readsPerLane } from '../rtl/array';
import { recurrentTernaryWidths } from '../rtl/recurrent-plan';

export type Features = Record<string, number>;

/** How Yosys maps a memory of `width` x `depth` on iCE40, as measured by the calibration. */
export interface MemoryRules {
  /** A ROM (initialised, read-only) of at most this many bits becomes logic instead of EBR. */
  romLogicMaxBits: number;
  /** A RAM of at most this many bits becomes flip-flops and logic instead of EBR. */
  ramLogicMaxBits: number;
  /** EBR geometries (depth x width) a SB_RAM40_4K can take. */
  ebrModes: { depth: number; width: number }[];
}

export const ICE40_EBR_MODES = [
  { depth: 256, width: 16 },
  { depth: 512, width: 8 },
  { depth: 1024, width: 4 },
  { depth: 2048, width: 2 },
];

export interface MemoryMapping {
  ebr: number;
  /** Bits that went to logic (LUTs / flip-flops) instead. */
  logicBits: number;
}

/** EBR blocks (or logic bits) for one memory: the cheapest mode that tiles width x depth. */
export function mapMemory(width: number, depth: number, kind: 'rom' | 'ram', rules: MemoryRules): MemoryMapping {
  const bits = width * depth;
  if (bits <= (kind === 'rom' ? rules.romLogicMaxBits : rules.ramLogicMaxBits)) return { ebr: 0, logicBits: bits };
  let best = Infinity;
  for (const m of rules.ebrModes) best = Math.min(best, Math.ceil(width / m.width) * Math.ceil(depth / m.depth));
  return { ebr: best, logicBits: 0 };
}

export function spramBlocks(m: Pick<PhysicalMemory, 'banks' | 'depth' | 'width'>): number {
  return m.banks * Math.ceil(m.depth / SPRAM_WORDS) * Math.ceil(m.width / SPRAM_WIDTH);
}

/**
 * Register bits declared in a Verilog text (`reg [7:0] a, b;`, `reg x;`, `(* keep *) reg [3:0] p;`),
 * memories (`reg [..] mem [0:N]`) excluded. Flip-flops are these bits minus what Yosys proves
 * constant or merges, so the sum is the first feature of the flip-flop count.
 */
export function regBits(verilog: string): number {
  let bits = 0;
  const re = /\breg\s+(?:signed\s+)?(?:\[\s*(\d+)\s*:\s*(\d+)\s*\]\s*)?([^;]+);/g;
  for (let m = re.exec(verilog); m; m = re.exec(verilog)) {
    const w = m[1] !== undefined ? Math.abs(Number(m[1]) - Number(m[2])) + 1 : 1;
    for (const decl of m[3].split(',')) {
      if (/\[/.test(decl)) continue; // a memory array
      if (decl.trim()) bits += w;
    }
  }
  return bits;
}

function affineWidth(aff: Affine, levels: Level[]): number {
  let lo = aff.base;
  let hi = aff.base;
  for (const l of levels) {
    const s = (aff.strides[l.name] ?? 0) * (l.count - 1);
    if (s < 0) lo += s;
    else hi += s;
  }
  return signedBitsFor(lo, hi);
}

/** Widths of the datapath, as the emitter derives them. */
function macWidths(p: EnginePlan): { A: number; XB: number; WB: number; PB: number; ternary: boolean } | undefined {
  if (p.op.kind !== 'mac') return undefined;
  const ternary = !!p.op.ternaryScale;
  const XB = p.op.inFormat.bits;
  const WB = ternary ? 2 : p.op.weightFormat.bits;
  const PB = ternary ? XB + 1 : WB + XB;
  return { A: p.op.accBits, XB, WB, PB, ternary };
}

export const ENGINE_FEATURES = [
  'engine',
  'regBits',
  'counterBits',
  'affineBits',
  'accBits',
  'shadowBits',
  'lutMulBits',
  'ternaryBits',
  'treeBits',
  'writerBits',
  'romLogicBits',
  'dividerBits',
  'compareBits',
  'romPorts',
] as const;

export const TOP_FEATURES = ['design', 'topRegBits', 'memPortBits', 'bankSelectBits', 'ramLogicBits', 'ramBanks', 'ramBankBits', 'argmaxBits'] as const;

export const ALL_FEATURES: readonly string[] = [...ENGINE_FEATURES, ...TOP_FEATURES];

/**
 * The adder bits of a sum of `n` products of `pb` bits into an `acc`-bit accumulator: the RTL writes the sum
 * sign-extended to `acc` bits, and Yosys keeps only the bits a balanced tree needs, one more a level (a sum
 * of 2^l products needs pb + l), never more than `acc`. (Counting every adder at `acc` bits over-predicted the
 * trees of ternary activations, 3-bit products into 13-bit sums, by half: session 14.)
 */
export function adderTreeBits(n: number, pb: number, acc: number): number {
  let bits = 0;
  let width = pb;
  for (let m = n; m > 1; m = Math.ceil(m / 2)) {
    width = Math.min(acc, width + 1);
    bits += Math.floor(m / 2) * width;
  }
  return bits;
}

export function emptyFeatures(): Features {
  const f: Features = {};
  for (const k of ALL_FEATURES) f[k] = 0;
  return f;
}

export function addFeatures(into: Features, f: Features): Features {
  for (const [k, v] of Object.entries(f)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** Features and block counts of one engine module as emitted. */
export function engineFeatures(e: EngineModule, rules: MemoryRules): { features: Features; ebr: number; dsp: number } {
  const p = e.plan;
  const f = emptyFeatures();
  f.engine = 1;
  // The engine module only: the ROM modules after it hold their output register in the EBR.
  const end = e.verilog.indexOf('endmodule');
  f.regBits = regBits(end >= 0 ? e.verilog.slice(0, end) : e.verilog);
  f.counterBits = p.levels.reduce((s, l) => s + clog2(l.count), 0);
  let aff = p.reads.reduce((s, r) => s + affineWidth(r.addr, p.levels), 0) + affineWidth(p.outAddr, p.levels);
  if (p.coIndex) aff += affineWidth(p.coIndex, p.levels);
  if (p.weightAddr) aff += affineWidth(p.weightAddr, p.levels);
  if (p.pad) aff += affineWidth(p.pad.iy, p.levels) + (p.pad.ix ? affineWidth(p.pad.ix, p.levels) : 0);
  f.affineBits = aff;
  const w = macWidths(p);
  let A: number;
  let stateEbr = 0;
  if (w && e.onArray) {
    // Lanes, tree, accumulators and shadows are the array's (arrayFeatures); the writer reads the array's shadow.
    A = w.A;
    if (p.op.kind === 'mac') f.lutMulBits = w.ternary ? e.lutMultipliers * p.op.weightFormat.bits * A : 0;
  } else if (w) {
    A = w.A;
    // A LUT multiplier is a sum of WB partial products of XB bits; a ternary layer's only multiplier
    // is the per-channel scale in its writer (scale bits x accumulator bits).
    if (p.op.kind === 'mac') f.lutMulBits = w.ternary ? e.lutMultipliers * p.op.weightFormat.bits * A : e.lutMultipliers * w.WB * w.XB;
    f.ternaryBits = w.ternary ? p.lanes * w.PB : 0;
    // Adder trees: accs trees of sumGroup lanes each (reduction: one over all lanes).
    f.treeBits = sumGroup(p) > 1 ? p.accs * adderTreeBits(sumGroup(p), w.PB, A) : 0;
  } else if (p.op.kind === 'recurrent' && p.recurrent) {
    // The recurrent engine (src/rtl/recurrent.ts), with the features of the MAC engines where they
    // carry over (lanes' LUT multipliers, accumulators, shadows, writer, ROMs) and its state memory
    // as an activation RAM. Its step control and the unit micro-program count as register bits
    // only: the calibration has not seen a recurrent engine (an approximation, see the README).
    // A ternary engine's lanes are the ternary CNN lanes' add/subtract (ternaryBits: the 2-bit code
    // product per lane), its accumulators the {ah, ax} code sums, its LUT multipliers the writer's
    // scale multipliers (code sum x scale bits), and it compares each operand with its threshold.
    const op = p.op;
    const tern = recurrentTernaryWidths(op);
    A = tern ? tern.axBits + tern.ahBits : op.accBits;
    const B = op.outFormat.bits;
    const XB = Math.max(op.inFormat.bits, B);
    const laneLut = e.lutMultipliers - 1; // the cell update's one (B+1)x(B+1) LUT multiplier
    f.lutMulBits = laneLut * (tern ? Math.max(tern.axBits, tern.ahBits) * tern.scaleBits : op.weightFormat.bits * XB) + (B + 1) * (B + 1);
    if (tern) {
      f.ternaryBits = p.lanes * 2;
      f.compareBits = 2 * (XB + 1);
    }
    const ram = mapMemory(B, p.recurrent.depth, 'ram', rules);
    stateEbr = ram.ebr;
    addFeatures(f, memoryFeatures('ram', B, p.recurrent.depth, rules));
  } else if (p.op.kind === 'pool') {
    A = poolAccBits(p.op);
    f.compareBits = p.op.op === 'max' ? A : 0;
  } else {
    A = e.reads.reduce((m, r) => Math.max(m, r.bits), 0) + (p.kind === 'add' ? clog2(e.reads.length) + 1 : 0);
  }
  f.accBits = e.onArray ? 0 : p.accs * A;
  f.shadowBits = e.onArray ? 0 : p.pipeline || p.accs === 1 ? p.accs * A : 0;
  // A fused max pool adds a running maximum per output of a group and a comparator to the writer.
  f.writerBits = A + e.writeBits + (p.pool ? (p.accs + 1) * e.writeBits : 0);
  if (p.avg?.kind === 'divide') f.dividerBits = 2 * (p.writerExtra - 2);
  let ebr = stateEbr;
  for (const r of e.roms) {
    // A ROM the emitter marks (* rom_style = "logic" *) never takes an EBR, whatever its size.
    const forced = (r as { memory?: string }).memory === 'logic';
    if (!forced) ebr += mapMemory(r.width, r.depth, 'rom', rules).ebr;
    addFeatures(f, forced ? { romLogicBits: r.width * r.depth, romPorts: 1 } : memoryFeatures('rom', r.width, r.depth, rules));
  }
  return { features: f, ebr, dsp: e.dspMultipliers };
}

/**
 * Features and block counts of the shared MAC array (src/rtl/array.ts) with `drivers` MAC engines:
 * its lanes, tree, accumulators, shadows and weight ROMs, and the OR of the engines' ports into it
 * (counted like the activation memories' port multiplexing).
 */
export function arrayFeatures(s: ArraySpec, drivers: EnginePlan[], rules: MemoryRules): { features: Features; ebr: number; dsp: number } {
  const f = emptyFeatures();
  const PB = productBits(s);
  f.engine = 1;
  // Dual lanes keep their product register in the SB_MAC16.
  // Group sums (unroll both): floor(lanes / R) sums of R lanes for each R, their registers and a mux input per accumulator.
  const groupSums = s.sums.map((r) => Math.min(Math.floor(s.lanes / r), s.accs));
  const sumRegs = groupSums.reduce((n, g) => n + g, 0);
  f.regBits = (s.lanes - (s.dual ? s.dspLanes : 0)) * PB + 2 * s.accs * s.accBits + (s.tree ? s.accBits + 4 : 0) + sumRegs * s.accBits + 5;
  f.lutMulBits = s.ternary ? 0 : (s.lanes - s.dspLanes) * s.wBits * s.xBits;
  f.ternaryBits = s.ternary ? s.lanes * PB : 0;
  f.treeBits = (s.tree ? adderTreeBits(s.lanes, PB, s.accBits) : 0) + s.sums.reduce((n, r, i) => n + groupSums[i] * adderTreeBits(r, PB, s.accBits), 0);
  f.accBits = s.accs * s.accBits;
  f.shadowBits = s.accs * s.accBits;
  // The OR of the engines' ports into the array: a broadcast operand is XB bits, a per-lane one lanes x XB.
  f.memPortBits = drivers.reduce((n, p) => n + s.addrBits + 6 + (readsPerLane(p) ? s.lanes * s.xBits : s.xBits), 0) + (s.perLane && s.broadcast ? s.lanes * s.xBits : 0);
  let ebr = 0;
  for (const r of arrayRomGeometry(s)) {
    ebr += mapMemory(r.width, r.depth, 'rom', rules).ebr;
    addFeatures(f, memoryFeatures('rom', r.width, r.depth, rules));
  }
  return { features: f, ebr, dsp: s.dspBlocks };
}

export interface TopInput {
  q: QModel;
  engines: EngineModule[];
  buffers: Map<string, TensorBuffer>;
  memories: PhysicalMemory[];
}

/**
 * Features of the top (src/rtl/top.ts): the input loader, the port multiplexing of the activation
 * memories (every engine's read and write ports are OR-ed onto the memory it uses), the bank
 * selection of broadcast reads from banked memories, the argmax, the output stream; plus the
 * activation memories themselves (EBR / SPRAM blocks, or logic when tiny).
 */
export function topFeatures(t: TopInput, rules: MemoryRules): { features: Features; ebr: number; spram: number } {
  const f = emptyFeatures();
  f.design = 1;
  const out = t.q.tensors.get(t.q.outputs[0])!;
  const bufOf = (name: string) => t.buffers.get(t.q.alias.get(name) ?? name)!;
  const memById = new Map(t.memories.map((m) => [m.id, m]));
  // Loader and output stream registers.
  const ew = clog2(t.q.inputs[0].size);
  const bpe = bytesPerElement(t.q.inputs[0].format);
  f.topRegBits = ew + clog2(Math.max(2, bpe)) + 8 * (bpe - 1) + 2 + 2 * clog2(out.size) + out.format.bits + 2;
  let port = 0;
  let bankSel = 0;
  // The loader writes the input memory.
  const inMem = memById.get(bufOf(t.q.inputs[0].name).mem)!;
  port += clog2(inMem.depth) + inMem.width;
  const win = inMem.window;
  if (win) {
    // The window loader (src/rtl/top.ts): a kw·C-tap shift register and row / column / channel / word
    // counters instead of the element counter, and a word of its own per bank.
    f.topRegBits += win.kw * win.channels * inMem.width + clog2(win.channels) + clog2(win.width + win.flush) + clog2(win.rows) + 1 - ew;
    port += (inMem.banks - 1) * inMem.width;
  }
  for (const e of t.engines) {
    const wm = memById.get(bufOf(e.plan.op.output).mem)!;
    port += clog2(wm.depth) + wm.width + wm.banks;
    e.reads.forEach((r) => {
      const m = memById.get(bufOf(r.tensor).mem)!;
      port += clog2(m.depth);
      if (r.mode === 'broadcast' && m.banks > 1) {
        bankSel += m.banks * r.bits;
        f.topRegBits += Math.log2(m.banks);
      }
    });
  }
  const outMem = memById.get(bufOf(t.q.outputs[0]).mem)!;
  port += clog2(outMem.depth);
  f.memPortBits = port;
  f.bankSelectBits = bankSel;
  f.argmaxBits = out.format.bits + clog2(out.size);
  let ebr = 0;
  let spram = 0;
  for (const m of t.memories) {
    if (m.kind === 'spram') {
      spram += spramBlocks(m);
      continue;
    }
    const one = mapMemory(m.width, m.depth, 'ram', rules);
    ebr += one.ebr * m.banks;
    addFeatures(f, scale(memoryFeatures('ram', m.width, m.depth, rules), m.banks));
  }
  return { features: f, ebr, spram };
}

function scale(f: Features, k: number): Features {
  const out: Features = {};
  for (const [n, v] of Object.entries(f)) out[n] = v * k;
  return out;
}

/**
 * Features of one memory: a ROM or RAM small enough for logic counts its bits; a RAM in EBR still
 * costs a little logic at its ports (the calibration measured it), counted by banks and port bits.
 */
export function memoryFeatures(kind: 'rom' | 'ram', width: number, depth: number, rules: MemoryRules): Features {
  const m = mapMemory(width, depth, kind, rules);
  if (kind === 'rom') return { romLogicBits: m.logicBits, romPorts: 1 };
  if (m.ebr === 0) return { ramLogicBits: m.logicBits };
  return { ramBanks: 1, ramBankBits: width + clog2(depth) };
}
