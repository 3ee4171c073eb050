/**
 * Zero-copy concatenation: a pass over the lowered model that places the inputs of a channel
 * concatenation side by side in one buffer, so that their producers write straight into it and the
 * concatenation itself costs no engine, no cycles and no second buffer (DenseNet blocks concatenate
 * every unit's output with all earlier ones; copying them took ~40 % of such a design's logic).
 *
 * A tensor's layout is (storage, pixel stride P, channel offset): element (pixel p, channel c) lives at
 * p·P + offset + c of the storage tensor's buffer. Engines address their inputs and outputs through
 * layouts (src/rtl/plan.ts), so a view costs nothing at run time.
 *
 * A concatenation becomes a view when it is linear and all its inputs are in its output format, and
 * every tensor involved is read only with its own shape (not through a Reshape/Flatten that changes
 * the flat order), and is neither the model input (the loader writes it densely) nor the model output.
 * Later concatenations are placed first, so a chain of growing concatenations (DenseNet) ends up as
 * nested views of one buffer. Anything else stays a copy engine.
 */
import type { QModel, QOp, QElementwise } from '../qmodel/lower';
import { sameFormat } from '../qmodel/lower';

export interface TensorLayout {
  /** The tensor whose buffer holds this one. */
  storage: string;
  pixStride: number;
  offset: number;
}

export interface Placement {
  /** The ops that still run (concatenations that became views are gone). */
  ops: QOp[];
  /** Layouts of the tensors that do not own a dense buffer of their own shape. */
  layouts: Map<string, TensorLayout>;
}

/** Shapes each op reads its inputs with. */
function readShapes(op: QOp): [string, number[]][] {
  if (op.kind === 'mac' || op.kind === 'pool' || op.kind === 'recurrent') return [[op.inputs[0], op.in]];
  return op.inputs.map((t, k) => [t, op.inShapes[k]]);
}

export function placeConcatenations(q: QModel): Placement {
  const layouts = new Map<string, TensorLayout>();
  const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  // A tensor may move into a strided layout only if every reader uses its own shape.
  const eligible = (t: string): boolean => {
    if (t === q.inputs[0].name || t === q.outputs[0]) return false;
    const shape = q.tensors.get(t)!.shape;
    return q.ops.every((op) => readShapes(op).every(([name, s]) => name !== t || sameShape(s, shape)));
  };
  const views = new Set<QElementwise>();
  const concats = q.ops.filter((op): op is QElementwise => op.kind === 'elementwise' && op.op === 'concat');
  for (const op of [...concats].reverse()) {
    const out = q.tensors.get(op.output)!;
    const formatsMatch = op.inputs.every((t) => sameFormat(q.tensors.get(t)!.format, out.format));
    if (op.act.relu || op.act.max !== undefined || !formatsMatch || !eligible(op.output) || !op.inputs.every(eligible)) continue;
    if (new Set(op.inputs).size !== op.inputs.length) continue; // the same tensor twice cannot be in two places
    const offsets: number[] = [];
    op.inShapes.reduce((o: number, s: number[]) => (offsets.push(o), o + s[2]), 0);
    const home = layouts.get(op.output);
    const placed = op.inputs.map((t) => layouts.get(t));
    if (!home && placed.every((l) => l !== undefined)) {
      // All inputs already sit side by side in one buffer (placed by a later concatenation): a view of it.
      const first = placed[0]!;
      if (placed.every((l, k) => l!.storage === first.storage && l!.pixStride === first.pixStride && l!.offset === first.offset + offsets[k])) {
        layouts.set(op.output, { ...first });
        views.add(op);
      }
      continue;
    }
    const at: TensorLayout = home ?? { storage: op.output, pixStride: out.shape[2], offset: 0 };
    const want = op.inputs.map((_, k) => ({ storage: at.storage, pixStride: at.pixStride, offset: at.offset + offsets[k] }));
    if (!placed.every((l, k) => !l || (l.storage === want[k].storage && l.pixStride === want[k].pixStride && l.offset === want[k].offset))) continue;
    op.inputs.forEach((t, k) => layouts.set(t, want[k]));
    if (!home && at.storage !== op.output) layouts.set(op.output, at);
    views.add(op);
  }
  return { ops: q.ops.filter((op) => !views.has(op as QElementwise)), layouts };
}
