/**
 * Activation buffers: every computed tensor lives in an on-chip memory between the engine that writes it
 * and the last engine that reads it. Engines run one after the other, so tensors whose lifetimes do not
 * overlap share one physical memory (a chain of layers needs two, ping-pong). A tensor read by lane-
 * parallel engines is banked (cyclic over its flat index, a power of two banks). On devices with SPRAM
 * (UP5K), the largest memories (from one EBR's worth up) go to SB_SPRAM256KA (activations need no initial contents, which SPRAM
 * cannot have); the rest is EBR (or LUT RAM when Yosys finds that cheaper).
 */
import { DeepMakerError } from '../util/errors';
import type { TensorLayout } from './concat';
import { readWords, type EnginePlan, type WindowLayout } from './plan';
import type { QModel } from '../qmodel/lower';
import { clog2 } from './verilog';

export interface TensorBuffer {
  tensor: string;
  size: number;
  bits: number;
  banks: number;
  /** Engine index that first writes it (-1: the input loader). */
  start: number;
  /** Last engine index that reads it (Infinity: the output, read by the output stream). */
  end: number;
  mem: number;
  /** Some engine reads and writes it in the same cycles (it holds a concatenation): not single-port SPRAM. */
  dualPort: boolean;
  /** The model input laid out for an unroll-window engine (src/rtl/plan.ts): the loader writes whole words. */
  window?: WindowLayout;
}

export interface PhysicalMemory {
  id: number;
  name: string;
  banks: number;
  /** Words per bank. */
  depth: number;
  width: number;
  kind: 'ebr' | 'spram';
  tensors: string[];
  dualPort: boolean;
  /** Holds a window-layout input (banks written together, one word of kw·C taps; never shared). */
  window?: WindowLayout;
}

export interface DeviceMemories {
  /** SPRAM blocks available for activations (0 when the device has none). */
  spram: number;
}

/** SPRAM geometry (iCE40 UP5K SB_SPRAM256KA): 16K words of 16 bits. */
export const SPRAM_WORDS = 16384;
export const SPRAM_WIDTH = 16;
/**
 * A memory this large (bits) goes to an SPRAM while blocks are left: one EBR's worth. The weights live
 * in EBR (SPRAM cannot be initialised by the bitstream), so an activation buffer moved to an otherwise
 * idle SPRAM frees EBR for weight ROMs, the resource wide MAC arrays run out of first. (It was 16 Kbit:
 * a 9.4 Kbit buffer then took 3 EBR beside 3 unused SPRAMs in the default design.)
 */
export const SPRAM_MIN_BITS = 4096;

export function allocateBuffers(q: QModel, plans: EnginePlan[], dev: DeviceMemories, layouts: Map<string, TensorLayout> = new Map()): { buffers: Map<string, TensorBuffer>; memories: PhysicalMemory[] } {
  // One buffer per storage: a tensor placed in another's buffer (a concatenation view) shares it.
  const storageOf = (t: string) => layouts.get(t)?.storage ?? t;
  const buffers = new Map<string, TensorBuffer>();
  const get = (tensor: string, at: number) => {
    const s = storageOf(tensor);
    let b = buffers.get(s);
    if (!b) {
      const t = q.tensors.get(s)!;
      b = { tensor: s, size: t.size, bits: t.format.bits, banks: 1, start: at, end: at, mem: -1, dualPort: false };
      buffers.set(s, b);
    }
    if (tensor !== s) buffers.set(tensor, b);
    return b;
  };
  get(q.inputs[0].name, -1);
  const bankers = new Map<string, string>();
  plans.forEach((p, i) => {
    const w = get(p.op.output, i);
    w.start = Math.min(w.start, i);
    w.end = Math.max(w.end, i);
    for (const r of p.reads) {
      const b = buffers.get(r.tensor) ?? buffers.get(storageOf(r.tensor));
      if (!b) throw new Error(`buffer for '${r.tensor}' read before written`);
      buffers.set(r.tensor, b);
      b.end = Math.max(b.end, i);
      // An engine reading and writing one buffer (regions of a concatenation) needs separate read and write ports.
      if (b === w) b.dualPort = true;
      if (r.mode === 'lanes') {
        const banks = readWords(p, r);
        if (b.banks > 1 && b.banks !== banks) {
          throw new DeepMakerError(
            `reads '${r.tensor}' from ${banks} banks, but layer '${bankers.get(b.tensor)}' reads it from ${b.banks}: one buffer has one banking`,
            { where: `layer '${p.op.layer}'` },
            'give both layers the same banking (lanes, or input.factor with unroll both), or unroll outputs in one of them',
          );
        }
        b.banks = banks;
        bankers.set(b.tensor, p.op.layer);
      }
      if (p.window) {
        // The loader writes the model input as kernel-row words (plan.ts WindowLayout): rows × cols words of kw·C taps.
        if (b.tensor !== q.inputs[0].name) throw new Error(`${p.module}: unroll window reads '${r.tensor}', not the model input`);
        b.window = p.window;
        b.size = p.window.rows * p.window.cols * readWords(p, r);
      }
    }
  });
  get(q.outputs[0], plans.length).end = Infinity;
  const unique = [...new Set(buffers.values())];

  const memories: PhysicalMemory[] = [];
  const lastEnd: number[] = [];
  const sorted = unique.sort((a, b) => a.start - b.start || b.size - a.size);
  for (const b of sorted) {
    // Reuse a memory whose tensors are all dead before b is first written (strictly: an engine never
    // reads and writes the same memory). Prefer the best size fit.
    let best = -1;
    let bestWaste = Infinity;
    memories.forEach((m, i) => {
      // A window-layout memory is written word-wise by the loader (all banks at once): not shared.
      if (m.banks !== b.banks || lastEnd[i] >= b.start || m.window || b.window) return;
      const need = Math.ceil(b.size / b.banks);
      const waste = Math.abs(m.depth - need);
      if (waste < bestWaste) {
        best = i;
        bestWaste = waste;
      }
    });
    const depth = Math.ceil(b.size / b.banks);
    if (best < 0) {
      best = memories.length;
      memories.push({ id: best, name: `mem${best}`, banks: b.banks, depth, width: b.bits, kind: 'ebr', tensors: [], dualPort: false, ...(b.window ? { window: b.window } : {}) });
      lastEnd.push(b.end);
    } else {
      const m = memories[best];
      m.depth = Math.max(m.depth, depth);
      m.width = Math.max(m.width, b.bits);
      lastEnd[best] = Math.max(lastEnd[best], b.end);
    }
    memories[best].tensors.push(b.tensor);
    memories[best].dualPort ||= b.dualPort;
    b.mem = best;
  }
  // SPRAM for the largest memories that are worth it.
  let spramLeft = dev.spram;
  for (const m of [...memories].sort((a, b) => b.depth * b.width * b.banks - a.depth * a.width * a.banks)) {
    const bits = m.depth * m.width * m.banks;
    const blocks = m.banks * Math.ceil(m.depth / SPRAM_WORDS) * Math.ceil(m.width / SPRAM_WIDTH);
    if (bits >= SPRAM_MIN_BITS && blocks <= spramLeft && !m.dualPort) {
      m.kind = 'spram';
      spramLeft -= blocks;
    }
  }
  return { buffers, memories };
}

export function bankBits(banks: number): number {
  return banks > 1 ? Math.log2(banks) : 0;
}

/** Bank-select bits of a memory's element addresses (a window-layout memory is only addressed by words). */
export function memBankBits(m: PhysicalMemory): number {
  return m.window ? 0 : bankBits(m.banks);
}

/** Address width of one bank. */
export function memAddrBits(m: PhysicalMemory): number {
  return clog2(m.depth);
}
