/**
 * Max-pool fusion: a pass over the placed ops (after src/rtl/concat.ts) that folds a max pool into the
 * MAC layer that produces its input, so that the pool costs no engine, no cycles and no buffer for the
 * full-resolution tensor.
 *
 * The fused engine walks its output positions window by window (src/rtl/plan.ts: the pooled position
 * outside, the window position inside the channel groups) and its writer keeps a running maximum per
 * output of a group (src/rtl/engines.ts): the first window position loads it, the last one writes the
 * maximum to the pooled tensor. Requantization and the activation happen per convolution output before
 * the maximum, exactly as the C computes the convolution's tensor and then pools it, so the fused design
 * stays bit-exact. Positions no window covers (the last row of an odd-sized map under a 2×2 pool) are
 * not computed at all.
 *
 * A pool is fused when:
 *  - it is a max pool without padding whose stride equals its window (windows tile the map);
 *  - its input is written by a MAC op (convolution, depthwise convolution or dense) and read by it alone
 *    (no other op, no Flatten/Reshape alias, not the model output, not a concatenation view);
 *  - its input format is the MAC op's output format, and its output format is the same, or one the
 *    writer reaches from it by a monotone conversion (saturating, or exact: no fraction or integer bit
 *    lost), so that converting the maximum equals the maximum of the converted values the C pools.
 */
import type { QMac, QModel, QOp, QPool } from '../qmodel/lower';
import { sameFormat } from '../qmodel/lower';
import { fracBits, type FixedFormat } from '../numerics/fixed';
import type { Placement } from './concat';

export interface FusedPool {
  /** The pool's IR layer (its engine is gone). */
  layer: string;
  /** Pooled output dims (H, W, C). */
  out: [number, number, number];
  window: [number, number];
  /** The pool's output format (the writer converts the maximum to it when it differs from the MAC's). */
  format: FixedFormat;
}

/** A MAC op whose output is max-pooled in its writer: `output` is the pool's tensor, `out` the MAC's own dims. */
export interface FusedMac extends QMac {
  pool: FusedPool;
}

export function isFused(op: QOp): op is FusedMac {
  return op.kind === 'mac' && (op as Partial<FusedMac>).pool !== undefined;
}

/** The placed ops with every fusable max pool folded into its producer. */
export function fusePools(q: QModel, placement: Placement): Placement {
  const ops = placement.ops;
  const readers = new Map<string, number>();
  for (const op of ops) for (const t of op.inputs) readers.set(t, (readers.get(t) ?? 0) + 1);
  const aliased = new Set(q.alias.values());
  const producer = new Map<string, QMac>();
  for (const op of ops) if (op.kind === 'mac' && !isFused(op)) producer.set(op.output, op);
  const fused = new Map<QMac, FusedMac>();
  const gone = new Set<QPool>();
  for (const op of ops) {
    if (op.kind !== 'pool' || op.op !== 'max') continue;
    const t = op.inputs[0];
    const mac = producer.get(t);
    if (!mac || fused.has(mac)) continue;
    const [wh, ww] = op.window;
    if (op.pad[0] !== 0 || op.pad[1] !== 0 || op.stride[0] !== wh || op.stride[1] !== ww) continue;
    if (readers.get(t) !== 1 || aliased.has(t) || q.outputs.includes(t) || placement.layouts.has(t)) continue;
    if (!sameFormat(op.inFormat, mac.outFormat) || !monotoneConversion(mac.outFormat, op.outFormat)) continue;
    if (op.out[0] * wh > mac.out[0] || op.out[1] * ww > mac.out[1] || op.out[2] !== mac.out[2]) continue;
    fused.set(mac, { ...mac, output: op.output, pool: { layer: op.layer, out: [...op.out], window: [wh, ww], format: op.outFormat } });
    gone.add(op);
  }
  if (fused.size === 0) return placement;
  return { layouts: placement.layouts, ops: ops.filter((op) => !gone.has(op as QPool)).map((op) => (op.kind === 'mac' ? fused.get(op) ?? op : op)) };
}

/** Converting `from` to `to` preserves order: the same format, a saturating conversion, or an exact one. */
export function monotoneConversion(from: FixedFormat, to: FixedFormat): boolean {
  if (sameFormat(from, to) || to.overflow === 'saturate') return true;
  return fracBits(to) >= fracBits(from) && to.integer >= from.integer;
}
