/**
 * The convolution gradient kernels the TensorFlow.js wasm backend lacks, built from forward ops it
 * has (conv2d / depthwiseConv2d with dilation and explicit padding, transpose, reshape, sum).
 *
 * Why kernels rather than tf.registerGradient('Conv2D'): tfjs-layers trains a Conv2D whose
 * activation is linear (before a BatchNormalization, or tanh applied after) through the fused
 * conv2d op, whose custom gradient calls the Conv2DBackpropFilter op directly and never consults
 * the gradient registry. Supplying the missing kernels for the wasm backend alone covers the fused
 * and the plain path and leaves cpu and tfjs-node on their own native kernels.
 *
 * The identities (NHWC, stride s, padding top/left from the forward convolution, dilation 1):
 *  - Conv2D filter gradient: dW[kh,kw,ci,co] = sum_{b,oh,ow} xpad[b, oh·s+kh, ow·s+kw, ci] · dy[b,oh,ow,co],
 *    i.e. a conv2d of x transposed to [Cin,H,W,B] with dy transposed to [OH,OW,B,Cout] as the
 *    filter, dilation = s, giving [Cin,KH,KW,Cout], transposed back to [KH,KW,Cin,Cout].
 *  - Depthwise filter gradient: the same with channels kept apart: x as one image of B·C
 *    channels, dy as a [OH,OW,B·C,M] depthwise filter, then summed over the batch.
 *  - Depthwise input gradient: dy with s-1 zeros inserted between samples, correlated with the
 *    180°-rotated filter (a stride-1 depthwise conv with the complementary padding).
 * (Conv2D's input gradient, Conv2DBackpropInput, exists in the wasm backend.)
 */
import * as tf from '@tensorflow/tfjs';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

function pair(v: number | [number, number] | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  return typeof v === 'number' ? [v, v] : v;
}

/** Zero-insertion: [B,OH,OW,C] -> [B,(OH-1)·sh+1,(OW-1)·sw+1,C] with sh-1 / sw-1 zeros between samples. */
function dilateSpatially(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [b, oh, ow, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [b, oh, 1, ow, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.slice(tf.reshape(spread, [b, oh * sh, ow * sw, c]) as tf.Tensor4D, [0, 0, 0, 0], [b, (oh - 1) * sh + 1, (ow - 1) * sw + 1, c]);
}

/**
 * The filter gradient of a (depthwise) convolution as a stride-1 convolution dilated by the
 * forward strides over the padded input; returns [outH, outW] >= the kernel, to be sliced.
 */
function gradPadding(h: number, w: number, kh: number, kw: number, oh: number, ow: number, sh: number, sw: number, pad: { top: number; left: number }): [[number, number], [number, number]] {
  // The last input row the forward pass read is (oh-1)·sh + kh - 1 - top; pad below only up to it.
  const bottom = Math.max(0, (oh - 1) * sh + kh - h - pad.top);
  const right = Math.max(0, (ow - 1) * sw + kw - w - pad.left);
  return [[pad.top, bottom], [pad.left, right]];
}

export function conv2dFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], strides: number | [number, number], pad: Pad, dimRoundingMode?: RoundingMode): tf.Tensor4D {
  return tf.tidy(() => {
    const [sh, sw] = pair(strides);
    const [kh, kw, cin, cout] = filterShape;
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, [sh, sw], [1, 1], pad, dimRoundingMode);
    const [ph, pw] = gradPadding(x.shape[1], x.shape[2], kh, kw, info.outHeight, info.outWidth, sh, sw, info.padInfo);
    const xT = tf.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, B]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, B, Cout]
    const g = tf.conv2d(xT, dyT, 1, [[0, 0], ph, pw, [0, 0]], 'NHWC', [sh, sw]); // [Cin, >=KH, >=KW, Cout]
    return tf.transpose(tf.slice(g, [0, 0, 0, 0], [cin, kh, kw, cout]), [1, 2, 0, 3]);
  });
}

export function depthwiseFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], strides: number | [number, number], pad: Pad, dilations?: number | [number, number], dimRoundingMode?: RoundingMode): tf.Tensor4D {
  return tf.tidy(() => {
    const [sh, sw] = pair(strides);
    const [dh, dw] = pair(dilations);
    if (dh !== 1 || dw !== 1) throw new Error('depthwise filter gradient: dilated depthwise convolutions are not supported');
    const [kh, kw, c, m] = filterShape;
    const [b, h, w] = x.shape;
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, [sh, sw], [1, 1], pad, dimRoundingMode, true);
    const [ph, pw] = gradPadding(h, w, kh, kw, info.outHeight, info.outWidth, sh, sw, info.padInfo);
    const xT = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, b * c]) as tf.Tensor4D; // one image, channel = b·C + c
    const dyT = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [info.outHeight, info.outWidth, b * c, m]) as tf.Tensor4D;
    const g = tf.depthwiseConv2d(xT, dyT, 1, [[0, 0], ph, pw, [0, 0]], 'NHWC', [sh, sw]); // [1, >=KH, >=KW, B·C·M]
    const k = tf.slice(g, [0, 0, 0, 0], [1, kh, kw, b * c * m]);
    return tf.sum(tf.reshape(k, [kh, kw, b, c, m]), 2) as tf.Tensor4D;
  });
}

export function depthwiseInputGradient(inputShape: [number, number, number, number], dy: tf.Tensor4D, filter: tf.Tensor4D, strides: number | [number, number], pad: Pad, dilations?: number | [number, number], dimRoundingMode?: RoundingMode): tf.Tensor4D {
  return tf.tidy(() => {
    const [sh, sw] = pair(strides);
    const [dh, dw] = pair(dilations);
    if (dh !== 1 || dw !== 1) throw new Error('depthwise input gradient: dilated depthwise convolutions are not supported');
    const [kh, kw, c, m] = filter.shape;
    const [b, h, w] = inputShape;
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, [sh, sw], [1, 1], pad, dimRoundingMode, true);
    const up = dilateSpatially(dy, sh, sw); // [B, (OH-1)·sh+1, (OW-1)·sw+1, C·M]
    const top = kh - 1 - info.padInfo.top, left = kw - 1 - info.padInfo.left;
    const bottom = h + kh - 1 - up.shape[1] - top, right = w + kw - 1 - up.shape[2] - left;
    const rotated = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
    const g = tf.depthwiseConv2d(up, rotated, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]); // [B, H, W, C·M]
    return (m === 1 ? g : tf.sum(tf.reshape(g, [b, h, w, c, m]), 4)) as tf.Tensor4D;
  });
}

let registered = false;

/** Registers the missing gradient kernels for the 'wasm' backend (idempotent). */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  registered = true;
  const missing = (name: string) => !tf.getKernel(name, 'wasm');
  if (missing('Conv2DBackpropFilter')) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs }) => {
        const { x, dy } = inputs as unknown as { x: tf.Tensor4D; dy: tf.Tensor4D };
        const a = attrs as unknown as { strides: [number, number]; pad: Pad; dataFormat: string; dimRoundingMode?: RoundingMode; filterShape: [number, number, number, number] };
        if (a.dataFormat && a.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${a.dataFormat}`);
        return conv2dFilterGradient(x, dy, a.filterShape, a.strides, a.pad, a.dimRoundingMode);
      },
    });
  }
  if (missing('DepthwiseConv2dNativeBackpropFilter')) {
    tf.registerKernel({
      kernelName: 'DepthwiseConv2dNativeBackpropFilter',
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs }) => {
        const { x, dy } = inputs as unknown as { x: tf.Tensor4D; dy: tf.Tensor4D };
        const a = attrs as unknown as { strides: [number, number]; pad: Pad; dilations: [number, number]; dimRoundingMode?: RoundingMode; filterShape: [number, number, number, number] };
        return depthwiseFilterGradient(x, dy, a.filterShape, a.strides, a.pad, a.dilations, a.dimRoundingMode);
      },
    });
  }
  if (missing('DepthwiseConv2dNativeBackpropInput')) {
    tf.registerKernel({
      kernelName: 'DepthwiseConv2dNativeBackpropInput',
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs }) => {
        const { dy, filter } = inputs as unknown as { dy: tf.Tensor4D; filter: tf.Tensor4D };
        const a = attrs as unknown as { strides: [number, number]; pad: Pad; dilations: [number, number]; dimRoundingMode?: RoundingMode; inputShape: [number, number, number, number] };
        return depthwiseInputGradient(a.inputShape, dy, filter, a.strides, a.pad, a.dilations, a.dimRoundingMode);
      },
    });
  }
}
