/**
 * Recurrent layers (LSTM, GRU, SimpleRNN) in the IR: their gates, weight shapes, output shape and
 * the loop nest the C generator emits and a DSE partitions. A recurrent layer is one loop over the
 * time steps; inside it, one matrix-vector loop nest per gate (outputs × (input reduction +
 * recurrent reduction)), then element-wise stages (GRU's reset product, the cell update). Every
 * stage has a stable label `<loop nest id>_<stage>`, the DM_LOOP label of the generated C.
 */
import type { Activation, ActivationKind, Layer, RecurrentConfig, Shape } from './types';

export type RecurrentType = 'lstm' | 'gru' | 'simple_rnn';

export const RECURRENT_TYPES: ReadonlySet<string> = new Set<RecurrentType>(['lstm', 'gru', 'simple_rnn']);

export function isRecurrent(l: { type: string }): boolean {
  return RECURRENT_TYPES.has(l.type);
}

/** Keras's gate order within the kernel columns: LSTM i, f, c, o; GRU z, r, h; SimpleRNN one. */
export function gateNames(cell: RecurrentConfig['cell']): string[] {
  return cell === 'lstm' ? ['i', 'f', 'c', 'o'] : cell === 'gru' ? ['z', 'r', 'h'] : ['h'];
}

/** The function of a gate: `activation` for the candidate (LSTM c, GRU h, SimpleRNN), `recurrent_activation` for the others. */
export function gateActivation(r: RecurrentConfig, gate: string): Activation {
  return r.cell === 'simple_rnn' || (r.cell === 'lstm' && gate === 'c') || (r.cell === 'gru' && gate === 'h') ? r.activation : r.recurrentActivation;
}

/** The activation functions a recurrent cell may use (Keras `activation` / `recurrent_activation`). */
export const RECURRENT_ACTIVATIONS: ReadonlySet<ActivationKind> = new Set<ActivationKind>(['tanh', 'sigmoid', 'hard_sigmoid', 'relu', 'linear']);

/** [timesteps, units] with return_sequences, else [units]; the input must be [timesteps, features]. */
export function recurrentOutputShape(units: number, cfg: RecurrentConfig, x: Shape): Shape {
  if (x.length !== 2) throw new Error(`expects an input of rank 2 [timesteps, features] (without batch), got shape [${x.join(',')}]`);
  return cfg.returnSequences ? [x[0], units] : [units];
}

/** Keras's weight shapes: kernel [features, g·u], recurrent_kernel [u, g·u], bias [g·u] ([2, 3u] for GRU reset_after). */
export function recurrentWeightShape(l: Pick<Layer, 'units' | 'recurrent' | 'inputShapes'>, slot: 'kernel' | 'recurrentKernel' | 'bias'): number[] {
  const u = l.units!;
  const g = gateNames(l.recurrent!.cell).length;
  if (slot === 'kernel') return [l.inputShapes[0][1], g * u];
  if (slot === 'recurrentKernel') return [u, g * u];
  return l.recurrent!.cell === 'gru' && l.recurrent!.resetAfter ? [2, g * u] : [g * u];
}

/** One stage of a time step. */
export type RecurrentStage =
  | {
      kind: 'gate';
      gate: string;
      /** The gate's loop label (`<id>_<gate>`): over its `outputs`; its reductions are `<id>_<gate>_x` and `<id>_<gate>_h`. */
      label: string;
      activation: ActivationKind;
      outputs: number;
      /** Input features summed per output (the kernel rows). */
      inputReduction: number;
      /** State values summed per output (the recurrent kernel rows). */
      recurrentReduction: number;
      /** The gate's columns in kernel, recurrent kernel and bias: [first, end). */
      columns: [number, number];
      /** GRU (reset_after false): the recurrent product reads r ⊙ h instead of h. */
      readsResetState?: boolean;
    }
  | {
      kind: 'elementwise';
      /** `reset`: GRU's r ⊙ h (reset_after false); `cell`: the state update (c and h, or h). */
      what: 'reset' | 'cell';
      label: string;
      elements: number;
    };

export interface RecurrentLoopNest {
  layer: string;
  loopNest?: string;
  cell: RecurrentConfig['cell'];
  timeSteps: number;
  features: number;
  units: number;
  /** The time loop's label (`<id>_t`). */
  label: string;
  /** The stages of one time step, in execution order. */
  stages: RecurrentStage[];
  /** Multiply-accumulates of the whole layer (all steps, all gates). */
  macs: number;
}

/** The loop nest of a recurrent layer: what the C emits, and the partitions a DSE sees. */
export function recurrentLoopNest(l: Pick<Layer, 'name' | 'loopNest' | 'units' | 'recurrent' | 'inputShapes'>): RecurrentLoopNest {
  const r = l.recurrent!;
  const id = l.loopNest ?? l.name;
  const [timeSteps, features] = l.inputShapes[0];
  const u = l.units!;
  const gates = gateNames(r.cell);
  const gate = (name: string, k: number, readsResetState = false): RecurrentStage => ({
    kind: 'gate',
    gate: name,
    label: `${id}_${name}`,
    activation: gateActivation(r, name).kind,
    outputs: u,
    inputReduction: features,
    recurrentReduction: u,
    columns: [k * u, (k + 1) * u],
    ...(readsResetState ? { readsResetState } : {}),
  });
  const stages: RecurrentStage[] = [];
  if (r.cell === 'gru' && !r.resetAfter) {
    stages.push(gate('z', 0), gate('r', 1), { kind: 'elementwise', what: 'reset', label: `${id}_reset`, elements: u }, gate('h', 2, true));
  } else stages.push(...gates.map((g, k) => gate(g, k)));
  stages.push({ kind: 'elementwise', what: 'cell', label: `${id}_cell`, elements: u });
  const macs = timeSteps * gates.length * u * (features + u);
  return { layer: l.name, ...(l.loopNest ? { loopNest: l.loopNest } : {}), cell: r.cell, timeSteps, features, units: u, label: `${id}_t`, stages, macs };
}
