/**
 * Engine emitter: one Verilog module per plan (src/rtl/plan.ts).
 *
 * Every engine has the same skeleton, so its timing is one formula (src/rtl/cycles.ts):
 *
 *   S0 issue     loop-nest counters and affine address registers; one iteration per cycle (`iv0`),
 *                held by the stall rules below; memory addresses leave here
 *   S1 data      buffer words and weight ROM words arrive (synchronous reads: EBR)
 *   S2 product   MAC: one (* keep *) product register per lane (SB_MAC16 or LUTs), or ternary add/sub
 *   [S2b tree]   reduction unroll: the lanes' products summed
 *   acc          accumulators (wrapping at accBits); pools and element-wise engines accumulate at S1
 *   writer W0    after a group's last iteration the accumulators are copied to shadow registers
 *                (pipeline: true) and shifted out one per cycle; bias / scale ROMs are read
 *   W1           ternary: × scale (one multiplier per layer)
 *   W2           + bias (on the way in, unless a ternary scale multiplies first), requantize
 *                (rounding, overflow), activation
 *   W3           MAC engines: the output register (its value, address and enables), then the fused
 *                pool's running maximum and the buffer write; it keeps the requantizer's carry chains
 *                out of the path into the memories (the design's critical path before)
 *
 * Stall rules: a pipelined engine may start a group only `wmax` cycles after the previous one started
 * (only emitted when the reduction is shorter than the writer); an engine with pipeline: false waits for
 * the writer after every group and then has no shadow registers.
 */
import { fracBits } from '../numerics/fixed';
import { poolAccBits, readWords, sumGroup } from './plan';
import type { Affine, EnginePlan, Level } from './plan';
import type { QMac, QPool, QElementwise } from '../qmodel/lower';
import { sameFormat, signedBitsFor } from '../qmodel/lower';
import { clog2, emitRequantize, emitRound, emitSaturate, emitTernaryCompare, hexImage, Lines, lit, sext, ulit } from './verilog';
import type { ArraySpec } from './array';
import { laneMultipliers, lutMultiply, romDepth, romModule, ROM_MAX_WIDTH, ROM_WORD_BLOCK, type RomImage } from './primitives';

export { lutMultiply, romDepth, romModule, ROM_MAX_WIDTH, ROM_WORD_BLOCK, type RomImage };
import { readsPerLane, usesTree } from './array';
import { isFused } from './fuse-pool';


export interface ReadPortInfo {
  tensor: string;
  mode: 'broadcast' | 'lanes';
  /** Element (broadcast) or bank (lanes) address bits. */
  addrBits: number;
  /** Bits of one element. */
  bits: number;
  /** Words delivered (1 or lanes). */
  words: number;
}

export interface EngineModule {
  plan: EnginePlan;
  verilog: string;
  roms: RomImage[];
  reads: ReadPortInfo[];
  writeAddrBits: number;
  writeBits: number;
  /** Multipliers by kind (for the report). */
  dspMultipliers: number;
  lutMultipliers: number;
  /** A MAC engine that drives the shared array (its lanes, accumulators and shadows are the array's). */
  onArray?: boolean;
}

export interface EngineContext {
  /** Size and bits of every tensor (for port widths). */
  tensor(name: string): { size: number; bits: number; banks: number };
  /** How many of this engine's multipliers may use DSPs (the rest are LUT multipliers). */
  dspBudget: number;
  /** The shared MAC array (architecture: array): a MAC engine drives it instead of having lanes of its own. */
  array?: ArraySpec;
}


interface AffineReg {
  name: string;
  aff: Affine;
  width: number;
}

function affineRange(aff: Affine, levels: Level[]): [number, number] {
  let lo = aff.base;
  let hi = aff.base;
  for (const l of levels) {
    const s = (aff.strides[l.name] ?? 0) * (l.count - 1);
    if (s < 0) lo += s;
    else hi += s;
  }
  return [lo, hi];
}

function affineReg(name: string, aff: Affine, levels: Level[]): AffineReg {
  const [lo, hi] = affineRange(aff, levels);
  return { name, aff, width: signedBitsFor(lo, hi) };
}

/** Counters and affine registers of the loop nest, advancing by one iteration when `adv` is high. */
function emitLoopNest(L: Lines, levels: Level[], regs: AffineReg[]): void {
  for (const l of levels) {
    const w = clog2(l.count);
    L.line(`reg [${w - 1}:0] c_${l.name};`);
    L.line(`wire z_${l.name} = (c_${l.name} == ${ulit(0, w)});`);
    L.line(`wire l_${l.name} = (c_${l.name} == ${ulit(l.count - 1, w)});`);
  }
  for (const r of regs) L.line(`reg [${r.width - 1}:0] ${r.name};`);
  // Delta of each register when level i increments and all inner levels wrap to 0.
  const delta = (r: AffineReg, i: number) => {
    let d = r.aff.strides[levels[i].name] ?? 0;
    for (let j = i + 1; j < levels.length; j++) d -= (levels[j].count - 1) * (r.aff.strides[levels[j].name] ?? 0);
    return d;
  };
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line('if (start) begin');
    L.indent(() => {
      for (const l of levels) L.line(`c_${l.name} <= 0;`);
      for (const r of regs) L.line(`${r.name} <= ${lit(r.aff.base, r.width)};`);
    });
    L.line('end else if (iv0) begin');
    L.indent(() => {
      for (let i = levels.length - 1; i >= 0; i--) {
        const cond = `!l_${levels[i].name}`;
        L.line(`${i === levels.length - 1 ? 'if' : 'end else if'} (${cond}) begin`);
        L.indent(() => {
          L.line(`c_${levels[i].name} <= c_${levels[i].name} + 1'b1;`);
          for (let j = i + 1; j < levels.length; j++) L.line(`c_${levels[j].name} <= 0;`);
          for (const r of regs) {
            const d = delta(r, i);
            if (d !== 0) L.line(`${r.name} <= ${r.name} + ${lit(d, r.width)};`);
          }
        });
      }
      if (levels.length > 0) L.line('end');
    });
    L.line('end');
  });
  L.line('end');
}

function andAll(names: string[]): string {
  return names.length === 0 ? "1'b1" : names.join(' & ');
}

/** Low `bits` of an affine register as an address (invalid, e.g. negative, addresses are masked by the pad check). */
function addrSlice(r: AffineReg, bits: number): string {
  if (r.width >= bits) return `${r.name}[${bits - 1}:0]`;
  return `{{${bits - r.width}{1'b0}}, ${r.name}}`;
}


export function emitEngine(p: EnginePlan, ctx: EngineContext): EngineModule {
  if (p.kind === 'recurrent') throw new Error(`${p.module}: a recurrent plan is emitted by src/rtl/recurrent.ts (emitPlan)`);
  const L = new Lines();
  const roms: RomImage[] = [];
  const out = ctx.tensor(p.op.output);
  const writeAddrBits = clog2(out.size);
  // A fused max pool writes the pool's tensor, in the pool's format.
  const writeBits = isFused(p.op) ? p.op.pool.format.bits : p.op.outFormat.bits;
  const reads: ReadPortInfo[] = p.reads.map((r) => {
    const t = ctx.tensor(r.tensor);
    const words = readWords(p, r);
    // unroll window: the loader's words (src/rtl/plan.ts WindowLayout), not the tensor's elements.
    const addrBits = p.window ? clog2(p.window.rows * p.window.cols) : r.mode === 'lanes' ? clog2(Math.ceil(t.size / words)) : clog2(t.size);
    return { tensor: r.tensor, mode: r.mode, addrBits, bits: t.bits, words };
  });
  let dspMultipliers = 0;
  let lutMultipliers = 0;
  const arr = p.kind === 'mac' ? ctx.array : undefined;

  // ---- ports
  L.line(`// ${p.op.layer} (${p.op.irType}): ${describe(p)}`);
  L.line(`module ${p.module} (`);
  L.indent(() => {
    L.line('input wire clk,');
    L.line('input wire rst,');
    L.line('input wire start,');
    L.line('output reg done,');
    reads.forEach((r, j) => {
      L.line(`output wire rd${j}_en,`);
      L.line(`output wire [${r.addrBits - 1}:0] rd${j}_addr,`);
      L.line(`input wire [${r.words * r.bits - 1}:0] rd${j}_q,`);
    });
    L.line('output wire wr_en,');
    L.line(`output wire [${writeAddrBits - 1}:0] wr_addr,`);
    if (arr) {
      L.line(`output wire [${writeBits - 1}:0] wr_data,`);
      L.lines(arrayPorts(arr, p).map((x, i, all) => (i + 1 < all.length ? `${x},` : x)));
    } else L.line(`output wire [${writeBits - 1}:0] wr_data`);
  });
  L.line(');');
  L.indent(() => {
    const levels = p.levels;
    const red = levels.slice(levels.length - p.nRed);
    // ---- affine registers
    const regs: AffineReg[] = [];
    const rdRegs = p.reads.map((r, j) => affineReg(`a_rd${j}`, r.addr, levels));
    regs.push(...rdRegs);
    const obReg = affineReg('a_ob', p.outAddr, levels);
    regs.push(obReg);
    const coReg = p.coIndex ? affineReg('a_co', p.coIndex, levels) : undefined;
    if (coReg) regs.push(coReg);
    // On the array the weight address is the shared ROMs' word: the layer's base is folded into the register.
    const wAff = p.weightAddr && arr ? { ...p.weightAddr, base: p.weightAddr.base + arr.bases.get(p.module)! } : p.weightAddr;
    const wReg = wAff ? affineReg('a_w', wAff, levels) : undefined;
    if (wReg) regs.push(wReg);
    const iyReg = p.pad ? affineReg('a_iy', p.pad.iy, levels) : undefined;
    const ixReg = p.pad?.ix ? affineReg('a_ix', p.pad.ix, levels) : undefined;
    if (iyReg) regs.push(iyReg);
    if (ixReg) regs.push(ixReg);

    // ---- issue control
    L.line('reg busy;');
    L.line(`wire all_last = ${andAll(levels.map((l) => `l_${l.name}`))};`);
    L.line(`wire red_first = ${andAll(red.map((l) => `z_${l.name}`))};`);
    L.line(`wire red_last = ${andAll(red.map((l) => `l_${l.name}`))};`);
    L.line('wire hold;');
    L.line('wire iv0 = busy & ~hold;');
    L.line('wire wfree;');
    emitLoopNest(L, levels, regs);
    L.line('always @(posedge clk) begin');
    L.indent(() => L.line('if (rst) busy <= 1\'b0; else if (start) busy <= 1\'b1; else if (iv0 & all_last) busy <= 1\'b0;'));
    L.line('end');
    if (!p.pipeline) {
      L.line('reg waitw;');
      L.line('always @(posedge clk) begin');
      L.indent(() => L.line("if (rst | start) waitw <= 1'b0; else if (iv0 & red_last & ~all_last) waitw <= 1'b1; else if (wfree) waitw <= 1'b0;"));
      L.line('end');
      L.line('assign hold = waitw;');
    } else if (p.K < p.wmax) {
      const gw = clog2(p.wmax + 1);
      L.line(`reg [${gw - 1}:0] gap;`);
      L.line('always @(posedge clk) begin');
      L.indent(() => L.line(`if (start) gap <= ${ulit(p.wmax, gw)}; else if (iv0 & red_first) gap <= ${ulit(1, gw)}; else if (gap < ${ulit(p.wmax, gw)}) gap <= gap + 1'b1;`));
      L.line('end');
      L.line(`assign hold = red_first & (gap < ${ulit(p.wmax, gw)});`);
    } else {
      L.line("assign hold = 1'b0;");
    }

    // ---- pad validity at S0
    if (p.pad && iyReg) {
      const c: string[] = [];
      if (p.pad.checkTop) c.push(`~${iyReg.name}[${iyReg.width - 1}]`);
      if (p.pad.checkBottom) c.push(`($signed(${iyReg.name}) < $signed(${lit(p.pad.ih, iyReg.width + 1)}))`);
      if (p.pad.checkLeft && ixReg) c.push(`~${ixReg.name}[${ixReg.width - 1}]`);
      if (p.pad.checkRight && ixReg) c.push(`($signed(${ixReg.name}) < $signed(${lit(p.pad.iw, ixReg.width + 1)}))`);
      L.line(`wire pv0 = ${andAll(c)};`);
    } else {
      L.line("wire pv0 = 1'b1;");
    }
    reads.forEach((r, j) => {
      L.line(`assign rd${j}_en = iv0;`);
      L.line(`assign rd${j}_addr = ${addrSlice(rdRegs[j], r.addrBits)};`);
    });

    // ---- S0 -> S1 flags, and the group's output address / channel carried along the pipeline
    L.line('reg v1, f1, t1, p1, e1;');
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) v1 <= 1'b0; else v1 <= iv0;");
      L.line('f1 <= red_first; t1 <= red_last; p1 <= pv0; e1 <= all_last;');
    });
    L.line('end');
    const obw = obReg.width;
    const cow = coReg?.width ?? 1;
    // Delay line of (output address, channel) to the cycle the accumulators complete.
    for (let s = 1; s <= p.D; s++) {
      L.line(`reg [${obw - 1}:0] ob${s};`);
      if (coReg) L.line(`reg [${cow - 1}:0] co${s};`);
    }
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line(`ob1 <= a_ob;${coReg ? ' co1 <= a_co;' : ''}`);
      for (let s = 2; s <= p.D; s++) L.line(`ob${s} <= ob${s - 1};${coReg ? ` co${s} <= co${s - 1};` : ''}`);
    });
    L.line('end');
    if (p.pool) {
      // Fused max pool: the group's window position (first: load the running maximum; last: write it).
      L.line(`wire pf0 = ${andAll(p.pool.levels.map((n) => `z_${n}`))};`);
      L.line(`wire pl0 = ${andAll(p.pool.levels.map((n) => `l_${n}`))};`);
      for (let s = 1; s <= p.D; s++) L.line(`reg pf${s}, pl${s};`);
      L.line('always @(posedge clk) begin');
      L.indent(() => {
        for (let s = 1; s <= p.D; s++) L.line(`pf${s} <= pf${s - 1}; pl${s} <= pl${s - 1};`);
      });
      L.line('end');
    }

    // ---- datapath to the accumulators; declares acc_k (k < accs), gdone, gfinal, accBits
    let accBits: number;
    let srcFrac: number;
    if (p.op.kind === 'mac' && arr) {
      accBits = emitArrayDriver(L, p, p.op, arr, wReg!);
      srcFrac = p.op.prodFrac;
    } else if (p.op.kind === 'mac') {
      const r = emitMacDatapath(L, p, p.op, reads[0], ctx, roms, wReg!);
      accBits = r.accBits;
      srcFrac = p.op.prodFrac;
      dspMultipliers += r.dsp;
      lutMultipliers += r.lut;
    } else if (p.op.kind === 'pool') {
      const r = emitPoolDatapath(L, p, p.op, reads[0]);
      accBits = r.accBits;
      srcFrac = r.frac;
    } else if (p.op.kind === 'recurrent') {
      throw new Error(`RTL: layer '${p.op.layer}' (${p.op.irType}) is built by emitRecurrentEngine`);
    } else {
      const r = emitStreamDatapath(L, p, p.op, reads);
      accBits = r.accBits;
      srcFrac = r.frac;
    }

    // ---- writer
    // The writer walks the group's outputs (base + lane·step): its registers must reach one step past the last.
    const wobWidth = Math.max(obReg.width, signedBitsFor(0, out.size + p.laneStep));
    const wcoWidth = Math.max(cow, signedBitsFor(0, p.coCount + p.laneStep));
    emitWriter(L, p, accBits, srcFrac, writeAddrBits, wobWidth, wcoWidth, roms, ctx, arr, (n) => {
      dspMultipliers += n.dsp;
      lutMultipliers += n.lut;
    });
  });
  L.line('endmodule');
  const romText = roms.map((r) => romModule(r.module, r.width, r.depth, r.file, r.memory === 'logic')).join('\n');
  return { plan: p, verilog: L.toString() + '\n' + romText, roms, reads, writeAddrBits, writeBits, dspMultipliers, lutMultipliers, ...(arr ? { onArray: true } : {}) };
}

function describe(p: EnginePlan): string {
  const loops = p.levels.map((l) => `${l.name}<${l.count}`).join(' ');
  return `${p.kind}, lanes=${p.lanes}, unroll=${p.directive.unroll}, pipeline=${p.pipeline}, loops [${loops}], K=${p.K}, groups=${p.NG}${p.pool ? `, max pool '${p.pool.layer}' fused` : ''}`;
}

/** Tables this small (bias, scale, thresholds per channel) go to logic: a few LUTs per bit instead of a whole EBR. */
export const LOGIC_ROM_MAX_DEPTH = 64;


/** One ROM image and its instance; words are two's-complement values of `width` bits (BigInt for packed words). */
function romInstance(L: Lines, roms: RomImage[], p: EnginePlan, role: RomImage['role'], suffix: string, words: ArrayLike<number | bigint>, width: number, addr: string, q: string, logic = false): void {
  const depth = logic ? Math.max(2, words.length) : romDepth(words.length);
  const file = `${p.module}_${suffix}.hex`;
  const module = `${p.module}_rom_${suffix}`;
  roms.push({ file, module, role, width, depth, words: words.length, contents: hexImage(words, width, depth), memory: logic ? 'logic' : 'ebr' });
  L.line(`wire [${width - 1}:0] ${q};`);
  L.line(`${module} u_${suffix} (.clk(clk), .addr(${addr}), .q(${q}));`);
}

/** A per-channel table: in logic when small, else an EBR ROM. */
function tableInstance(L: Lines, roms: RomImage[], p: EnginePlan, role: RomImage['role'], suffix: string, words: ArrayLike<number>, width: number, addr: string, q: string): void {
  romInstance(L, roms, p, role, suffix, words, width, addr, q, words.length <= LOGIC_ROM_MAX_DEPTH);
}

function emitMacDatapath(L: Lines, p: EnginePlan, op: QMac, rd: ReadPortInfo, ctx: EngineContext, roms: RomImage[], wReg: AffineReg): { accBits: number; dsp: number; lut: number } {
  const A = op.accBits;
  const XB = op.inFormat.bits;
  const ternary = !!op.ternaryScale;
  const WB = ternary ? 2 : op.weightFormat.bits;
  const PB = ternary ? XB + 1 : WB + XB;
  const lanes = p.lanes;
  const banks = p.weightBanks!;
  const waw = clog2(romDepth(banks[0].length));
  let dsp = 0;
  let lut = 0;
  L.line(`wire [${waw - 1}:0] w_addr = ${addrSlice(wReg, waw)};`);
  // All banks are read at the same address: pack as many lanes as fit in a 16-bit word into one ROM
  // (a shallow layer then takes one EBR for several lanes instead of one each).
  const perRom = Math.max(1, Math.floor(ROM_MAX_WIDTH / WB));
  const code = (v: number) => (ternary ? (v === 0 ? 0 : v === 1 ? 1 : 3) : v);
  for (let first = 0, r = 0; first < lanes; first += perRom, r++) {
    const group = Math.min(perRom, lanes - first);
    const words = Array.from({ length: banks[0].length }, (_, a) => {
      let w = 0n;
      for (let g = group - 1; g >= 0; g--) w = (w << BigInt(WB)) | BigInt.asUintN(WB, BigInt(code(banks[first + g][a])));
      return w;
    });
    romInstance(L, roms, p, 'weights', `w${r}`, words, WB * group, 'w_addr', `wrom${r}`);
    for (let g = 0; g < group; g++) L.line(`wire [${WB - 1}:0] wq${first + g} = wrom${r}[${(g + 1) * WB - 1}:${g * WB}];`);
  }
  // S1: operands (padding reads as zero).
  // Lane l reads word l mod words (unroll both: lane o·R + r takes bank r).
  for (let l = 0; l < Math.min(lanes, rd.words); l++) {
    const word = rd.words > 1 ? `rd0_q[${(l + 1) * XB - 1}:${l * XB}]` : 'rd0_q';
    L.line(`wire [${XB - 1}:0] x${l} = p1 ? ${word} : ${XB}'d0;`);
  }
  const xOf = (l: number) => `x${l % rd.words}`;
  // S2: product registers. (* keep *): Yosys -dsp otherwise merged a lane's register into a neighbour's DSP (DESIGN §6).
  L.line('reg v2, f2, t2, e2;');
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line("if (rst) v2 <= 1'b0; else v2 <= v1;");
    L.line('f2 <= f1; t2 <= t1; e2 <= e1;');
  });
  L.line('end');
  const { useDsp, lutForm } = laneMultipliers(p.directive.multiplier, ctx.dspBudget, WB, XB, PB);
  // Lanes summed per accumulator (src/rtl/plan.ts sumGroup): all (reduction), input.factor (both) or none.
  const SG = sumGroup(p);
  const treeSum = SG > 1;
  for (let l = 0; l < lanes; l++) {
    L.line(`(* keep *) reg [${PB - 1}:0] prod${l};`);
    if (ternary) {
      // Sign-magnitude code: bit0 = magnitude, bit1 = sign. +x, -x or 0: an add/sub lane, no multiplier.
      L.line(`wire [${PB - 1}:0] xe${l} = ${sext(xOf(l), XB, PB)};`);
      L.line(`always @(posedge clk) prod${l} <= wq${l}[0] ? (wq${l}[1] ? -xe${l} : xe${l}) : ${PB}'d0;`);
    } else if (!lutForm(l)) {
      if (useDsp(l) && treeSum) {
        // A product that only feeds the adder tree: Yosys's ice40_dsp takes this register into the DSP
        // (it ignores (* keep *) on a register's output, only a kept D side stops it), then the tree's
        // first adder and the tsum register too, and loses the register bits that were copies of the
        // adder's sign (synth_ice40 -dsp, Yosys 0.23 and 0.55: tsum's top bits became 'x', kept
        // prod0 undriven). A kept multiplier output leaves the DSP a plain multiplier.
        L.line(`(* keep *) wire [${PB - 1}:0] mul${l} = $signed(wq${l}) * $signed(${xOf(l)});`);
        L.line(`always @(posedge clk) prod${l} <= mul${l};`);
      } else L.line(`always @(posedge clk) prod${l} <= $signed(wq${l}) * $signed(${xOf(l)});`);
      if (useDsp(l)) dsp++;
      else lut++;
    } else {
      L.line(`always @(posedge clk) prod${l} <= ${lutMultiply(`wq${l}`, WB, xOf(l), XB, PB)};`);
      lut++;
    }
  }
  const accs = p.accs;
  for (let k = 0; k < accs; k++) L.line(`reg [${A - 1}:0] acc${k};`);
  L.line('reg gdone, gfinal;');
  let vA = 'v2';
  let fA = 'f2';
  let tA = 't2';
  let eA = 'e2';
  if (treeSum) {
    // S2b: adder trees of the lanes' products, one per accumulator over its SG lanes (wrapping at accBits, like every sum).
    for (let k = 0; k < accs; k++) L.line(`reg [${A - 1}:0] tsum${k};`);
    L.line('reg v3, f3, t3, e3;');
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      L.line("if (rst) v3 <= 1'b0; else v3 <= v2;");
      L.line('f3 <= f2; t3 <= t2; e3 <= e2;');
      for (let k = 0; k < accs; k++) L.line(`tsum${k} <= ${Array.from({ length: SG }, (_, r) => sext(`prod${k * SG + r}`, PB, A)).join(' + ')};`);
    });
    L.line('end');
    vA = 'v3';
    fA = 'f3';
    tA = 't3';
    eA = 'e3';
  }
  L.line('wire wshift;');
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line(`if (${vA}) begin`);
    L.indent(() => {
      for (let k = 0; k < accs; k++) {
        const term = treeSum ? `tsum${k}` : sext(`prod${k}`, PB, A);
        L.line(`acc${k} <= ${fA} ? ${term} : acc${k} + ${term};`);
      }
    });
    if (!p.pipeline && accs > 1) {
      // Without shadow registers the writer shifts the accumulators out itself.
      L.line('end else if (wshift) begin');
      L.indent(() => {
        for (let k = 0; k + 1 < accs; k++) L.line(`acc${k} <= acc${k + 1};`);
      });
    }
    L.line('end');
    L.line(`if (rst) gdone <= 1'b0; else gdone <= ${vA} & ${tA};`);
    L.line(`gfinal <= ${eA};`);
  });
  L.line('end');
  return { accBits: A, dsp, lut };
}

/** A writer stage's signals: the value, and the write's enable, last flag and address (with a fused pool, its flags and index). */
interface WriterStage {
  y: string;
  e: string;
  l: string;
  a: string;
  pf: string;
  pl: string;
  wi: string;
}

/** The signal names of writer stage `s` (W2: we2, wl2, wa2, pf2w, pl2w, wi2), its value `y`. */
function writerStageNames(s: string, y: string): WriterStage {
  return { y, e: `we${s}`, l: `wl${s}`, a: `wa${s}`, pf: `pf${s}w`, pl: `pl${s}w`, wi: `wi${s}` };
}

/**
 * One more register stage of the writer: `value` (`bits` wide) registered as `y`, the write's controls
 * delayed from stage `from`; with a fused pool (poolIndexBits set), its flags and index too.
 */
function emitWriterStage(L: Lines, from: WriterStage, s: string, y: string, value: string, bits: number, addrBits: number, poolIndexBits: number | undefined): WriterStage {
  const to = writerStageNames(s, y);
  const pool = poolIndexBits !== undefined;
  L.line(`reg [${bits - 1}:0] ${y};`);
  L.line(`reg [${addrBits - 1}:0] ${to.a};`);
  L.line(`reg ${to.e}, ${to.l};`);
  if (pool) {
    L.line(`reg ${to.pf}, ${to.pl};`);
    L.line(`reg [${poolIndexBits - 1}:0] ${to.wi};`);
  }
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line(`if (rst) begin ${to.e} <= 1'b0; ${to.l} <= 1'b0; end else begin ${to.e} <= ${from.e}; ${to.l} <= ${from.l}; end`);
    L.line(`${y} <= ${value}; ${to.a} <= ${from.a};${pool ? ` ${to.pf} <= ${from.pf}; ${to.pl} <= ${from.pl}; ${to.wi} <= ${from.wi};` : ''}`);
  });
  L.line('end');
  return to;
}

/** Ternary output of W2's y (TW bits) against its threshold wt2: 1 if y ≥ θ, -1 if y ≤ -θ, else 0 (codes of fixed<2,2>: 01, 11, 00). */
function ternaryCode(L: Lines, W: number, TW: number): string {
  return emitTernaryCompare(L, 'ws2', W, 'wt2', TW, { ext: 'ys', neg: 'nt', code: 'tern' });
}

/** Ports of a MAC engine on the shared array (src/rtl/array.ts). */
function arrayPorts(a: ArraySpec, p: EnginePlan): string[] {
  return [
    `output wire [${a.addrBits - 1}:0] ar_waddr`,
    readsPerLane(p) ? `output wire [${a.lanes * a.xBits - 1}:0] ar_x` : `output wire [${a.xBits - 1}:0] ar_xb`,
    'output wire ar_v',
    'output wire ar_f',
    'output wire ar_t',
    'output wire ar_e',
    'output wire ar_red',
    ...a.sums.map((r) => `output wire ar_s${r}`),
    'output wire ar_wsh',
    `input wire [${a.accBits - 1}:0] ar_sh0`,
    'input wire ar_gdone',
    'input wire ar_gfinal',
  ];
}

/**
 * A MAC engine's side of the shared array: the weight address while busy, its operands and pipeline
 * flags at S1 (all zero while idle, so the top ORs the engines), and the array's group-done while this
 * engine owns the array. Declares gdone, gfinal and wshift for the writer.
 */
function emitArrayDriver(L: Lines, p: EnginePlan, op: QMac, a: ArraySpec, wReg: AffineReg): number {
  const XB = op.inFormat.bits;
  L.line(`assign ar_waddr = busy ? ${addrSlice(wReg, a.addrBits)} : ${a.addrBits}'d0;`);
  L.line('wire xok = v1 & p1;');
  if (readsPerLane(p)) {
    // A banked read gives one operand per lane (rd.words = lanes); lanes past this layer's drive zero.
    const lanes: string[] = [];
    for (let l = a.lanes - 1; l >= 0; l--) {
      if (l >= p.lanes) {
        lanes.push(`${a.xBits}'d0`);
        continue;
      }
      // Lane l takes word l mod words (unroll both: lane o·R + r reads bank r).
      const w = l % readWords(p, p.reads[0]);
      L.line(`wire [${XB - 1}:0] xw${l} = rd0_q[${(w + 1) * XB - 1}:${w * XB}];`);
      lanes.push(`(xok ? ${sext(`xw${l}`, XB, a.xBits)} : ${a.xBits}'d0)`);
    }
    L.line(`assign ar_x = {${lanes.join(', ')}};`);
  } else {
    // One operand for all lanes: the array's broadcast port.
    L.line(`wire [${XB - 1}:0] xw0 = rd0_q;`);
    L.line(`assign ar_xb = xok ? ${sext('xw0', XB, a.xBits)} : ${a.xBits}'d0;`);
  }
  L.line('assign ar_v = v1;');
  L.line('assign ar_f = v1 & f1;');
  L.line('assign ar_t = v1 & t1;');
  L.line('assign ar_e = v1 & e1;');
  L.line(`assign ar_red = ${usesTree(p) ? 'v1' : "1'b0"};`);
  // unroll both: the array's sums over groups of this engine's input.factor lanes.
  for (const r of a.sums) L.line(`assign ar_s${r} = ${sumGroup(p) === r && !usesTree(p) ? 'v1' : "1'b0"};`);
  // The engine owns the array from start to done (the engines run one after the other).
  L.line('reg own;');
  L.line("always @(posedge clk) if (rst) own <= 1'b0; else if (start) own <= 1'b1; else if (done) own <= 1'b0;");
  L.line('wire gdone = ar_gdone & own;');
  L.line('wire gfinal = ar_gfinal;');
  L.line('wire wshift;');
  return op.accBits;
}

function emitPoolDatapath(L: Lines, p: EnginePlan, op: QPool, rd: ReadPortInfo): { accBits: number; frac: number } {
  const XB = rd.bits;
  const n = op.window[0] * op.window[1];
  const isMax = op.op === 'max';
  const A = poolAccBits(op);
  L.line(`wire [${XB - 1}:0] x0 = rd0_q;`);
  L.line(`reg [${A - 1}:0] acc0;`);
  L.line('reg gdone, gfinal;');
  const divide = p.avg?.kind === 'divide';
  if (divide) L.line(`reg [${clog2(n + 1) - 1}:0] cnt;`);
  L.line('wire wshift;');
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line('if (v1) begin');
    L.indent(() => {
      if (isMax) {
        L.line(`if (f1) acc0 <= p1 ? x0 : ${lit(-(2 ** (XB - 1)), XB)};`);
        L.line('else if (p1 && $signed(x0) > $signed(acc0)) acc0 <= x0;');
      } else {
        L.line(`acc0 <= (f1 ? ${A}'d0 : acc0) + (p1 ? ${sext('x0', XB, A)} : ${A}'d0);`);
        if (divide) L.line(`cnt <= (f1 ? ${clog2(n + 1)}'d0 : cnt) + {{${clog2(n + 1) - 1}{1'b0}}, p1};`);
      }
    });
    L.line('end');
    L.line("if (rst) gdone <= 1'b0; else gdone <= v1 & t1;");
    L.line('gfinal <= e1;');
  });
  L.line('end');
  const fx = fracBits(op.inFormat);
  if (p.avg?.kind === 'shift') return { accBits: A, frac: fx + Math.log2(n) };
  return { accBits: A, frac: fx };
}

function emitStreamDatapath(L: Lines, p: EnginePlan, op: QElementwise, reads: ReadPortInfo[]): { accBits: number; frac: number } {
  let A: number;
  let frac: number;
  let expr: string;
  if (p.kind === 'add') {
    const fs = op.inFormats.map(fracBits);
    const F = Math.max(...fs);
    A = Math.max(...op.inFormats.map((f, k) => f.bits + (F - fs[k]))) + clog2(reads.length) + 1;
    reads.forEach((r, k) => L.line(`wire [${r.bits + F - fs[k] - 1}:0] al${k} = ${F - fs[k] > 0 ? `{rd${k}_q, ${F - fs[k]}'d0}` : `rd${k}_q`};`));
    expr = reads.map((r, k) => sext(`al${k}`, r.bits + (F - fs[k]), A)).join(' + ');
    frac = F;
  } else {
    const k = p.part ?? 0;
    A = reads[0].bits;
    frac = fracBits(op.inFormats[k]);
    expr = p.kind === 'pad' ? `(p1 ? rd0_q : ${A}'d0)` : 'rd0_q';
  }
  L.line(`reg [${A - 1}:0] acc0;`);
  L.line('reg gdone, gfinal;');
  L.line('wire wshift;');
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line(`if (v1) acc0 <= ${expr};`);
    L.line("if (rst) gdone <= 1'b0; else gdone <= v1 & t1;");
    L.line('gfinal <= e1;');
  });
  L.line('end');
  return { accBits: A, frac };
}

/**
 * The writer: W0 shifts the group's outputs out one per cycle (shadow registers when pipelined) and reads
 * the bias / scale ROMs; W1 applies the ternary scale; W2 adds the bias, requantizes and writes.
 */
function emitWriter(
  L: Lines,
  p: EnginePlan,
  A: number,
  srcFrac: number,
  writeAddrBits: number,
  obw: number,
  cow: number,
  roms: RomImage[],
  ctx: EngineContext,
  arr: ArraySpec | undefined,
  count: (n: { dsp: number; lut: number }) => void,
): void {
  const op = p.op;
  const outFmt = op.outFormat;
  const accs = p.accs;
  const D = p.D;
  const mac = op.kind === 'mac' ? op : undefined;
  const step = p.laneStep;
  const lw = clog2(accs);
  L.line('// ---- writer');
  L.line('reg wact, wfin;');
  if (p.pool) L.line('reg wpf, wpl;');
  L.line(`reg [${lw - 1}:0] wl;`);
  L.line(`reg [${obw - 1}:0] wob;`);
  L.line(`reg [${cow - 1}:0] wco;`);
  // On the array the shadows are the array's (it loads them on gdone and shifts them on ar_wsh).
  const shadow = !arr && (p.pipeline || accs === 1);
  if (shadow) for (let k = 0; k < accs; k++) L.line(`reg [${A - 1}:0] sh${k};`);
  const src = (k: number) => (arr ? sext('ar_sh0', arr.accBits, A) : shadow ? `sh${k}` : `acc${k}`);
  if (arr) L.line('assign ar_wsh = wact;');
  // Another output follows in this group: more lanes and the next channel exists.
  const nextCo = `(wco + ${lit(step, cow + 1)})`;
  const more = accs > 1 ? `(wl != ${ulit(accs - 1, lw)}) && ($signed({1'b0, ${nextCo}}) < $signed(${lit(p.coCount, cow + 2)}))` : "1'b0";
  L.line(`wire wmore = ${more};`);
  L.line('assign wfree = wact & ~wmore;');
  L.line(`assign wshift = ${shadow || arr ? "1'b0" : 'wact'};`);
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line("if (rst) wact <= 1'b0;");
    L.line('else if (gdone) begin');
    L.indent(() => {
      L.line(`wact <= 1'b1; wfin <= gfinal; wl <= 0; wob <= ob${D};${p.coIndex ? ` wco <= co${D};` : ` wco <= 0;`}${p.pool ? ` wpf <= pf${D}; wpl <= pl${D};` : ''}`);
      if (shadow) for (let k = 0; k < accs; k++) L.line(`sh${k} <= acc${k};`);
    });
    L.line('end else if (wact) begin');
    L.indent(() => {
      L.line(`wact <= wmore; wl <= wl + 1'b1; wob <= wob + ${lit(step, obw)}; wco <= wco + ${lit(step, cow)};`);
      if (shadow) for (let k = 0; k + 1 < accs; k++) L.line(`sh${k} <= sh${k + 1};`);
    });
    L.line('end');
  });
  L.line('end');
  L.line(`wire [${A - 1}:0] wv0 = ${src(0)};`);
  L.line('wire we0 = wact;');
  L.line('wire wl0 = wact & ~wmore & wfin;');
  L.line(`wire [${writeAddrBits - 1}:0] wa0 = wob[${Math.min(obw, writeAddrBits) - 1}:0];`);

  // Average pool with a non-power-of-two (or padded) window: a sequential divider between W0 and W1.
  let v1Expr = 'wv0';
  let v1Bits = A;
  let e1Src = 'we0';
  let l1Src = 'wl0';
  let a1Src = 'wa0';
  let shiftFrac = srcFrac - fracBits(outFmt);
  if (p.avg?.kind === 'divide' && op.kind === 'pool') {
    const r = emitDivider(L, p, op, A, writeAddrBits);
    v1Expr = r.q;
    v1Bits = r.bits;
    e1Src = r.valid;
    l1Src = r.last;
    a1Src = r.addr;
    shiftFrac = 0;
  }
  // W1
  L.line(`reg [${v1Bits - 1}:0] wv1;`);
  if (p.pool) {
    L.line('reg pf1w, pl1w, pf2w, pl2w;');
    L.line(`reg [${lw - 1}:0] wi1, wi2;`);
  }
  L.line(`reg [${writeAddrBits - 1}:0] wa1, wa2;`);
  L.line('reg we1, wl1, we2, wl2;');
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line(`if (rst) begin we1 <= 1'b0; we2 <= 1'b0; wl1 <= 1'b0; wl2 <= 1'b0; end else begin we1 <= ${e1Src}; we2 <= we1; wl1 <= ${l1Src}; wl2 <= wl1; end`);
    L.line(`wv1 <= ${v1Expr}; wa1 <= ${a1Src}; wa2 <= wa1;`);
    if (p.pool) L.line('pf1w <= wpf; pl1w <= wpl; pf2w <= pf1w; pl2w <= pl1w; wi1 <= wl; wi2 <= wi1;');
  });
  L.line('end');
  // bias / scale / threshold ROMs indexed by output channel, read at W0 -> valid at W1.
  // Y: width of the value requantized (ternary layers: acc·α + b exactly, else the accumulator).
  const Y = mac?.ternaryScale ? mac.yBits : A;
  const W = Math.max(Y, v1Bits);
  let biasW1: string | undefined;
  let scaleW1: string | undefined;
  let thetaW1: string | undefined;
  const TW = Y + 2;
  if (mac) {
    const coBits = clog2(mac.out[2] <= LOGIC_ROM_MAX_DEPTH ? Math.max(2, mac.out[2]) : romDepth(mac.out[2]));
    L.line(`wire [${coBits - 1}:0] wco_addr = ${cow >= coBits ? `wco[${coBits - 1}:0]` : `{{${coBits - cow}{1'b0}}, wco}`};`);
    if (mac.hasBias && mac.bias.some((b) => b !== 0)) {
      tableInstance(L, roms, p, 'bias', 'bias', mac.bias, Y, 'wco_addr', 'bias_q');
      biasW1 = 'bias_q';
    }
    if (mac.ternaryScale) {
      tableInstance(L, roms, p, 'scale', 'scale', mac.ternaryScale, mac.scaleFormat!.bits, 'wco_addr', 'scale_q');
      scaleW1 = 'scale_q';
    }
    if (op.act.ternary) {
      // θ above every |y| never fires: store min(θ, 2^Y) so it fits TW bits.
      tableInstance(L, roms, p, 'threshold', 'theta', op.act.ternary.map((t) => Math.min(t, 2 ** Y)), TW, 'wco_addr', 'theta_q');
      thetaW1 = 'theta_q';
    }
  }
  // W2 registers (wide enough for the divider's quotient and the ternary y)
  // Without a ternary scale the bias is added on the way into W2, so the path out of W2 is the
  // requantizer alone; with one, W2 holds the product and the bias (the product's own path is the multiplier).
  const bias = biasW1 ? sext(biasW1, Y, W) : `${W}'d0`;
  L.line(`reg [${W - 1}:0] wm2;`);
  if (scaleW1) L.line(`reg [${W - 1}:0] wb2;`);
  if (thetaW1) L.line(`reg [${TW - 1}:0] wt2;`);
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    if (scaleW1 && mac) {
      const SB = mac.scaleFormat!.bits;
      const useDsp = p.directive.multiplier !== 'lut' && ctx.dspBudget > 0 && A <= 16 && SB <= 16;
      // Operands sign-extended to W bits: the product is exact (W ≥ A + SB).
      if (useDsp) L.line(`wm2 <= $signed(wv1) * $signed(${scaleW1});`);
      else L.line(`wm2 <= ${lutMultiply(scaleW1, SB, 'wv1', A, W)};`);
      count(useDsp ? { dsp: 1, lut: 0 } : { dsp: 0, lut: 1 });
      L.line(`wb2 <= ${bias};`);
    } else {
      L.line(`wm2 <= ${sext('wv1', v1Bits, W)}${biasW1 ? ` + ${bias}` : ''};`);
    }
    if (thetaW1) L.line(`wt2 <= ${thetaW1};`);
  });
  L.line('end');
  L.line(`wire [${W - 1}:0] ws2 = ${scaleW1 ? 'wm2 + wb2' : 'wm2'};`);
  // MAC engines split the requantizer over two registers (src/rtl/plan.ts OUTPUT_REGISTER_CYCLES,
  // counted by p.writerExtra): W2 → shift and round → W2r → saturate, activation → W3. The path out of
  // W2 was the routed designs' critical path with both in one cycle (rounding carry chain, then the
  // saturation compare and the ReLU). Other engines requantize W2 → write in one cycle.
  const B = outFmt.bits;
  // The write's controls at W2 (names of stage `s`: we<s>, wl<s>, wa<s>, pf<s>w, pl<s>w, wi<s>).
  let w: WriterStage = writerStageNames('2', '');
  if (op.kind === 'mac') {
    // W2r: the rounded value (or the ternary code); W3: the saturated, activated output.
    const r = thetaW1 ? { r: ternaryCode(L, W, TW), R: 2 } : emitRound(L, 'rq', 'ws2', W, shiftFrac, outFmt);
    w = emitWriterStage(L, w, '2r', 'wr2r', r.r, r.R, writeAddrBits, p.pool ? lw : undefined);
    w = emitWriterStage(L, w, '3', 'wy3', thetaW1 ? w.y : emitSaturate(L, 'rq', w.y, r.R, outFmt, op.act), B, writeAddrBits, p.pool ? lw : undefined);
  } else {
    w.y = thetaW1 ? ternaryCode(L, W, TW) : emitRequantize(L, 'rq', 'ws2', W, shiftFrac, outFmt, op.act);
  }
  const { y: yo, e: eo, l: lo, a: ao, pf: pfo, pl: plo, wi: wio } = w;
  if (p.pool) {
    // Fused max pool: a running maximum per output of the group (indexed by its place in the group).
    for (let k = 0; k < accs; k++) L.line(`reg [${B - 1}:0] pm${k};`);
    const sel = accs === 1 ? 'pm0' : 'pm_q';
    if (accs > 1) {
      L.line(`reg [${B - 1}:0] pm_q;`);
      L.line('always @(*) begin');
      L.indent(() => {
        L.line(`case (${wio})`);
        L.indent(() => {
          for (let k = 0; k < accs; k++) L.line(`${ulit(k, lw)}: pm_q = pm${k};`);
          L.line(`default: pm_q = ${B}'d0;`);
        });
        L.line('endcase');
      });
      L.line('end');
    }
    L.line(`wire [${B - 1}:0] pmx = (${pfo} || $signed(${yo}) > $signed(${sel})) ? ${yo} : ${sel};`);
    L.line('always @(posedge clk) begin');
    L.indent(() => {
      for (let k = 0; k < accs; k++) L.line(`if (${eo}${accs > 1 ? ` && ${wio} == ${ulit(k, lw)}` : ''}) pm${k} <= pmx;`);
    });
    L.line('end');
    // The pool's own format, when it differs: the maximum converted (monotone: src/rtl/fuse-pool.ts).
    const pf = isFused(op) ? op.pool.format : outFmt;
    const conv = sameFormat(pf, outFmt) ? 'pmx' : emitRequantize(L, 'pq', 'pmx', B, fracBits(outFmt) - fracBits(pf), pf, { relu: false });
    L.line(`assign wr_en = ${eo} & ${plo};`);
    L.line(`assign wr_addr = ${ao};`);
    L.line(`assign wr_data = ${conv};`);
  } else {
    L.line(`assign wr_en = ${eo};`);
    L.line(`assign wr_addr = ${ao};`);
    L.line(`assign wr_data = ${yo};`);
  }
  L.line('always @(posedge clk) begin');
  L.indent(() => L.line(`if (rst) done <= 1'b0; else done <= ${eo} & ${lo};`));
  L.line('end');
}

/**
 * Average-pool divider: q = round(sum · 2^ns / (n · 2^ds)) with the output rounding, by restoring division
 * of magnitudes (one quotient bit per cycle), then floor / half-even correction for the sign.
 */
function emitDivider(L: Lines, p: EnginePlan, op: QPool, A: number, writeAddrBits: number): { q: string; bits: number; valid: string; last: string; addr: string } {
  if (p.avg?.kind !== 'divide') throw new Error('not a divide');
  const { numShift, denShift, window } = p.avg;
  const QB = p.writerExtra - 2; // quotient bits (see dividerCycles)
  const NB = A + numShift; // magnitude bits of the numerator
  if (NB !== QB) throw new Error(`divider width mismatch ${NB} != ${QB}`);
  const cntBits = clog2(window + 1);
  const DB = cntBits + denShift + 1;
  const half = op.outFormat.rounding === 'half-even';
  const steps = clog2(QB + 1);
  L.line('// divider');
  L.line('reg dv_busy, dv_neg, dv_last, dv_out;');
  L.line(`reg [${steps - 1}:0] dv_i;`);
  L.line(`reg [${NB - 1}:0] dv_q;`);
  L.line(`reg [${DB - 1}:0] dv_r, dv_d;`);
  L.line(`reg [${writeAddrBits - 1}:0] dv_a;`);
  // Denominator: the valid count, captured with the shadow.
  L.line(`reg [${cntBits - 1}:0] shcnt;`);
  L.line('always @(posedge clk) if (gdone) shcnt <= cnt;');
  L.line(`wire [${A + numShift - 1}:0] dv_num = ${numShift > 0 ? `{wv0, ${numShift}'d0}` : 'wv0'};`);
  L.line(`wire [${A + numShift - 1}:0] dv_mag = dv_num[${A + numShift - 1}] ? -dv_num : dv_num;`);
  L.line(`wire [${DB}:0] dv_try = {dv_r, dv_q[${NB - 1}]} - {1'b0, dv_d};`);
  L.line('always @(posedge clk) begin');
  L.indent(() => {
    L.line("dv_out <= 1'b0;");
    L.line("if (rst) dv_busy <= 1'b0;");
    L.line('else if (we0) begin');
    L.indent(() => {
      L.line(`dv_busy <= 1'b1; dv_i <= 0; dv_neg <= dv_num[${A + numShift - 1}]; dv_last <= wl0; dv_a <= wa0;`);
      L.line(`dv_q <= dv_mag[${NB - 1}:0]; dv_r <= 0; dv_d <= ${denShift > 0 ? `{shcnt, ${denShift}'d0}` : `{{${DB - cntBits}{1'b0}}, shcnt}`};`);
    });
    L.line('end else if (dv_busy) begin');
    L.indent(() => {
      L.line(`if (dv_i == ${ulit(QB, steps)}) begin dv_busy <= 1'b0; dv_out <= 1'b1; end`);
      L.line(`else begin dv_i <= dv_i + 1'b1;`);
      L.line(`  if (!dv_try[${DB}]) begin dv_r <= dv_try[${DB - 1}:0]; dv_q <= {dv_q[${NB - 2}:0], 1'b1}; end`);
      L.line(`  else begin dv_r <= {dv_r[${DB - 2}:0], dv_q[${NB - 1}]}; dv_q <= {dv_q[${NB - 2}:0], 1'b0}; end`);
      L.line('end');
    });
    L.line('end');
  });
  L.line('end');
  // Signed result: positive: q (+1 when rounding up); negative: -(q) or -(q+1) (floor), then half-even.
  const QW = NB + 2;
  L.line(`wire dv_rz = (dv_r == 0);`);
  L.line(`wire [${DB + 1}:0] dv_r2 = {dv_r, 1'b0};`);
  if (half) {
    // Remainder of the magnitude: r. Positive: frac part r/d. Negative: floor gives q' = -(q+1), frac (d-r)/d when r != 0.
    L.line(`wire [${DB}:0] dv_rem = dv_neg & ~dv_rz ? ({1'b0, dv_d} - {1'b0, dv_r}) : {1'b0, dv_r};`);
    L.line(`wire [${QW - 1}:0] dv_fl = dv_neg ? (dv_rz ? -{2'b00, dv_q} : -{2'b00, dv_q} - 1'b1) : {2'b00, dv_q};`);
    L.line(`wire [${DB + 1}:0] dv_twice = {dv_rem, 1'b0};`);
    L.line(`wire dv_up = (dv_twice > {1'b0, dv_d}) | ((dv_twice == {1'b0, dv_d}) & dv_fl[0]);`);
    L.line(`wire [${QW - 1}:0] dv_res = dv_fl + {{${QW - 1}{1'b0}}, dv_up};`);
  } else {
    L.line(`wire [${QW - 1}:0] dv_res = dv_neg ? (dv_rz ? -{2'b00, dv_q} : -{2'b00, dv_q} - 1'b1) : {2'b00, dv_q};`);
  }
  void L;
  return { q: 'dv_res', bits: QW, valid: 'dv_out', last: 'dv_out & dv_last', addr: 'dv_a' };
}

/** Shared leaf modules: the activation RAMs (EBR and SPRAM styles). */
export function leafModules(): string {
  return `// Simple dual-port RAM (one write port, one synchronous read port): EBR.
module dm_ram #(parameter W = 8, parameter D = 256, parameter AW = 8) (
  input wire clk,
  input wire we,
  input wire [AW-1:0] waddr,
  input wire [W-1:0] wd,
  input wire [AW-1:0] raddr,
  output reg [W-1:0] rq
);
  reg [W-1:0] mem [0:D-1];
  always @(posedge clk) begin
    if (we) mem[waddr] <= wd;
    rq <= mem[raddr];
  end
endmodule

// Single-port RAM for SB_SPRAM256KA (UP5K): one address for reads and writes, never both in one cycle here.
module dm_spram #(parameter W = 16, parameter D = 16384, parameter AW = 14) (
  input wire clk,
  input wire we,
  input wire [AW-1:0] waddr,
  input wire [W-1:0] wd,
  input wire [AW-1:0] raddr,
  output reg [W-1:0] rq
);
  (* ram_style = "huge" *) reg [W-1:0] mem [0:D-1];
  wire [AW-1:0] addr = we ? waddr : raddr;
  always @(posedge clk) begin
    if (we) mem[addr] <= wd;
    else rq <= mem[addr];
  end
endmodule
`;
}
