/**
 * The schedule of a recurrent engine (src/rtl/recurrent.ts): its passes of gate columns, the writer's
 * slots (bias, activation table), the state memory's regions, the micro-program lengths of the unit
 * phases, and from them the exact cycles of a time step. The plan (src/rtl/plan.ts), the cycle model
 * (src/rtl/cycles.ts) and the emitter read it, so the predicted cycles describe the generated module.
 */
import { type CellActivation } from '../numerics/recurrent';
import { signedBitsFor, type QRecurrent } from '../qmodel/lower';

/** Widest output format whose activations are ROM tables (2^bits words per function). */
export const RECURRENT_MAX_BITS = 10;

/** Cycles from a group's last issue to its first write into the state memory (gdone 3, W0..W4). */
export const RECURRENT_WRITE_LATENCY = 7;

/** One matrix-vector pass: `cols` gate columns from `col0`, each a sum over x (Fx steps) then the state source (K − Fx steps). */
export interface RecurrentPass {
  col0: number;
  cols: number;
  /** Reduction steps per group: Fx input features, then the state values. */
  K: number;
  Fx: number;
  /** State memory address of the state values read (h or r⊙h), or -1 (x only). */
  hbase: number;
  /** The state slot the first column's result goes to. */
  slot0: number;
  NG: number;
  lvLast: number;
  /** 0: the first MAC stream of a step; 1: GRU reset_after false's h-gate stream (after the reset phase). */
  stream: 0 | 1;
  /** Idle cycles before each next group of this pass, and before the next pass's first group (the writer must drain). */
  waitInner: number;
  waitAfter: number;
}

export interface RecurrentSchedule {
  passes: RecurrentPass[];
  streams: 1 | 2;
  /** Slots written by the writer: per slot, its bias (mod 2^sumBits) and activation table (-1: none). */
  slots: number;
  slotBias: bigint[];
  slotTable: number[];
  tables: CellActivation[];
  /** The table of `activation` (LSTM act(c), GRU reset_after's h gate). */
  actTable: number;
  /** State memory regions. */
  hAddr: number;
  cAddr: number;
  rhAddr: number;
  depth: number;
  /** Cycles per unit of the cell update, and of GRU's reset phase (0 without). */
  unitCycles: number;
  resetCycles: number;
  stepCycles: number;
}

const UNIT_CYCLES = { lstm: 9, gru: 6, gru_after: 9, simple_rnn: 2 } as const;
const RESET_CYCLES = 5;

/**
 * A ternary (FaCT-LSTM) engine's widths: per lane the code sums ax (|ax| ≤ features) and ah
 * (|ah| ≤ units), the scale integers, and the writer's y = ax·sW + ah·sU + b, exact (at least as wide
 * as either product, so the products need no truncation).
 */
export interface RecurrentTernaryWidths {
  axBits: number;
  ahBits: number;
  scaleBits: number;
  yBits: number;
}

export function recurrentTernaryWidths(op: QRecurrent): RecurrentTernaryWidths | undefined {
  const t = op.ternary;
  if (!t) return undefined;
  const maxAbs = (v: ArrayLike<number>) => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const bound = op.features * maxAbs(t.kernelScale) + op.units * maxAbs(t.recurrentScale) + maxAbs(op.bias);
  const axBits = signedBitsFor(-op.features, op.features);
  const ahBits = signedBitsFor(-op.units, op.units);
  const scaleBits = t.scaleFormat.bits;
  return { axBits, ahBits, scaleBits, yBits: Math.max(signedBitsFor(-bound, bound), axBits + scaleBits, ahBits + scaleBits) };
}

/** Width of the gate sum the writer requantizes: the accumulator (modulo 2^accBits), or a ternary engine's exact y. */
export function recurrentSumBits(op: QRecurrent): number {
  return recurrentTernaryWidths(op)?.yBits ?? op.accBits;
}

/** The phases of one layer: passes, slots, tables, memory map, cycles. */
export function recurrentSchedule(op: QRecurrent, lanes: number): RecurrentSchedule {
  const { units: u, features: F } = op;
  const L = lanes;
  const cols = op.gates.length * u;
  const A = recurrentSumBits(op);
  const wrapA = (v: bigint) => BigInt.asIntN(A, v);
  const b = (k: number) => BigInt(op.bias[k]);
  const tables: CellActivation[] = op.cell === 'simple_rnn' ? [op.activation] : [op.recurrentActivation, op.activation];
  const actTable = tables.length - 1;
  const passes: Omit<RecurrentPass, 'NG' | 'lvLast' | 'waitInner' | 'waitAfter'>[] = [];
  const slotBias: bigint[] = [];
  const slotTable: number[] = [];
  const after = op.cell === 'gru' && op.resetAfter;
  // The state memory: the slots, then h, then c (LSTM) or r⊙h (GRU reset_after false).
  const slots = after ? 4 * u : cols;
  const hAddr = slots;
  const cAddr = op.cell === 'lstm' ? slots + u : -1;
  const rhAddr = op.cell === 'gru' && !after ? slots + u : -1;
  const depth = slots + u + (cAddr >= 0 || rhAddr >= 0 ? u : 0);
  if (op.cell === 'lstm' || op.cell === 'simple_rnn') {
    passes.push({ col0: 0, cols, K: F + u, Fx: F, hbase: hAddr, slot0: 0, stream: 0 });
    for (let c = 0; c < cols; c++) {
      slotBias.push(wrapA(b(c)));
      slotTable.push(op.cell === 'simple_rnn' || (c >= 2 * u && c < 3 * u) ? actTable : 0);
    }
  } else if (!after) {
    passes.push({ col0: 0, cols: 2 * u, K: F + u, Fx: F, hbase: hAddr, slot0: 0, stream: 0 });
    passes.push({ col0: 2 * u, cols: u, K: F + u, Fx: F, hbase: rhAddr, slot0: 2 * u, stream: 1 });
    for (let c = 0; c < cols; c++) {
      slotBias.push(wrapA(b(c)));
      slotTable.push(c >= 2 * u ? actTable : 0);
    }
  } else {
    // z and r add both bias rows; the h gate's x and h sums are separate (qx, qh), combined in the cell update.
    passes.push({ col0: 0, cols: 2 * u, K: F + u, Fx: F, hbase: hAddr, slot0: 0, stream: 0 });
    passes.push({ col0: 2 * u, cols: u, K: F, Fx: F, hbase: -1, slot0: 2 * u, stream: 0 });
    passes.push({ col0: 2 * u, cols: u, K: u, Fx: 0, hbase: hAddr, slot0: 3 * u, stream: 0 });
    for (let c = 0; c < 2 * u; c++) {
      slotBias.push(wrapA(b(c) + b(cols + c)));
      slotTable.push(0);
    }
    for (let j = 0; j < u; j++) {
      slotBias.push(wrapA(b(2 * u + j)));
      slotTable.push(-1);
    }
    for (let j = 0; j < u; j++) {
      slotBias.push(wrapA(b(cols + 2 * u + j)));
      slotTable.push(-1);
    }
  }
  const full = passes.map((p) => {
    const NG = Math.ceil(p.cols / L);
    return { ...p, NG, lvLast: p.cols - (NG - 1) * L, waitInner: Math.max(0, L - p.K), waitAfter: 0 };
  });
  full.forEach((p, i) => {
    const next = full[i + 1];
    if (next && next.stream === p.stream) p.waitAfter = Math.max(0, p.lvLast - next.K);
  });
  const unitCycles = op.cell === 'gru' ? (after ? UNIT_CYCLES.gru_after : UNIT_CYCLES.gru) : UNIT_CYCLES[op.cell];
  const resetCycles = rhAddr >= 0 ? RESET_CYCLES : 0;
  const streams = full.some((p) => p.stream === 1) ? 2 : 1;
  let step = u * unitCycles + u * resetCycles;
  for (let s = 0; s < streams; s++) {
    const ps = full.filter((p) => p.stream === s);
    for (const p of ps) step += p.NG * p.K + (p.NG - 1) * p.waitInner + p.waitAfter;
    step += RECURRENT_WRITE_LATENCY + ps[ps.length - 1].lvLast;
  }
  return { passes: full, streams, slots, slotBias, slotTable, tables, actTable, hAddr, cAddr, rhAddr, depth, unitCycles, resetCycles, stepCycles: step };
}

/** Weight ROM words per lane, in issue order: pass, group, reduction step (kernel rows, then recurrent-kernel rows). */
export function recurrentWeightBanks(op: QRecurrent, s: RecurrentSchedule, L: number): Int32Array[] {
  const cols = op.gates.length * op.units;
  const words = s.passes.reduce((a, p) => a + p.NG * p.K, 0);
  const banks = Array.from({ length: L }, () => new Int32Array(words));
  let at = 0;
  for (const p of s.passes) {
    for (let g = 0; g < p.NG; g++) {
      for (let k = 0; k < p.K; k++, at++) {
        for (let l = 0; l < L; l++) {
          const c = g * L + l;
          if (c >= p.cols) continue;
          const col = p.col0 + c;
          banks[l][at] = k < p.Fx ? op.kernel[k * cols + col] : op.recurrentKernel[(k - p.Fx) * cols + col];
        }
      }
    }
  }
  return banks;
}

/** Cycles from a recurrent engine's start to its done: every step, then the done register. */
export function recurrentEngineCycles(timeSteps: number, s: RecurrentSchedule): number {
  return timeSteps * s.stepCycles + 1;
}

