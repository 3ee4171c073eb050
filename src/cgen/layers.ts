/**
 * One C function per layer loop nest (emitConv2dLoopNest and friends). Every loop nest is written
 * once and works in both number modes: only the accumulator's start value and the final
 * "requantize + activation" step differ, in `#if DM_FIXED` blocks. Loops carry DM_LOOP(<id>_<var>)
 * labels (empty unless DM_HLS_LABELS is defined) so HLS directives can name them.
 */
import type { Activation, Layer } from '../ir/types';
import { concatAxis, padBefore, sizeOf } from '../ir/shapes';
import { doubleLiteral, flatIndex, floatLiteral, mul, sum } from './expr';
import { emitRecurrentLoopNest } from './recurrent';
import { floatActivation, type LayerSymbols } from './symbols';

export { floatActivation, type LayerSymbols };


const I = (n: number) => '    '.repeat(n);

function loop(id: string, v: string, n: number, depth: number): string {
  return `${I(depth)}DM_LOOP(${id}_${v}) for (${v} = 0; ${v} < ${n}; ${v}++) {`;
}

function close(from: number, to: number): string[] {
  const out: string[] = [];
  for (let d = from; d >= to; d--) out.push(`${I(d)}}`);
  return out;
}


/** Fixed-point activation of the int32 variable `z` (already in the layer's output format Lm_O_*). */
export function fixedActivation(a: Activation, z: string, m: string): string {
  const deq = `dm_dequantize(${z}, ${m}_O_FRAC)`;
  const table = (f: string) => `dm_quantize(${f}, ${m}_O_BITS, ${m}_O_FRAC, DM_SATURATING)`;
  let y: string;
  switch (a.kind) {
    case 'linear':
    case 'softmax':
      return z;
    case 'relu':
      y = `(${z} > 0 ? ${z} : 0)`;
      break;
    case 'leaky_relu':
      y = `(${z} < 0 ? ${table(`${doubleLiteral(a.alpha ?? 0.3)} * ${deq}`)} : ${z})`;
      break;
    case 'elu':
      y = `(${z} > 0 ? ${z} : ${table(`${doubleLiteral(a.alpha ?? 1)} * expm1(${deq})`)})`;
      break;
    case 'thresholded_relu':
      return `(${deq} > ${doubleLiteral(a.theta ?? 1)} ? ${z} : 0)`;
    case 'sigmoid':
      return table(`1.0 / (1.0 + exp(-${deq}))`);
    case 'tanh':
      return table(`tanh(${deq})`);
    case 'hard_sigmoid':
      return table(`dm_clamp01(${doubleLiteral(a.alpha ?? 0.2)} * ${deq} + 0.5)`);
    default:
      throw new Error(`activation ${a.kind} has no C implementation`);
  }
  if (a.maxValue !== undefined) y = `dm_min_i32(${y}, dm_c_${m}_max)`;
  return y;
}

/** The statements storing a finished sum: `acc` (float: plus bias `b`) -> out[idx]. */
function finishMac(s: LayerSymbols, outIdx: string, biasIdx: string, depth: number): string[] {
  const a = s.layer.activation;
  const fb = s.bias ? `acc + ${s.bias}[${biasIdx}]` : 'acc';
  return [
    '#if DM_FIXED',
    `${I(depth)}{`,
    `${I(depth + 1)}int32_t z = dm_requant(dm_sext(acc, ${s.m}_ACC_BITS), ${s.m}_P_FRAC, ${s.m}_O_BITS, ${s.m}_O_FRAC);`,
    `${I(depth + 1)}out[${outIdx}] = ${fixedActivation(a, 'z', s.m)};`,
    `${I(depth)}}`,
    '#else',
    `${I(depth)}{`,
    `${I(depth + 1)}float v = ${fb};`,
    `${I(depth + 1)}out[${outIdx}] = ${floatActivation(a, 'v')};`,
    `${I(depth)}}`,
    '#endif',
  ];
}

function accInit(s: LayerSymbols, biasIdx: string): string {
  return s.bias ? `DM_ACC_INIT(dm_bq_${s.id}[${biasIdx}])` : 'DM_ACC_ZERO';
}

/** Kernel element: the quantized copy in fixed mode, the float master otherwise. */
function k(s: LayerSymbols, idx: string): string {
  return `DM_KERNEL(${s.id}, ${s.kernel})[${idx}]`;
}

/** Softmax over the last axis of `out`, as a second loop nest of the same function. */
function softmaxNest(s: LayerSymbols, size: number, n: number): string[] {
  const g = size / n;
  const id = s.id;
  const out: string[] = [];
  const floatPart = [
    `${I(1)}DM_LOOP(${id}_softmax) for (g = 0; g < ${g}; g++) {`,
    `${I(2)}float mx = out[g * ${n}], total = 0.0f;`,
    `${I(2)}for (j = 1; j < ${n}; j++) if (out[g * ${n} + j] > mx) mx = out[g * ${n} + j];`,
    `${I(2)}for (j = 0; j < ${n}; j++) { out[g * ${n} + j] = expf(out[g * ${n} + j] - mx); total += out[g * ${n} + j]; }`,
    `${I(2)}for (j = 0; j < ${n}; j++) out[g * ${n} + j] /= total;`,
    `${I(1)}}`,
  ];
  out.push(`${I(1)}{`, `${I(1)}int g, j;`);
  if (s.isOutput) {
    // Fixed point outputs the logits here (argmax is unchanged; no exponentials in hardware).
    out.push('#if !DM_FIXED', ...floatPart, '#else', `${I(1)}(void)g; (void)j;`, '#endif');
  } else {
    out.push(
      '#if DM_FIXED',
      `${I(1)}DM_LOOP(${id}_softmax) for (g = 0; g < ${g}; g++) {`,
      `${I(2)}double mx = dm_dequantize(out[g * ${n}], ${s.m}_O_FRAC), total = 0.0;`,
      `${I(2)}for (j = 1; j < ${n}; j++) if (dm_dequantize(out[g * ${n} + j], ${s.m}_O_FRAC) > mx) mx = dm_dequantize(out[g * ${n} + j], ${s.m}_O_FRAC);`,
      `${I(2)}for (j = 0; j < ${n}; j++) total += exp(dm_dequantize(out[g * ${n} + j], ${s.m}_O_FRAC) - mx);`,
      `${I(2)}for (j = 0; j < ${n}; j++) out[g * ${n} + j] = dm_quantize(exp(dm_dequantize(out[g * ${n} + j], ${s.m}_O_FRAC) - mx) / total, ${s.m}_O_BITS, ${s.m}_O_FRAC, DM_SATURATING);`,
      `${I(1)}}`,
      '#else',
      ...floatPart,
      '#endif',
    );
  }
  out.push(`${I(1)}}`);
  return out;
}

function header(s: LayerSymbols, params: string): string[] {
  const l = s.layer;
  const desc = [`${l.type} '${l.name}'`, `[${l.inputShapes.map((x) => x.join('x')).join('], [')}] -> [${l.outputShape.join('x')}]`];
  if (l.kernel) desc.push(`kernel ${l.kernel.join('x')}`);
  if (l.pool) desc.push(`pool ${l.pool.join('x')}`);
  if (l.strides) desc.push(`stride ${l.strides.join('x')}`);
  if (l.dilation && l.dilation.some((d) => d !== 1)) desc.push(`dilation ${l.dilation.join('x')}`);
  if (l.padding) desc.push(l.padding);
  if (l.activation.kind !== 'linear') desc.push(l.activation.kind);
  return [`/* ${s.id}: ${desc.join(', ')} */`, `static void dm_${s.id}(${params})`, '{'];
}

function inParam(s: LayerSymbols, i = 0): string {
  return `const dm_act_t in${i === 0 && s.layer.inputs.length === 1 ? '' : i}[${sizeOf(s.layer.inputShapes[i])}]`;
}

function outParam(s: LayerSymbols): string {
  return `dm_act_t out[${sizeOf(s.layer.outputShape)}]`;
}

function withSoftmax(s: LayerSymbols, body: string[]): string[] {
  if (s.layer.activation.kind !== 'softmax') return body;
  const shape = s.layer.outputShape;
  return [...body, ...softmaxNest(s, sizeOf(shape), shape[shape.length - 1])];
}

/** `x` stored in input i's format -> this layer's output format (identity when equal). */
function convertInput(s: LayerSymbols, x: string, i = 0): string {
  return `dm_requant(${x}, ${s.inputMacros[i]}_O_FRAC, ${s.m}_O_BITS, ${s.m}_O_FRAC)`;
}

export function emitInputLoopNest(s: LayerSymbols, offset: number): string[] {
  const n = sizeOf(s.layer.outputShape);
  return [
    `/* ${s.id}: input '${s.layer.name}' [${s.layer.outputShape.join('x')}] (fixed point: quantized to ${s.m}_O) */`,
    `static void dm_${s.id}(const float *x, ${outParam(s)})`,
    '{',
    `${I(1)}int i;`,
    `${loop(s.id, 'i', n, 1)}`,
    '#if DM_FIXED',
    `${I(2)}out[i] = dm_quantize((double)x[i + ${offset}], ${s.m}_O_BITS, ${s.m}_O_FRAC, DM_SATURATING);`,
    '#else',
    `${I(2)}out[i] = x[i + ${offset}];`,
    '#endif',
    `${I(1)}}`,
    '}',
  ];
}

export function emitDenseLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const x = l.inputShapes[0];
  const cin = x[x.length - 1], units = l.units!;
  const positions = sizeOf(x) / cin;
  const body: string[] = [];
  const vars = positions > 1 ? 'p, o, i' : 'o, i';
  body.push(`${I(1)}int ${vars};`);
  let d = 1;
  if (positions > 1) body.push(loop(s.id, 'p', positions, d++));
  const p = positions > 1 ? 'p' : '0';
  body.push(loop(s.id, 'o', units, d));
  body.push(`${I(d + 1)}dm_acc_t acc = ${accInit(s, 'o')};`);
  body.push(`${I(d + 1)}DM_LOOP(${s.id}_i) for (i = 0; i < ${cin}; i++)`);
  body.push(`${I(d + 2)}DM_MAC(acc, ${k(s, sum(mul('i', units), 'o'))}, in[${sum(mul(p, cin), 'i')}]);`);
  body.push(...finishMac(s, sum(mul(p, units), 'o'), 'o', d + 1));
  body.push(...close(d, 1));
  return [...header(s, `${inParam(s)}, ${outParam(s)}`), ...withSoftmax(s, body), '}'];
}

export function emitConv1dLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const [len, cin] = l.inputShapes[0];
  const [olen, f] = l.outputShape;
  const [kk] = l.kernel!, [st] = l.strides!, [dl] = l.dilation!;
  const pad = padBefore(len, kk, st, dl, l.padding!);
  const needCheck = l.padding !== 'valid';
  const body = [`${I(1)}int ox, co, kx, ci;`];
  body.push(loop(s.id, 'ox', olen, 1), loop(s.id, 'co', f, 2));
  body.push(`${I(3)}dm_acc_t acc = ${accInit(s, 'co')};`);
  body.push(loop(s.id, 'kx', kk, 3));
  body.push(`${I(4)}int ix = ${sum(mul('ox', st), mul('kx', dl), -pad)};`);
  if (needCheck) body.push(`${I(4)}if (ix < 0 || ix >= ${len}) continue;`);
  body.push(`${I(4)}DM_LOOP(${s.id}_ci) for (ci = 0; ci < ${cin}; ci++)`);
  body.push(`${I(5)}DM_MAC(acc, ${k(s, flatIndex(['kx', 'ci', 'co'], [kk, cin, f]))}, in[${flatIndex(['ix', 'ci'], [len, cin])}]);`);
  body.push(`${I(3)}}`);
  body.push(...finishMac(s, flatIndex(['ox', 'co'], [olen, f]), 'co', 3));
  body.push(...close(2, 1));
  return [...header(s, `${inParam(s)}, ${outParam(s)}`), ...withSoftmax(s, body), '}'];
}

export function emitConv2dLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const [h, w, cin] = l.inputShapes[0];
  const [oh, ow, f] = l.outputShape;
  const [kh, kw] = l.kernel!, [sh, sw] = l.strides!, [dh, dw] = l.dilation!;
  const pt = padBefore(h, kh, sh, dh, l.padding!), pl = padBefore(w, kw, sw, dw, l.padding!);
  const needCheck = l.padding !== 'valid';
  const body = [`${I(1)}int oy, ox, co, ky, kx, ci;`];
  body.push(loop(s.id, 'oy', oh, 1), loop(s.id, 'ox', ow, 2), loop(s.id, 'co', f, 3));
  body.push(`${I(4)}dm_acc_t acc = ${accInit(s, 'co')};`);
  body.push(loop(s.id, 'ky', kh, 4));
  body.push(`${I(5)}int iy = ${sum(mul('oy', sh), mul('ky', dh), -pt)};`);
  if (needCheck) body.push(`${I(5)}if (iy < 0 || iy >= ${h}) continue;`);
  body.push(loop(s.id, 'kx', kw, 5));
  body.push(`${I(6)}int ix = ${sum(mul('ox', sw), mul('kx', dw), -pl)};`);
  if (needCheck) body.push(`${I(6)}if (ix < 0 || ix >= ${w}) continue;`);
  body.push(`${I(6)}DM_LOOP(${s.id}_ci) for (ci = 0; ci < ${cin}; ci++)`);
  body.push(`${I(7)}DM_MAC(acc, ${k(s, flatIndex(['ky', 'kx', 'ci', 'co'], [kh, kw, cin, f]))}, in[${flatIndex(['iy', 'ix', 'ci'], [h, w, cin])}]);`);
  body.push(`${I(5)}}`, `${I(4)}}`);
  body.push(...finishMac(s, flatIndex(['oy', 'ox', 'co'], [oh, ow, f]), 'co', 4));
  body.push(...close(3, 1));
  return [...header(s, `${inParam(s)}, ${outParam(s)}`), ...withSoftmax(s, body), '}'];
}

export function emitDepthwiseConv2dLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const [h, w, c] = l.inputShapes[0];
  const [oh, ow, oc] = l.outputShape;
  const mult = l.depthMultiplier ?? 1;
  const [kh, kw] = l.kernel!, [sh, sw] = l.strides!, [dh, dw] = l.dilation!;
  const pt = padBefore(h, kh, sh, dh, l.padding!), pl = padBefore(w, kw, sw, dw, l.padding!);
  const needCheck = l.padding !== 'valid';
  const body = [`${I(1)}int oy, ox, c, ky, kx${mult > 1 ? ', m' : ''};`];
  body.push(loop(s.id, 'oy', oh, 1), loop(s.id, 'ox', ow, 2), loop(s.id, 'c', c, 3));
  let d = 4;
  if (mult > 1) body.push(loop(s.id, 'm', mult, d++));
  const och = mult > 1 ? sum(mul('c', mult), 'm') : 'c';
  body.push(`${I(d)}dm_acc_t acc = ${accInit(s, och)};`);
  body.push(loop(s.id, 'ky', kh, d));
  body.push(`${I(d + 1)}int iy = ${sum(mul('oy', sh), mul('ky', dh), -pt)};`);
  if (needCheck) body.push(`${I(d + 1)}if (iy < 0 || iy >= ${h}) continue;`);
  body.push(`${I(d + 1)}DM_LOOP(${s.id}_kx) for (kx = 0; kx < ${kw}; kx++) {`);
  body.push(`${I(d + 2)}int ix = ${sum(mul('ox', sw), mul('kx', dw), -pl)};`);
  if (needCheck) body.push(`${I(d + 2)}if (ix < 0 || ix >= ${w}) continue;`);
  const kidx = mult > 1 ? flatIndex(['ky', 'kx', 'c', 'm'], [kh, kw, c, mult]) : flatIndex(['ky', 'kx', 'c'], [kh, kw, c]);
  body.push(`${I(d + 2)}DM_MAC(acc, ${k(s, kidx)}, in[${flatIndex(['iy', 'ix', 'c'], [h, w, c])}]);`);
  body.push(`${I(d + 1)}}`, `${I(d)}}`);
  body.push(...finishMac(s, flatIndex(['oy', 'ox', och], [oh, ow, oc]), och, d));
  body.push(...close(d - 1, 1));
  return [...header(s, `${inParam(s)}, ${outParam(s)}`), ...withSoftmax(s, body), '}'];
}

/** Max/average pooling over 1 or 2 spatial axes ("same" windows exclude the padding, as TensorFlow does). */
export function emitPoolLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const isMax = l.type.startsWith('max');
  const two = l.type.endsWith('2d');
  const x = l.inputShapes[0];
  const y = l.outputShape;
  const c = x[x.length - 1];
  const [h, w] = two ? [x[0], x[1]] : [1, x[0]];
  const [oh, ow] = two ? [y[0], y[1]] : [1, y[0]];
  const [ph, pw] = two ? l.pool! : [1, l.pool![0]];
  const [sh, sw] = two ? l.strides! : [1, l.strides![0]];
  const pt = two ? padBefore(h, ph, sh, 1, l.padding!) : 0;
  const pl = padBefore(w, pw, sw, 1, l.padding!);
  const needCheck = l.padding !== 'valid';
  const body = [`${I(1)}int ${two ? 'oy, ' : ''}ox, c, ${two ? 'ky, ' : ''}kx;`];
  let d = 1;
  if (two) body.push(loop(s.id, 'oy', oh, d++));
  body.push(loop(s.id, 'ox', ow, d++), loop(s.id, 'c', c, d++));
  const outIdx = two ? flatIndex(['oy', 'ox', 'c'], [oh, ow, c]) : flatIndex(['ox', 'c'], [ow, c]);
  if (isMax) body.push('#if DM_FIXED', `${I(d)}int32_t best = INT32_MIN;`, '#else', `${I(d)}float best = -HUGE_VALF;`, '#endif');
  else body.push('#if DM_FIXED', `${I(d)}int64_t total = 0;`, '#else', `${I(d)}float total = 0.0f;`, '#endif', `${I(d)}int count = 0;`);
  let kd = d;
  if (two) {
    body.push(loop(s.id, 'ky', ph, kd));
    body.push(`${I(kd + 1)}int iy = ${sum(mul('oy', sh), 'ky', -pt)};`);
    if (needCheck) body.push(`${I(kd + 1)}if (iy < 0 || iy >= ${h}) continue;`);
    kd++;
  }
  body.push(loop(s.id, 'kx', pw, kd));
  body.push(`${I(kd + 1)}int ix = ${sum(mul('ox', sw), 'kx', -pl)};`);
  if (needCheck) body.push(`${I(kd + 1)}if (ix < 0 || ix >= ${w}) continue;`);
  const inIdx = two ? flatIndex(['iy', 'ix', 'c'], [h, w, c]) : flatIndex(['ix', 'c'], [w, c]);
  if (isMax) body.push(`${I(kd + 1)}if (in[${inIdx}] > best) best = in[${inIdx}];`);
  else body.push(`${I(kd + 1)}total += in[${inIdx}];`, `${I(kd + 1)}count++;`);
  body.push(...close(kd, d));
  if (isMax) body.push('#if DM_FIXED', `${I(d)}out[${outIdx}] = ${convertInput(s, 'best')};`, '#else', `${I(d)}out[${outIdx}] = best;`, '#endif');
  else body.push('#if DM_FIXED', `${I(d)}out[${outIdx}] = dm_requant_div(total, ${s.inputMacros[0]}_O_FRAC, count, ${s.m}_O_BITS, ${s.m}_O_FRAC);`, '#else', `${I(d)}out[${outIdx}] = total / (float)count;`, '#endif');
  body.push(...close(d - 1, 1));
  return [...header(s, `${inParam(s)}, ${outParam(s)}`), ...body, '}'];
}

export function emitGlobalPoolLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const isMax = l.type.startsWith('global_max');
  const x = l.inputShapes[0];
  const c = x[x.length - 1];
  const positions = sizeOf(x) / c;
  const body = [`${I(1)}int c, p;`, loop(s.id, 'c', c, 1)];
  if (isMax) body.push('#if DM_FIXED', `${I(2)}int32_t best = INT32_MIN;`, '#else', `${I(2)}float best = -HUGE_VALF;`, '#endif');
  else body.push('#if DM_FIXED', `${I(2)}int64_t total = 0;`, '#else', `${I(2)}float total = 0.0f;`, '#endif');
  body.push(`${I(2)}DM_LOOP(${s.id}_p) for (p = 0; p < ${positions}; p++)`);
  body.push(isMax ? `${I(3)}if (in[${sum(mul('p', c), 'c')}] > best) best = in[${sum(mul('p', c), 'c')}];` : `${I(3)}total += in[${sum(mul('p', c), 'c')}];`);
  if (isMax) body.push('#if DM_FIXED', `${I(2)}out[c] = ${convertInput(s, 'best')};`, '#else', `${I(2)}out[c] = best;`, '#endif');
  else body.push('#if DM_FIXED', `${I(2)}out[c] = dm_requant_div(total, ${s.inputMacros[0]}_O_FRAC, ${positions}, ${s.m}_O_BITS, ${s.m}_O_FRAC);`, '#else', `${I(2)}out[c] = total / ${floatLiteral(positions)};`, '#endif');
  body.push(`${I(1)}}`);
  return [...header(s, `${inParam(s)}, ${outParam(s)}`), ...body, '}'];
}

export function emitZeroPadLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const two = l.type === 'zeropad2d';
  const x = l.inputShapes[0], y = l.outputShape;
  const c = x[x.length - 1];
  const pads = l.pads!;
  const body: string[] = [];
  if (two) {
    const [h, w] = x, [oh, ow] = y;
    body.push(`${I(1)}int oy, ox, c;`, loop(s.id, 'oy', oh, 1), loop(s.id, 'ox', ow, 2), loop(s.id, 'c', c, 3));
    body.push(`${I(4)}int iy = ${sum('oy', -pads[0][0])}, ix = ${sum('ox', -pads[1][0])};`);
    body.push(`${I(4)}int inside = iy >= 0 && iy < ${h} && ix >= 0 && ix < ${w};`);
    const o = flatIndex(['oy', 'ox', 'c'], [oh, ow, c]), i = flatIndex(['iy', 'ix', 'c'], [h, w, c]);
    body.push('#if DM_FIXED', `${I(4)}out[${o}] = inside ? ${convertInput(s, `in[${i}]`)} : 0;`, '#else', `${I(4)}out[${o}] = inside ? in[${i}] : 0.0f;`, '#endif');
    body.push(...close(3, 1));
  } else {
    const [len] = x, [olen] = y;
    body.push(`${I(1)}int ox, c;`, loop(s.id, 'ox', olen, 1), loop(s.id, 'c', c, 2));
    body.push(`${I(3)}int ix = ${sum('ox', -pads[0][0])};`);
    body.push(`${I(3)}int inside = ix >= 0 && ix < ${len};`);
    const o = flatIndex(['ox', 'c'], [olen, c]), i = flatIndex(['ix', 'c'], [len, c]);
    body.push('#if DM_FIXED', `${I(3)}out[${o}] = inside ? ${convertInput(s, `in[${i}]`)} : 0;`, '#else', `${I(3)}out[${o}] = inside ? in[${i}] : 0.0f;`, '#endif');
    body.push(...close(2, 1));
  }
  return [...header(s, `${inParam(s)}, ${outParam(s)}`), ...body, '}'];
}

export function emitAddLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const n = sizeOf(l.outputShape);
  const ins = l.inputs.map((_, i) => inParam(s, i)).join(', ');
  const fmax = s.inputMacros.map((m) => `${m}_O_FRAC`).reduce((a, b) => `DM_MAX(${a}, ${b})`);
  const body = [`${I(1)}int i;`, loop(s.id, 'i', n, 1)];
  body.push('#if DM_FIXED', `${I(2)}{`);
  body.push(`${I(3)}int64_t total = ${s.inputMacros.map((m, i) => `dm_align_up(in${i}[i], ${fmax} - ${m}_O_FRAC)`).join(' + ')};`);
  body.push(`${I(3)}int32_t z = dm_requant(total, ${fmax}, ${s.m}_O_BITS, ${s.m}_O_FRAC);`);
  body.push(`${I(3)}out[i] = ${fixedActivation(l.activation, 'z', s.m)};`, `${I(2)}}`);
  body.push('#else', `${I(2)}{`, `${I(3)}float v = ${l.inputs.map((_, i) => `in${i}[i]`).join(' + ')};`, `${I(3)}out[i] = ${floatActivation(l.activation, 'v')};`, `${I(2)}}`, '#endif');
  body.push(`${I(1)}}`);
  return [...header(s, `${ins}, ${outParam(s)}`), ...withSoftmax(s, body), '}'];
}

/**
 * Average (Keras Average, Bidirectional ave): fixed point sums the inputs exactly at the largest
 * input frac and divides by their count with one rounding (dm_requant_div).
 */
export function emitAverageLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const n = sizeOf(l.outputShape);
  const ins = l.inputs.map((_, i) => inParam(s, i)).join(', ');
  const fmax = s.inputMacros.map((m) => `${m}_O_FRAC`).reduce((a, b) => `DM_MAX(${a}, ${b})`);
  const body = [`${I(1)}int i;`, loop(s.id, 'i', n, 1)];
  body.push('#if DM_FIXED', `${I(2)}{`);
  body.push(`${I(3)}int64_t total = ${s.inputMacros.map((m, i) => `dm_align_up(in${i}[i], ${fmax} - ${m}_O_FRAC)`).join(' + ')};`);
  body.push(`${I(3)}out[i] = dm_requant_div(total, ${fmax}, ${l.inputs.length}, ${s.m}_O_BITS, ${s.m}_O_FRAC);`, `${I(2)}}`);
  body.push('#else', `${I(2)}out[i] = (${l.inputs.map((_, i) => `in${i}[i]`).join(' + ')}) / ${floatLiteral(l.inputs.length)};`, '#endif');
  body.push(`${I(1)}}`);
  return [...header(s, `${ins}, ${outParam(s)}`), ...body, '}'];
}

/**
 * Multiply (Keras Multiply, Bidirectional mul): fixed point multiplies two stored values exactly
 * (frac fa + fb) and requantizes the product once to the output format; more inputs fold left,
 * each product requantized to the output format.
 */
export function emitMultiplyLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const n = sizeOf(l.outputShape);
  const ins = l.inputs.map((_, i) => inParam(s, i)).join(', ');
  const body = [`${I(1)}int i;`, loop(s.id, 'i', n, 1)];
  body.push('#if DM_FIXED', `${I(2)}{`);
  let frac = `${s.inputMacros[0]}_O_FRAC`;
  body.push(`${I(3)}int32_t p = in0[i];`);
  l.inputs.slice(1).forEach((_, j) => {
    body.push(`${I(3)}p = dm_requant((int64_t)p * in${j + 1}[i], ${frac} + ${s.inputMacros[j + 1]}_O_FRAC, ${s.m}_O_BITS, ${s.m}_O_FRAC);`);
    frac = `${s.m}_O_FRAC`;
  });
  body.push(`${I(3)}out[i] = p;`, `${I(2)}}`);
  body.push('#else', `${I(2)}out[i] = ${l.inputs.map((_, i) => `in${i}[i]`).join(' * ')};`, '#endif');
  body.push(`${I(1)}}`);
  return [...header(s, `${ins}, ${outParam(s)}`), ...body, '}'];
}

export function emitConcatenateLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const y = l.outputShape;
  const axis = concatAxis(l.axis ?? -1, y.length);
  const outer = sizeOf(y.slice(0, axis));
  const inner = sizeOf(y.slice(axis + 1));
  const ins = l.inputs.map((_, i) => inParam(s, i)).join(', ');
  const body = [`${I(1)}int o, j;`];
  const total = y[axis] * inner;
  let offset = 0;
  l.inputShapes.forEach((x, i) => {
    const part = x[axis] * inner;
    body.push(`${I(1)}DM_LOOP(${s.id}_o${i}) for (o = 0; o < ${outer}; o++)`);
    body.push(`${I(2)}DM_LOOP(${s.id}_j${i}) for (j = 0; j < ${part}; j++)`);
    const dst = `out[${sum(mul('o', total), offset, 'j')}]`;
    const src = `in${i}[${sum(mul('o', part), 'j')}]`;
    body.push('#if DM_FIXED', `${I(3)}${dst} = ${convertInput(s, src, i)};`, '#else', `${I(3)}${dst} = ${src};`, '#endif');
    offset += part;
  });
  return [...header(s, `${ins}, ${outParam(s)}`), ...body, '}'];
}

export function emitActivationLoopNest(s: LayerSymbols): string[] {
  const l = s.layer;
  const n = sizeOf(l.outputShape);
  const body = [`${I(1)}int i;`, loop(s.id, 'i', n, 1)];
  body.push('#if DM_FIXED', `${I(2)}{`, `${I(3)}int32_t z = ${convertInput(s, 'in[i]')};`, `${I(3)}out[i] = ${fixedActivation(l.activation, 'z', s.m)};`, `${I(2)}}`);
  body.push('#else', `${I(2)}{`, `${I(3)}float v = in[i];`, `${I(3)}out[i] = ${floatActivation(l.activation, 'v')};`, `${I(2)}}`, '#endif');
  body.push(`${I(1)}}`);
  return [...header(s, `${inParam(s)}, ${outParam(s)}`), ...withSoftmax(s, body), '}'];
}

export function emitLoopNest(s: LayerSymbols): string[] {
  switch (s.layer.type) {
    case 'dense':
      return emitDenseLoopNest(s);
    case 'conv1d':
      return emitConv1dLoopNest(s);
    case 'conv2d':
      return emitConv2dLoopNest(s);
    case 'depthwise_conv2d':
      return emitDepthwiseConv2dLoopNest(s);
    case 'maxpool1d':
    case 'maxpool2d':
    case 'avgpool1d':
    case 'avgpool2d':
      return emitPoolLoopNest(s);
    case 'global_avgpool1d':
    case 'global_avgpool2d':
    case 'global_maxpool1d':
    case 'global_maxpool2d':
      return emitGlobalPoolLoopNest(s);
    case 'zeropad1d':
    case 'zeropad2d':
      return emitZeroPadLoopNest(s);
    case 'add':
      return emitAddLoopNest(s);
    case 'average':
      return emitAverageLoopNest(s);
    case 'multiply':
      return emitMultiplyLoopNest(s);
    case 'concatenate':
      return emitConcatenateLoopNest(s);
    case 'activation':
      return emitActivationLoopNest(s);
    case 'lstm':
    case 'gru':
    case 'simple_rnn':
      return emitRecurrentLoopNest(s);
  }
  throw new Error(`no loop nest for layer type ${s.layer.type}`);
}
