/**
 * The C of ternary layers (ToT-Net), called by the C generator (src/cgen) for every layer that has
 * Layer.ternary. A ternary layer is self-contained in model.c:
 *  - its kernel is packed at 2 bits per weight with the sign-magnitude code of src/numerics/fixed.ts
 *    (00 = 0, 01 = +1, 11 = -1), four weights per byte, weight i in bits 2·(i mod 4)..+1 of byte
 *    i/4, in Keras's kernel order; in both weight-storage modes (2-bit codes are the compact form);
 *  - its per-filter scales α, biases and (ternary outputs) thresholds Δ are float masters quantized
 *    by dm_init (scale: Lnn_S_* format, saturating; bias: Lnn_B_* aligned to Lnn_P_FRAC + Lnn_S_FRAC;
 *    threshold θ = max(1, ceil(Δ·2^F))), as src/qmodel/apply.ts documents;
 *  - the MAC never multiplies: a weight code +1 adds the input, -1 subtracts it, 0 skips it. When the
 *    input is itself ternary (its producer's format is fixed<2,2>, tested by the preprocessor on the
 *    format macros), the product is the seed's 2-bit code product, O_MSB = W_MSB xor I_MSB,
 *    O_LSB = W_LSB and I_LSB, and the accumulator adds or subtracts 1;
 *  - after the loop: y = wrap(acc)·α_q + b_q, then the ternary comparison or one requantization and
 *    the activation. In float mode (DM_FIXED 0) the same loop adds and subtracts floats and
 *    y = α·acc + b.
 */
import type { Layer } from '../ir/types';
import { sizeOf } from '../ir/shapes';
import { flatIndex, mul, sum } from './expr';
import { fixedActivation, floatActivation, type LayerSymbols } from './layers';
import { bytesLiteral, floatsLiteral, packTernaryKernel } from './ternary-codes';

export { packTernaryKernel };

const I = (n: number) => '    '.repeat(n);

function loop(id: string, v: string, n: number, depth: number): string {
  return `${I(depth)}DM_LOOP(${id}_${v}) for (${v} = 0; ${v} < ${n}; ${v}++) {`;
}

function closeTo(from: number, to: number): string[] {
  const out: string[] = [];
  for (let d = from; d >= to; d--) out.push(`${I(d)}}`);
  return out;
}

export function isTernaryLayer(l: Layer): boolean {
  return !!l.ternary;
}

function channels(l: Layer): number {
  return l.outputShape[l.outputShape.length - 1];
}

/** Shared helpers, emitted once into model.c when the model has a ternary layer. */
export const TERNARY_RUNTIME_C = String.raw`
/* ---- ternary layers (ToT-Net): 2-bit sign-magnitude codes, 00 = 0, 01 = +1, 11 = -1 ---- */
#define DM_TCODE(packed, i) ((unsigned)((packed)[(i) >> 2] >> (((i) & 3) * 2)) & 3u)
/* the code of a ternary value x in {-1, 0, 1} */
#define DM_TCODE_OF(x) ((x) == 0 ? 0u : ((x) > 0 ? 1u : 3u))
/* the seed's 2-bit product: O_MSB = W_MSB xor I_MSB, O_LSB = W_LSB and I_LSB */
#define DM_TMUL(w, x) ((((w) ^ (x)) & 2u) | ((w) & (x) & 1u))
/* the code of v against a threshold th (>= 1 on stored integers; >= 0 in float): +1 if v >= th, -1 if v <= -th, else 0 (0 stays 0) */
#define DM_TCODE_AT(v, th) ((((v) > 0) && ((v) >= (th))) ? 1u : ((((v) < 0) && ((v) <= -(th))) ? 3u : 0u))
#if DM_FIXED
#define DM_TSEL(fixed, flt) fixed
#else
#define DM_TSEL(fixed, flt) flt
#endif
#if DM_FIXED
/* add, subtract or skip: code 01 adds x, 11 subtracts it, 00 (and 10) skip */
#define DM_TMAC(acc, code, x) do { unsigned dm_c_ = (code); if (dm_c_ == 1u) (acc) += (uint64_t)(int64_t)(x); else if (dm_c_ == 3u) (acc) -= (uint64_t)(int64_t)(x); } while (0)
static inline int64_t dm_tthreshold(float delta, int frac)
{
    double t = ceil(ldexp((double)delta, frac));
    return t < 1.0 ? 1 : (int64_t)t;
}
#else
#define DM_TMAC(acc, code, x) do { unsigned dm_c_ = (code); if (dm_c_ == 1u) (acc) += (x); else if (dm_c_ == 3u) (acc) -= (x); } while (0)
#endif
`;

/** Declarations of one ternary layer's data (model.c, before the loop nests). */
export function ternaryDeclarations(s: LayerSymbols): string[] {
  const l = s.layer;
  const c = channels(l);
  const sf = l.precision?.scale;
  if (!sf) throw new Error(`ternary layer '${l.name}' has no scale format (src/qmodel/apply.ts applyQuantization sets it)`);
  const packed = packTernaryKernel(l.weights.kernel!.data);
  const L: string[] = [
    `/* ${s.id}: ternary kernel [${l.weights.kernel!.shape.join('x')}], ${l.weights.kernel!.data.length} weights in ${packed.length} bytes */`,
    `#ifndef ${s.m}_S_BITS`,
    `#define ${s.m}_S_BITS ${sf.bits}`,
    '#endif',
    `#ifndef ${s.m}_S_INT`,
    `#define ${s.m}_S_INT ${sf.integer}`,
    '#endif',
    `#define ${s.m}_S_FRAC (${s.m}_S_BITS - ${s.m}_S_INT)`,
    `static const unsigned char dm_tk_${s.id}[${packed.length}] = {`,
    ...bytesLiteral(packed),
    '};',
    `static const float dm_ts_${s.id}[${c}] = {`,
    ...floatsLiteral(l.ternary!.scale),
    '};',
  ];
  if (hasBias(l)) L.push(`static const float dm_tb_${s.id}[${c}] = {`, ...floatsLiteral(l.weights.bias!.data), '};');
  if (l.activation.kind === 'ternary') L.push(`static const float dm_tt_${s.id}[${c}] = {`, ...floatsLiteral(l.activation.thresholds!), '};');
  L.push('#if DM_FIXED', `static int32_t dm_tsq_${s.id}[${c}];`);
  if (hasBias(l)) L.push(`static int64_t dm_tbq_${s.id}[${c}]; /* aligned to ${s.m}_P_FRAC + ${s.m}_S_FRAC */`);
  if (l.activation.kind === 'ternary') L.push(`static int64_t dm_ttq_${s.id}[${c}];`);
  L.push('#endif');
  return L;
}

function hasBias(l: Layer): boolean {
  return !!l.weights.bias && l.useBias !== false;
}

/** dm_init lines of one ternary layer (fixed point: quantize scale, bias, thresholds). */
export function ternaryInit(s: LayerSymbols): string[] {
  const l = s.layer;
  const c = channels(l);
  const F = `${s.m}_P_FRAC + ${s.m}_S_FRAC`;
  const L = ['#if DM_FIXED', '    {', '        long i;', `        for (i = 0; i < ${c}; i++) {`];
  L.push(`            dm_tsq_${s.id}[i] = dm_quantize(dm_ts_${s.id}[i], ${s.m}_S_BITS, ${s.m}_S_FRAC, 1);`);
  if (hasBias(l)) L.push(`            dm_tbq_${s.id}[i] = dm_align(dm_quantize(dm_tb_${s.id}[i], ${s.m}_B_BITS, ${s.m}_B_FRAC, DM_SATURATING), ${s.m}_B_FRAC, ${F});`);
  if (l.activation.kind === 'ternary') L.push(`            dm_ttq_${s.id}[i] = dm_tthreshold(dm_tt_${s.id}[i], ${F});`);
  L.push('        }', '    }', '#endif');
  return L;
}

/** The statements storing a finished ternary sum `acc` for output channel `co` into out[outIdx]. */
function finish(s: LayerSymbols, outIdx: string, co: string, depth: number): string[] {
  const l = s.layer;
  const a = l.activation;
  const F = `${s.m}_P_FRAC + ${s.m}_S_FRAC`;
  const bias = hasBias(l);
  const L = ['#if DM_FIXED', `${I(depth)}{`];
  L.push(`${I(depth + 1)}int64_t y = dm_sext(acc, ${s.m}_ACC_BITS) * (int64_t)dm_tsq_${s.id}[${co}]${bias ? ` + dm_tbq_${s.id}[${co}]` : ''};`);
  if (a.kind === 'ternary') {
    L.push(`${I(depth + 1)}out[${outIdx}] = y >= dm_ttq_${s.id}[${co}] ? 1 : (y <= -dm_ttq_${s.id}[${co}] ? -1 : 0);`);
  } else {
    L.push(`${I(depth + 1)}int32_t z = dm_requant(y, ${F}, ${s.m}_O_BITS, ${s.m}_O_FRAC);`);
    L.push(`${I(depth + 1)}out[${outIdx}] = ${fixedActivation(a, 'z', s.m)};`);
  }
  L.push(`${I(depth)}}`, '#else', `${I(depth)}{`);
  L.push(`${I(depth + 1)}float v = acc * dm_ts_${s.id}[${co}]${bias ? ` + dm_tb_${s.id}[${co}]` : ''};`);
  if (a.kind === 'ternary') {
    L.push(`${I(depth + 1)}float d = dm_tt_${s.id}[${co}];`);
    L.push(`${I(depth + 1)}out[${outIdx}] = (v > 0.0f && v >= d) ? 1.0f : ((v < 0.0f && -v >= d) ? -1.0f : 0.0f);`);
  } else {
    L.push(`${I(depth + 1)}out[${outIdx}] = ${floatActivation(a, 'v')};`);
  }
  L.push(`${I(depth)}}`, '#endif');
  return L;
}

/** MAC of kernel element `kidx` with input `x`: add/sub/skip, or the code product when the input is ternary. */
function mac(s: LayerSymbols, kidx: string, x: string, depth: number): string[] {
  const p = s.inputMacros[0];
  const code = `DM_TCODE(dm_tk_${s.id}, ${kidx})`;
  return [
    `#if DM_FIXED && ${p}_O_BITS == 2 && ${p}_O_INT == 2`,
    `${I(depth)}DM_TMAC(acc, DM_TMUL(${code}, DM_TCODE_OF(${x})), 1);`,
    '#else',
    `${I(depth)}DM_TMAC(acc, ${code}, ${x});`,
    '#endif',
  ];
}

function header(s: LayerSymbols): string[] {
  const l = s.layer;
  const desc = [`ternary ${l.type} '${l.name}'`, `[${l.inputShapes[0].join('x')}] -> [${l.outputShape.join('x')}]`];
  if (l.kernel) desc.push(`kernel ${l.kernel.join('x')}`);
  if (l.strides) desc.push(`stride ${l.strides.join('x')}`);
  if (l.padding) desc.push(l.padding);
  desc.push(`activation ${l.activation.kind}`);
  return [`/* ${s.id}: ${desc.join(', ')}; MAC = add/subtract/skip */`, `static void dm_${s.id}(const dm_act_t in[${sizeOf(l.inputShapes[0])}], dm_act_t out[${sizeOf(l.outputShape)}])`, '{'];
}

const ACC_ZERO = 'DM_ACC_ZERO';

function padBefore(n: number, k: number, st: number, d: number, padding: string): number {
  const span = (k - 1) * d + 1;
  if (padding === 'valid') return 0;
  if (padding === 'causal') return span - 1;
  const out = Math.ceil(n / st);
  return Math.floor(Math.max((out - 1) * st + span - n, 0) / 2);
}

/** The loop nest of a ternary dense, conv2d or depthwise_conv2d layer. */
export function emitTernaryLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const body: string[] = [];
  if (l.type === 'dense') {
    const x = l.inputShapes[0];
    const cin = x[x.length - 1], units = l.units!;
    const positions = sizeOf(x) / cin;
    body.push(`${I(1)}int ${positions > 1 ? 'p, ' : ''}o, i;`);
    let d = 1;
    if (positions > 1) body.push(loop(s.id, 'p', positions, d++));
    const p = positions > 1 ? 'p' : '0';
    body.push(loop(s.id, 'o', units, d));
    body.push(`${I(d + 1)}dm_acc_t acc = ${ACC_ZERO};`);
    body.push(`${I(d + 1)}DM_LOOP(${s.id}_i) for (i = 0; i < ${cin}; i++) {`);
    body.push(...mac(s, sum(mul('i', units), 'o'), `in[${sum(mul(p, cin), 'i')}]`, d + 2));
    body.push(`${I(d + 1)}}`);
    body.push(...finish(s, sum(mul(p, units), 'o'), 'o', d + 1));
    body.push(...closeTo(d, 1));
  } else if (l.type === 'conv2d' || l.type === 'depthwise_conv2d') {
    const depthwise = l.type === 'depthwise_conv2d';
    const [h, w, cin] = l.inputShapes[0];
    const [oh, ow, f] = l.outputShape;
    const mult = l.depthMultiplier ?? 1;
    const [kh, kw] = l.kernel!, [sh, sw] = l.strides!, [dh, dw] = l.dilation ?? [1, 1];
    const pt = padBefore(h, kh, sh, dh, l.padding!), pl = padBefore(w, kw, sw, dw, l.padding!);
    const check = l.padding !== 'valid';
    if (depthwise) body.push(`${I(1)}int oy, ox, c, ky, kx${mult > 1 ? ', m' : ''};`);
    else body.push(`${I(1)}int oy, ox, co, ky, kx, ci;`);
    body.push(loop(s.id, 'oy', oh, 1), loop(s.id, 'ox', ow, 2));
    let d = 3;
    let co: string, kidx: (ky: string, kx: string) => string;
    if (depthwise) {
      body.push(loop(s.id, 'c', cin, d++));
      if (mult > 1) body.push(loop(s.id, 'm', mult, d++));
      co = mult > 1 ? sum(mul('c', mult), 'm') : 'c';
      kidx = (ky, kx) => (mult > 1 ? flatIndex([ky, kx, 'c', 'm'], [kh, kw, cin, mult]) : flatIndex([ky, kx, 'c'], [kh, kw, cin]));
    } else {
      body.push(loop(s.id, 'co', f, d++));
      co = 'co';
      kidx = (ky, kx) => flatIndex([ky, kx, 'ci', 'co'], [kh, kw, cin, f]);
    }
    body.push(`${I(d)}dm_acc_t acc = ${ACC_ZERO};`);
    body.push(loop(s.id, 'ky', kh, d));
    body.push(`${I(d + 1)}int iy = ${sum(mul('oy', sh), mul('ky', dh), -pt)};`);
    if (check) body.push(`${I(d + 1)}if (iy < 0 || iy >= ${h}) continue;`);
    body.push(loop(s.id, 'kx', kw, d + 1));
    body.push(`${I(d + 2)}int ix = ${sum(mul('ox', sw), mul('kx', dw), -pl)};`);
    if (check) body.push(`${I(d + 2)}if (ix < 0 || ix >= ${w}) continue;`);
    if (depthwise) {
      body.push(...mac(s, kidx('ky', 'kx'), `in[${flatIndex(['iy', 'ix', 'c'], [h, w, cin])}]`, d + 2));
    } else {
      body.push(`${I(d + 2)}DM_LOOP(${s.id}_ci) for (ci = 0; ci < ${cin}; ci++) {`);
      body.push(...mac(s, kidx('ky', 'kx'), `in[${flatIndex(['iy', 'ix', 'ci'], [h, w, cin])}]`, d + 3));
      body.push(`${I(d + 2)}}`);
    }
    body.push(`${I(d + 1)}}`, `${I(d)}}`);
    body.push(...finish(s, flatIndex(['oy', 'ox', co], [oh, ow, f]), co, d));
    body.push(...closeTo(d - 1, 1));
  } else {
    throw new Error(`ternary ${l.type} layers have no C emitter (ternary: dense, conv2d, depthwise_conv2d)`);
  }
  return [...header(s), ...body, '}'];
}
