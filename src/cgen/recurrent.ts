/**
 * Recurrent layers in C (emitRecurrentLoopNest): LSTM, GRU (reset_after true and false) and
 * SimpleRNN, float and fixed point behind the same knobs. The function of a layer is the loop nest
 * of src/ir/recurrent.ts: a time loop `<id>_t`; inside it one matrix-vector loop per gate
 * (`<id>_<gate>` over the units, with the reductions `<id>_<gate>_x` over the input features and
 * `<id>_<gate>_h` over the state), GRU's reset product `<id>_reset`, then the cell update
 * `<id>_cell`. The state (h, and LSTM's c) lives in file-scope buffers, which the trace reads.
 *
 * Fixed point (the contract of the README's "Recurrent layers in fixed point"). Every value a cell
 * stores (gate pre-activations and outputs, c, h) is in the layer's output format O; weights and
 * recurrent weights in W, biases in B. With fx the input's frac and fo = frac(O):
 *  - a gate sums bias + Σ w·x + Σ u·h exactly at P = fw + max(fx, fo) (x products shifted left by
 *    P - fw - fx, h products by P - fw - fo), wraps to the accumulator width, and is requantized once
 *    to O (the knobs' rounding and overflow);
 *  - sigmoid, tanh and hard_sigmoid are exact functions of the stored integer (dm_rnn_*: a table and
 *    integer interpolation, or an exact rational); relu is max(z, 0); linear is z;
 *  - products of two stored values (f·c, i·g, o·act(c), r·h) are exact at 2·fo, summed modulo 2^64
 *    (exact for values below 2^31) and requantized once to O; GRU's z·h + (1 - z)·hh is computed as
 *    hh + z·(h - hh), exact at F = max(fo, 2·fo) (`<m>_UF`), and requantized once;
 *  - GRU reset_after: x·W + b_x and h·U + b_h are each requantized to O, then x_q + r·h_q (exact at F)
 *    is requantized once.
 */
import { sizeOf } from '../ir/shapes';
import { gateActivation, gateNames, recurrentLoopNest, type RecurrentStage } from '../ir/recurrent';
import type { Activation } from '../ir/types';
import { doubleLiteral } from './expr';
import { floatActivation, type LayerSymbols } from './symbols';
import { bytesLiteral, floatsLiteral, packTernaryKernel } from './ternary-codes';
import { hardSigmoidDivisor, TANH_Q, TANH_STEP_LOG2, TANH_TABLE_SIZE, tanhTable } from '../numerics/recurrent';

// The table and its constants are defined in src/numerics/recurrent.ts (shared with the quantized-model view).
export { hardSigmoidDivisor, TANH_Q, TANH_STEP_LOG2, TANH_TABLE_SIZE, tanhTable };

/**
 * The fixed-point helpers of the recurrent cells (emitted inside `#if DM_FIXED`, after the fixed
 * runtime): tanh and sigmoid as sign-symmetric linear interpolation in a table of tanh on [0, 8]
 * (step 1/64), clipped beyond; hard_sigmoid as an exact rational; the modular products.
 */
export function recurrentRuntimeC(): string {
  const t = Array.from(tanhTable());
  const rows: string[] = [];
  for (let i = 0; i < t.length; i += 8) rows.push(`    ${t.slice(i, i + 8).join(', ')},`);
  return [
    '/* ---- recurrent cells in fixed point: activations as exact functions of the stored integers ---- */',
    `#define DM_TANH_Q ${TANH_Q}      /* table values: tanh · 2^24, rounded to nearest */`,
    `#define DM_TANH_STEP ${TANH_STEP_LOG2}    /* grid step 2^-6 */`,
    `#define DM_TANH_N ${TANH_TABLE_SIZE}    /* grid points 0..N cover [0, 8] */`,
    `static const int32_t dm_tanh_table[DM_TANH_N + 1] = {`,
    ...rows,
    '};',
    '',
    '/* a * b modulo 2^64 (two\'s complement): exact whenever the true product fits in 64 bits */',
    'static inline uint64_t dm_mul_mod(int64_t a, int64_t b) { return (uint64_t)a * (uint64_t)b; }',
    '',
    '/* tanh(z / 2^f) as the exact value y / 2^*frac: sign(z) times the linear interpolation of the table',
    '   at |z| / 2^f (a grid point when f <= DM_TANH_STEP), and the table\'s end value beyond 8. -24 <= f <= 40. */',
    'static inline int64_t dm_tanh_raw(int64_t z, int f, int *frac)',
    '{',
    '    int64_t a = z < 0 ? -z : z, y;',
    '    int s = f - DM_TANH_STEP;',
    '    if (s <= 0) {',
    '        *frac = DM_TANH_Q;',
    '        y = a == 0 ? 0 : (-s >= 10 || (a << -s) >= DM_TANH_N) ? dm_tanh_table[DM_TANH_N] : dm_tanh_table[a << -s];',
    '    } else {',
    '        int64_t k = a >> s, r = a - (k << s);',
    '        *frac = DM_TANH_Q + s;',
    '        if (k >= DM_TANH_N) y = (int64_t)dm_tanh_table[DM_TANH_N] * ((int64_t)1 << s);',
    '        else y = (int64_t)dm_tanh_table[k] * ((int64_t)1 << s) + (int64_t)(dm_tanh_table[k + 1] - dm_tanh_table[k]) * r;',
    '    }',
    '    return z < 0 ? -y : y;',
    '}',
    '',
    '/* tanh of z (frac f) in the format (bits, fo): one rounding of the exact interpolated value */',
    'static inline int32_t dm_rnn_tanh(int32_t z, int f, int bits, int fo)',
    '{',
    '    int fr;',
    '    int64_t y = dm_tanh_raw(z, f, &fr);',
    '    return dm_requant(y, fr, bits, fo);',
    '}',
    '',
    '/* sigmoid(x) = (1 + tanh(x / 2)) / 2: the same table read at z with frac f + 1 */',
    'static inline int32_t dm_rnn_sigmoid(int32_t z, int f, int bits, int fo)',
    '{',
    '    int fr;',
    '    int64_t y = dm_tanh_raw(z, f + 1, &fr);',
    '    return dm_requant(((int64_t)1 << fr) + y, fr + 1, bits, fo);',
    '}',
    '',
    '/* hard_sigmoid(x) = clip(x / d + 1/2, 0, 1) exactly (d = 5: Keras 2 and TF.js slope 0.2; d = 6: Keras 3):',
    '   x / d + 1/2 = (2z + d·2^f) / (2d·2^f) (f >= 0), (2z·2^-f + d) / 2d (f < 0), rounded once; 0 and 1 beyond the ends */',
    'static inline int32_t dm_rnn_hard_sigmoid(int32_t z, int f, int d, int bits, int fo)',
    '{',
    '    int from = f < 0 ? 0 : f;',
    '    int64_t num = f < 0 ? 2 * (int64_t)z * ((int64_t)1 << -f) + d : 2 * (int64_t)z + (int64_t)d * ((int64_t)1 << f);',
    '    if (num <= 0) return 0;',
    '    if (num >= 2 * (int64_t)d * ((int64_t)1 << from)) return dm_requant(1, 0, bits, fo);',
    '    return dm_requant_div(num, from, 2 * (int64_t)d, bits, fo);',
    '}',
    '',
  ].join('\n');
}

const I = (n: number) => '    '.repeat(n);

/** A cell activation in fixed point, of the int32 expression `z` in the layer's format O (macro prefix m). */
export function recurrentFixedActivation(a: Activation, z: string, m: string): string {
  const fmt = `${m}_O_FRAC, ${m}_O_BITS, ${m}_O_FRAC`;
  switch (a.kind) {
    case 'linear':
      return z;
    case 'relu': {
      const y = `dm_max_i32(${z}, 0)`;
      return a.maxValue !== undefined ? `dm_min_i32(${y}, dm_quantize(${doubleLiteral(a.maxValue)}, ${m}_O_BITS, ${m}_O_FRAC, 1))` : y;
    }
    case 'tanh':
      return `dm_rnn_tanh(${z}, ${fmt})`;
    case 'sigmoid':
      return `dm_rnn_sigmoid(${z}, ${fmt})`;
    case 'hard_sigmoid':
      return `dm_rnn_hard_sigmoid(${z}, ${m}_O_FRAC, ${hardSigmoidDivisor(a.alpha)}, ${m}_O_BITS, ${m}_O_FRAC)`;
  }
  throw new Error(`activation ${a.kind} has no recurrent-cell implementation`);
}

/** Names of a recurrent layer's buffers (file scope in model.c). */
export function recurrentBuffers(s: LayerSymbols): { h: string; c?: string; gates: Record<string, string>; reset?: string } {
  const r = s.layer.recurrent!;
  const gates: Record<string, string> = {};
  for (const g of gateNames(r.cell)) gates[g] = `dm_gate_${s.id}_${g}`;
  return {
    h: `dm_state_${s.id}_h`,
    ...(r.cell === 'lstm' ? { c: `dm_state_${s.id}_c` } : {}),
    gates,
    ...(r.cell === 'gru' && !r.resetAfter ? { reset: `dm_state_${s.id}_rh` } : {}),
  };
}

/** The file-scope declarations of a recurrent layer's buffers. */
export function recurrentDeclarations(s: LayerSymbols): string[] {
  const b = recurrentBuffers(s);
  const u = s.layer.units!;
  const out = [`static dm_act_t ${b.h}[${u}]; /* ${s.layer.name}: state h */`];
  if (b.c) out.push(`static dm_act_t ${b.c}[${u}]; /* ${s.layer.name}: cell state c */`);
  if (b.reset) out.push(`static dm_act_t ${b.reset}[${u}]; /* ${s.layer.name}: r * h */`);
  for (const [g, name] of Object.entries(b.gates)) out.push(`static dm_act_t ${name}[${u}]; /* ${s.layer.name}: gate ${g} */`);
  return out;
}

/** Requantization of the exact value `v` (int64, frac 2·fo) to O. */
function fromProduct(v: string, m: string): string {
  return `dm_requant(${v}, 2 * ${m}_O_FRAC, ${m}_O_BITS, ${m}_O_FRAC)`;
}

/** The sum of modular products a·b + c·d + ... as an int64 (exact for values below 2^31). */
function products(pairs: [string, string][]): string {
  return `dm_sext(${pairs.map(([a, b]) => `dm_mul_mod(${a}, ${b})`).join(' + ')}, 64)`;
}

export function emitRecurrentLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const r = l.recurrent!;
  const nest = recurrentLoopNest(l);
  const { timeSteps: T, features: F, units: u } = nest;
  const g = gateNames(r.cell).length;
  const b = recurrentBuffers(s);
  const m = s.m;
  const id = s.id;
  const K = `DM_KERNEL(${id}, ${s.kernel})`;
  const R = `DM_RKERNEL(${id}, ${s.recurrentKernel})`;
  const resetAfter = r.cell === 'gru' && !!r.resetAfter;
  const desc = [`${r.cell} '${l.name}'`, `[${l.inputShapes[0].join('x')}] -> [${l.outputShape.join('x')}]`, `${u} units`, `gates ${gateNames(r.cell).join(',')}`, `activation ${r.activation.kind}`];
  if (r.cell !== 'simple_rnn') desc.push(`recurrent ${r.recurrentActivation.kind}`);
  if (r.goBackwards) desc.push('backwards');
  if (r.returnSequences) desc.push(r.reverseOutput ? 'sequence (in input order)' : 'sequence');
  if (resetAfter) desc.push('reset_after');
  const L: string[] = [`/* ${id}: ${desc.join(', ')} */`, `static void dm_${id}(const dm_act_t in[${sizeOf(l.inputShapes[0])}], dm_act_t out[${sizeOf(l.outputShape)}])`, '{'];
  L.push(`${I(1)}int t, o, i;`);
  L.push(`${I(1)}DM_LOOP(${id}_zero) for (o = 0; o < ${u}; o++) {`, `${I(2)}${b.h}[o] = 0;`);
  if (b.c) L.push(`${I(2)}${b.c}[o] = 0;`);
  L.push(`${I(1)}}`);
  L.push(`${I(1)}DM_LOOP(${nest.label}) for (t = 0; t < ${T}; t++) {`);
  const xIndex = r.goBackwards ? `(${T - 1} - t) * ${F}` : `t * ${F}`;
  L.push(`${I(2)}const dm_act_t *x = in + ${xIndex};`);
  const bias = (k: number) => (s.bias ? `${s.bias}[${k ? `${k} + o` : 'o'}]` : undefined);
  const biasQ = (k: number) => `dm_bq_${id}[${k ? `${k} + o` : 'o'}]`;
  const accInit = (ks: number[]) => (s.bias ? ks.map((k) => `DM_ACC_INIT(${biasQ(k)})`).join(' + ') : 'DM_ACC_ZERO');
  const floatAct = (a: Activation, v: string) => floatActivation(a, v);
  const fixedAct = (a: Activation, z: string) => recurrentFixedActivation(a, z, m);
  /** The two reductions of one gate into `acc` (h read from `state`). */
  const reductions = (stage: Extract<RecurrentStage, { kind: 'gate' }>, acc: string, which: 'x' | 'h' | 'both', state: string, depth: number) => {
    const col = stage.columns[0];
    const out: string[] = [];
    if (which !== 'h') out.push(`${I(depth)}DM_LOOP(${stage.label}_x) for (i = 0; i < ${F}; i++) DM_RMAC(${acc}, ${K}[i * ${g * u} + ${col ? `${col} + o` : 'o'}], x[i], ${m}_SX);`);
    if (which !== 'x') out.push(`${I(depth)}DM_LOOP(${stage.label}_h) for (i = 0; i < ${u}; i++) DM_RMAC(${acc}, ${R}[i * ${g * u} + ${col ? `${col} + o` : 'o'}], ${state}[i], ${m}_SH);`);
    return out;
  };
  const wrapAcc = (acc: string) => `dm_requant(dm_sext(${acc}, ${m}_ACC_BITS), ${m}_P_FRAC, ${m}_O_BITS, ${m}_O_FRAC)`;
  for (const stage of nest.stages) {
    if (stage.kind === 'gate' && l.ternary) {
      L.push(...ternaryGate(s, stage, b, F, u, g));
      continue;
    }
    if (stage.kind === 'elementwise' && stage.what === 'reset') {
      const rg = b.gates.r;
      L.push(`${I(2)}/* GRU reset: r * h, the state the h gate reads */`);
      L.push(`${I(2)}DM_LOOP(${stage.label}) for (o = 0; o < ${u}; o++)`);
      L.push('#if DM_FIXED', `${I(3)}${b.reset}[o] = ${fromProduct(products([[`${rg}[o]`, `${b.h}[o]`]]), m)};`, '#else', `${I(3)}${b.reset}[o] = ${rg}[o] * ${b.h}[o];`, '#endif');
      continue;
    }
    if (stage.kind === 'elementwise') {
      L.push(...cellUpdate(s, stage.label, b, u, T));
      continue;
    }
    const a = gateActivation(r, stage.gate);
    const dst = b.gates[stage.gate];
    const col = stage.columns[0];
    const state = stage.readsResetState ? b.reset! : b.h;
    L.push(`${I(2)}/* gate ${stage.gate}: ${stage.outputs} outputs x (${stage.inputReduction} inputs + ${stage.recurrentReduction} state values) */`);
    L.push(`${I(2)}DM_LOOP(${stage.label}) for (o = 0; o < ${u}; o++) {`);
    if (resetAfter && stage.gate === 'h') {
      // h·U + b_h stays separate: the reset gate multiplies it.
      L.push(`${I(3)}dm_acc_t ax = ${accInit([col])}, ah = ${accInit([g * u + col])};`);
      L.push(...reductions(stage, 'ax', 'x', state, 3), ...reductions(stage, 'ah', 'h', state, 3));
      const rg = b.gates.r;
      L.push('#if DM_FIXED', `${I(3)}{`);
      L.push(`${I(4)}int32_t qx = ${wrapAcc('ax')}, qh = ${wrapAcc('ah')};`);
      // x_q + r·h_q, exact at F = max(fo, 2·fo).
      L.push(`${I(4)}int32_t z = dm_requant(dm_sext(dm_mul_mod(qx, (int64_t)1 << ${m}_UF_H) + dm_mul_mod(${rg}[o], qh) * ((uint64_t)1 << ${m}_UF_P), 64), ${m}_UF, ${m}_O_BITS, ${m}_O_FRAC);`);
      L.push(`${I(4)}${dst}[o] = ${fixedAct(a, 'z')};`, `${I(3)}}`);
      const bx = bias(col), bh = bias(g * u + col);
      L.push('#else', `${I(3)}{`);
      L.push(`${I(4)}float v = ${bx ? `(ax + ${bx})` : 'ax'} + ${rg}[o] * ${bh ? `(ah + ${bh})` : 'ah'};`);
      L.push(`${I(4)}${dst}[o] = ${floatAct(a, 'v')};`, `${I(3)}}`, '#endif');
    } else {
      const ks = resetAfter ? [col, g * u + col] : [col];
      L.push(`${I(3)}dm_acc_t acc = ${accInit(ks)};`);
      L.push(...reductions(stage, 'acc', 'both', state, 3));
      L.push('#if DM_FIXED', `${I(3)}{`, `${I(4)}int32_t z = ${wrapAcc('acc')};`, `${I(4)}${dst}[o] = ${fixedAct(a, 'z')};`, `${I(3)}}`);
      const fb = ks.map(bias).filter(Boolean);
      L.push('#else', `${I(3)}{`, `${I(4)}float v = ${['acc', ...fb].join(' + ')};`, `${I(4)}${dst}[o] = ${floatAct(a, 'v')};`, `${I(3)}}`, '#endif');
    }
    L.push(`${I(2)}}`);
  }
  L.push(`${I(1)}}`);
  if (!r.returnSequences) L.push(`${I(1)}DM_LOOP(${id}_out) for (o = 0; o < ${u}; o++) out[o] = ${b.h}[o];`);
  L.push('}');
  return L;
}

// ---------------- ternary recurrent layers (FaCT-LSTM) ----------------
//
// A ternary LSTM or SimpleRNN (Layer.ternary, src/qmodel/apply.ts) keeps its data in model.c: the
// kernel and the recurrent kernel as 2-bit codes (dm_rtk_<id>, dm_rtu_<id>; src/cgen/ternary.ts's
// packing), per-column scales α·β (dm_rsw_/dm_rsu_, quantized by dm_init to <m>_S_*, saturating),
// the operand thresholds Δ per input feature and per unit (dm_rtx_/dm_rth_; in fixed point
// θ = max(1, ceil(Δ·2^frac)) on the stored integers), and the biases (aligned to <m>_S_FRAC). A gate
// output is
//   ax = Σ_i code(W[i][col]) ⊗ code(x[i])   ah = Σ_j code(U[j][col]) ⊗ code(h[j])   (add 1, subtract 1, or skip)
//   y  = ax·sW[col] + ah·sU[col] + b[col]   (int64, exact, frac <m>_S_FRAC; float in DM_FIXED 0)
// then one requantization to the layer's format and the gate's activation; the cell update is the
// fixed-point one of every recurrent layer. The loop labels are those of src/ir/recurrent.ts.

function hasBias(l: { weights: { bias?: unknown }; useBias?: boolean }): boolean {
  return !!l.weights.bias && l.useBias !== false;
}

/** The file-scope data of a ternary recurrent layer (model.c, before the loop nests). */
export function ternaryRecurrentDeclarations(s: LayerSymbols): string[] {
  const l = s.layer;
  const t = l.ternary!;
  const sf = l.precision?.scale;
  if (!sf || !t.recurrentScale || !t.inputThresholds || !t.stateThresholds) throw new Error(`ternary recurrent layer '${l.name}' lacks its scale format, recurrent scale or thresholds (src/qmodel/apply.ts sets them)`);
  const k = packTernaryKernel(l.weights.kernel!.data), r = packTernaryKernel(l.weights.recurrentKernel!.data);
  const cols = t.scale.length, F = t.inputThresholds.length, u = t.stateThresholds.length;
  const id = s.id, m = s.m;
  const L: string[] = [
    `/* ${id}: ternary ${l.type} (FaCT-LSTM): kernel [${l.weights.kernel!.shape.join('x')}] and recurrent kernel [${l.weights.recurrentKernel!.shape.join('x')}] as 2-bit codes */`,
    `#ifndef ${m}_S_BITS`,
    `#define ${m}_S_BITS ${sf.bits}`,
    '#endif',
    `#ifndef ${m}_S_INT`,
    `#define ${m}_S_INT ${sf.integer}`,
    '#endif',
    `#define ${m}_S_FRAC (${m}_S_BITS - ${m}_S_INT)`,
    `static const unsigned char dm_rtk_${id}[${k.length}] = {`,
    ...bytesLiteral(k),
    '};',
    `static const unsigned char dm_rtu_${id}[${r.length}] = {`,
    ...bytesLiteral(r),
    '};',
    `static const float dm_rsw_${id}[${cols}] = { /* α·β_x per kernel column */`,
    ...floatsLiteral(t.scale),
    '};',
    `static const float dm_rsu_${id}[${cols}] = { /* α·β_h per recurrent-kernel column */`,
    ...floatsLiteral(t.recurrentScale),
    '};',
    `static const float dm_rtx_${id}[${F}] = { /* Δ per input feature */`,
    ...floatsLiteral(t.inputThresholds),
    '};',
    `static const float dm_rth_${id}[${u}] = { /* Δ per unit of h */`,
    ...floatsLiteral(t.stateThresholds),
    '};',
  ];
  if (hasBias(l)) L.push(`static const float dm_rb_${id}[${l.weights.bias!.data.length}] = {`, ...floatsLiteral(l.weights.bias!.data), '};');
  L.push('#if DM_FIXED', `static int32_t dm_rswq_${id}[${cols}];`, `static int32_t dm_rsuq_${id}[${cols}];`, `static int64_t dm_rtxq_${id}[${F}];`, `static int64_t dm_rthq_${id}[${u}];`);
  if (hasBias(l)) L.push(`static int64_t dm_rbq_${id}[${l.weights.bias!.data.length}]; /* aligned to ${m}_S_FRAC */`);
  L.push('#endif');
  return L;
}

/** dm_init lines of a ternary recurrent layer (fixed point: quantize the scales, thresholds and biases). */
export function ternaryRecurrentInit(s: LayerSymbols): string[] {
  const l = s.layer;
  const t = l.ternary!;
  const id = s.id, m = s.m, p = s.inputMacros[0];
  const L = ['#if DM_FIXED', '    {', '        long i;'];
  L.push(`        for (i = 0; i < ${t.scale.length}; i++) {`);
  L.push(`            dm_rswq_${id}[i] = dm_quantize(dm_rsw_${id}[i], ${m}_S_BITS, ${m}_S_FRAC, 1);`);
  L.push(`            dm_rsuq_${id}[i] = dm_quantize(dm_rsu_${id}[i], ${m}_S_BITS, ${m}_S_FRAC, 1);`);
  if (hasBias(l)) L.push(`            dm_rbq_${id}[i] = dm_align(dm_quantize(dm_rb_${id}[i], ${m}_B_BITS, ${m}_B_FRAC, DM_SATURATING), ${m}_B_FRAC, ${m}_S_FRAC);`);
  L.push('        }');
  L.push(`        for (i = 0; i < ${t.inputThresholds!.length}; i++) dm_rtxq_${id}[i] = dm_tthreshold(dm_rtx_${id}[i], ${p}_O_FRAC);`);
  L.push(`        for (i = 0; i < ${t.stateThresholds!.length}; i++) dm_rthq_${id}[i] = dm_tthreshold(dm_rth_${id}[i], ${m}_O_FRAC);`);
  L.push('    }', '#endif');
  return L;
}

/** One gate of a ternary recurrent layer: code products (add/subtract/skip), then the scale multiplies, the bias, one requantization, the activation. */
function ternaryGate(s: LayerSymbols, stage: Extract<RecurrentStage, { kind: 'gate' }>, b: ReturnType<typeof recurrentBuffers>, F: number, u: number, g: number): string[] {
  const l = s.layer;
  const r = l.recurrent!;
  const id = s.id, m = s.m;
  const a = gateActivation(r, stage.gate);
  const dst = b.gates[stage.gate];
  const col = stage.columns[0];
  const c = col ? `${col} + o` : 'o';
  const code = (packed: string) => `DM_TCODE(${packed}, i * ${g * u} + ${c})`;
  const bias = hasBias(l);
  return [
    `${I(2)}/* gate ${stage.gate}: ${stage.outputs} outputs x (${F} inputs + ${u} state values), ternary: add/subtract/skip on 2-bit codes */`,
    `${I(2)}DM_LOOP(${stage.label}) for (o = 0; o < ${u}; o++) {`,
    `${I(3)}dm_acc_t ax = DM_ACC_ZERO, ah = DM_ACC_ZERO;`,
    `${I(3)}DM_LOOP(${stage.label}_x) for (i = 0; i < ${F}; i++) DM_TMAC(ax, DM_TMUL(${code(`dm_rtk_${id}`)}, DM_TCODE_AT(x[i], DM_TSEL(dm_rtxq_${id}, dm_rtx_${id})[i])), 1);`,
    `${I(3)}DM_LOOP(${stage.label}_h) for (i = 0; i < ${u}; i++) DM_TMAC(ah, DM_TMUL(${code(`dm_rtu_${id}`)}, DM_TCODE_AT(${b.h}[i], DM_TSEL(dm_rthq_${id}, dm_rth_${id})[i])), 1);`,
    '#if DM_FIXED',
    `${I(3)}{`,
    `${I(4)}int64_t y = dm_sext(ax, 64) * (int64_t)dm_rswq_${id}[${c}] + dm_sext(ah, 64) * (int64_t)dm_rsuq_${id}[${c}]${bias ? ` + dm_rbq_${id}[${c}]` : ''};`,
    `${I(4)}int32_t z = dm_requant(y, ${m}_S_FRAC, ${m}_O_BITS, ${m}_O_FRAC);`,
    `${I(4)}${dst}[o] = ${recurrentFixedActivation(a, 'z', m)};`,
    `${I(3)}}`,
    '#else',
    `${I(3)}{`,
    `${I(4)}float v = ax * dm_rsw_${id}[${c}] + ah * dm_rsu_${id}[${c}]${bias ? ` + dm_rb_${id}[${c}]` : ''};`,
    `${I(4)}${dst}[o] = ${floatActivation(a, 'v')};`,
    `${I(3)}}`,
    '#endif',
    `${I(2)}}`,
  ];
}

/** The cell update: the new state from the gates, and the output of this step. */
function cellUpdate(s: LayerSymbols, label: string, b: ReturnType<typeof recurrentBuffers>, u: number, T: number): string[] {
  const r = s.layer.recurrent!;
  const m = s.m;
  const G = b.gates;
  const L: string[] = [`${I(2)}/* cell update */`, `${I(2)}DM_LOOP(${label}) for (o = 0; o < ${u}; o++) {`];
  const act = (v: string) => floatActivation(r.activation, v);
  if (r.cell === 'lstm') {
    L.push('#if DM_FIXED');
    L.push(`${I(3)}${b.c}[o] = ${fromProduct(products([[`${G.f}[o]`, `${b.c}[o]`], [`${G.i}[o]`, `${G.c}[o]`]]), m)};`);
    L.push(`${I(3)}${b.h}[o] = ${fromProduct(products([[`${G.o}[o]`, recurrentFixedActivation(r.activation, `${b.c}[o]`, m)]]), m)};`);
    L.push('#else');
    L.push(`${I(3)}${b.c}[o] = ${G.f}[o] * ${b.c}[o] + ${G.i}[o] * ${G.c}[o];`);
    L.push(`${I(3)}${b.h}[o] = ${G.o}[o] * ${act(`${b.c}[o]`)};`);
    L.push('#endif');
  } else if (r.cell === 'gru') {
    L.push('#if DM_FIXED');
    // z·h + (1 - z)·hh = hh + z·(h - hh), exact at F = max(fo, 2·fo) (1 - z needs no integer 1 when fo < 0).
    L.push(`${I(3)}${b.h}[o] = dm_requant(dm_sext(dm_mul_mod(${G.h}[o], (int64_t)1 << ${m}_UF_H) + dm_mul_mod(${G.z}[o], (int64_t)${b.h}[o] - ${G.h}[o]) * ((uint64_t)1 << ${m}_UF_P), 64), ${m}_UF, ${m}_O_BITS, ${m}_O_FRAC);`);
    L.push('#else');
    L.push(`${I(3)}${b.h}[o] = ${G.z}[o] * ${b.h}[o] + (1.0f - ${G.z}[o]) * ${G.h}[o];`);
    L.push('#endif');
  } else {
    L.push(`${I(3)}${b.h}[o] = ${G.h}[o];`);
  }
  if (r.returnSequences) {
    // A standalone layer stores step t at t (Keras's processing order); Bidirectional's backward half reversed back.
    L.push(`${I(3)}out[${r.reverseOutput ? `(${T - 1} - t)` : 't'} * ${u} + o] = ${b.h}[o];`);
  }
  L.push(`${I(2)}}`);
  return L;
}
