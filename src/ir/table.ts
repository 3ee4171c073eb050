/**
 * The layer table: DeepHLS's "extraction of the layers' information" (layer, type, padding,
 * filters, kernel, stride, activation, input shape, output shape), with parameter and
 * multiply-accumulate counts per layer.
 */
import type { Layer, ModelIR } from './types';
import { sizeOf } from './shapes';
import { isRecurrent, recurrentLoopNest } from './recurrent';

export interface LayerStats {
  params: number;
  macs: number;
}

export function layerStats(model: ModelIR): LayerStats[] {
  return model.layers.map((l) => {
    const params = Object.values(l.weights).reduce((a, t) => a + (t ? t.data.length : 0), 0);
    let macs = 0;
    const out = sizeOf(l.outputShape);
    const x = l.inputShapes[0];
    if (l.type === 'dense') macs = out * x[x.length - 1];
    else if (l.type === 'conv1d') macs = out * l.kernel![0] * x[x.length - 1];
    else if (l.type === 'conv2d') macs = out * l.kernel![0] * l.kernel![1] * x[x.length - 1];
    else if (l.type === 'depthwise_conv2d') macs = out * l.kernel![0] * l.kernel![1];
    else if (isRecurrent(l)) macs = recurrentLoopNest(l).macs;
    return { params, macs };
  });
}

export interface TableRow {
  index: number;
  layer: string;
  type: string;
  padding: string;
  filters: string;
  kernel: string;
  stride: string;
  activation: string;
  inputShape: string;
  outputShape: string;
  params: number;
  macs: number;
  loopNest: string;
}

function activationText(l: Layer): string {
  if (l.recurrent) {
    const r = l.recurrent;
    const flags = [r.returnSequences ? 'seq' : '', r.goBackwards ? 'backwards' : '', r.cell === 'gru' && r.resetAfter ? 'reset_after' : ''].filter(Boolean);
    return [r.activation.kind, ...(r.cell === 'simple_rnn' ? [] : [`rec:${r.recurrentActivation.kind}`]), ...flags].join(',');
  }
  const a = l.activation;
  if (a.kind === 'linear') return '-';
  const args: string[] = [];
  if (a.alpha !== undefined) args.push(`alpha=${+a.alpha.toPrecision(6)}`);
  if (a.theta !== undefined) args.push(`theta=${a.theta}`);
  if (a.maxValue !== undefined) args.push(`max=${a.maxValue}`);
  return args.length ? `${a.kind}(${args.join(',')})` : a.kind;
}

export function tableRows(model: ModelIR): TableRow[] {
  const stats = layerStats(model);
  return model.layers.map((l, i) => ({
    index: i,
    layer: l.name,
    type: l.type,
    padding: l.padding ?? (l.pads ? l.pads.map((p) => p.join('/')).join(',') : '-'),
    filters: String(l.filters ?? l.units ?? (l.depthMultiplier ? `x${l.depthMultiplier}` : '-')),
    kernel: l.kernel ? l.kernel.join('x') : l.pool ? l.pool.join('x') : '-',
    stride: l.strides ? l.strides.join('x') : '-',
    activation: activationText(l),
    inputShape: l.inputShapes.map((s) => s.join('x')).join(' + ') || '-',
    outputShape: l.outputShape.join('x'),
    params: stats[i].params,
    macs: stats[i].macs,
    loopNest: l.loopNest ?? '-',
  }));
}

/** The table as fixed-width text, one line per layer, with totals. */
export function formatLayerTable(model: ModelIR): string {
  const rows = tableRows(model);
  const head = ['#', 'layer', 'type', 'padding', 'filters', 'kernel', 'stride', 'activation', 'input shape', 'output shape', 'params', 'MACs'];
  const cells = rows.map((r) => [String(r.index), r.layer, r.type, r.padding, r.filters, r.kernel, r.stride, r.activation, r.inputShape, r.outputShape, String(r.params), String(r.macs)]);
  const totals = ['', 'total', '', '', '', '', '', '', '', '', String(rows.reduce((a, r) => a + r.params, 0)), String(rows.reduce((a, r) => a + r.macs, 0))];
  const all = [head, ...cells, totals];
  const widths = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c >= 10 ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), rule, ...cells.map(line), rule, line(totals)].join('\n');
}
