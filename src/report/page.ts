/**
 * The project page (dist/report/index.html): the whole flow on one static page, built from the
 * stages' reports alone (each dist/<stage>/report.json and the SVG figures the stages write).
 *
 * A plain function: reports in, HTML out; nothing here reads files (see stage.ts). The page works
 * from file:// with no network: the stages' figures are inlined as data: images (an SVG inside
 * <img> runs no script and cannot restyle the page), the page's own figures are inline SVG, and a
 * Content-Security-Policy forbids anything else. Every string taken from a report is escaped.
 *
 * Stages may be skipped (nas and train when the spec starts from a model) or missing (a flow that
 * stopped before the hardware, a float model with no hardware): each section then says so, and the
 * page is still written.
 */
import { lineChartSvg, resourceBarsSvg, type ResourceBar, type Series } from './charts';

/** The stages the page shows, in flow order. */
export const PAGE_STAGES = ['data', 'nas', 'train', 'convert', 'verify', 'dse', 'rtl', 'sim', 'synth', 'bitstream'] as const;
export type PageStage = (typeof PAGE_STAGES)[number];

/** What was found of one stage's output. */
export interface StageOutput {
  /** report.json, parsed; absent when the stage has not run (or its report could not be read). */
  report?: Record<string, unknown>;
  /** Why report.json could not be read (it exists but is not a JSON object). */
  problem?: string;
  /** The stage's SVG figures by file name. */
  figures: Record<string, string>;
}

export interface PageInput {
  /** The project's name (the spec's `name`). */
  project: string;
  stages: Partial<Record<PageStage, StageOutput>>;
  /** Link to each report from the page (default `../<stage>/report.json`, beside dist/report). */
  reportHref?: (stage: string) => string;
}

// ---- formatting -------------------------------------------------------------------------------

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(v: unknown): string {
  return String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
const esc = escapeHtml;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** The value at a dotted path, or undefined. */
function at(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split('.')) v = isObj(v) ? v[k] : undefined;
  return v;
}
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const DASH = '–';
/** An integer with thousands separators. */
function int(v: unknown): string {
  return isNum(v) ? Math.round(v).toLocaleString('en-US') : DASH;
}
/** A number with up to `digits` decimals (trailing zeros dropped). */
function num(v: unknown, digits = 2): string {
  return isNum(v) ? (+v.toFixed(digits)).toLocaleString('en-US', { maximumFractionDigits: digits }) : DASH;
}
function pct(v: unknown, digits = 2): string {
  return isNum(v) ? `${(v * 100).toFixed(digits)}%` : DASH;
}
function text(v: unknown): string {
  if (v === undefined || v === null || v === '') return DASH;
  if (Array.isArray(v)) return esc(v.map((x) => (isObj(x) || Array.isArray(x) ? JSON.stringify(x) : String(x))).join(', '));
  if (isObj(v)) return esc(JSON.stringify(v));
  return esc(v);
}
const shape = (v: unknown) => (Array.isArray(v) ? esc(v.join('×')) : DASH);
const fmtFormat = (f: unknown) => (isObj(f) && isNum(f.bits) ? esc(`fixed<${f.bits},${f.integer}>`) : text(f));

// ---- building blocks --------------------------------------------------------------------------

/** A two-column table of label -> already escaped HTML. */
function facts(rows: [string, string][]): string {
  const body = rows.filter(([, v]) => v !== DASH).map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${v}</td></tr>`);
  return body.length ? `<table class="facts">${body.join('')}</table>` : '';
}

/** A table: header labels, rows of already escaped cells; `highlight` marks rows. */
function table(head: string[], rows: string[][], opts: { numeric?: number[]; highlight?: (i: number) => boolean; caption?: string } = {}): string {
  const numeric = new Set(opts.numeric ?? []);
  const th = head.map((h, i) => `<th scope="col"${numeric.has(i) ? ' class="n"' : ''}>${esc(h)}</th>`).join('');
  const tr = rows.map((r, i) => `<tr${opts.highlight?.(i) ? ' class="hl"' : ''}>${r.map((c, j) => `<td${numeric.has(j) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`);
  return `<div class="scroll"><table class="data">${opts.caption ? `<caption>${esc(opts.caption)}</caption>` : ''}<thead><tr>${th}</tr></thead><tbody>${tr.join('')}</tbody></table></div>`;
}

/** One of the stages' SVG files, inlined as a data: image, with a link to the file itself. */
function stageFigure(out: StageOutput | undefined, stage: string, file: string, id: string, caption: string): string {
  const svg = out?.figures[file];
  if (svg === undefined) return `<p class="note">No ${esc(file)} in dist/${esc(stage)}.</p>`;
  const src = `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
  return `<figure data-figure="${esc(id)}"><img src="${src}" alt="${esc(caption)}"><figcaption>${esc(caption)} <a href="../${esc(stage)}/${esc(file)}">${esc(`dist/${stage}/${file}`)}</a></figcaption></figure>`;
}

/** A figure the page draws (inline SVG). */
function ownFigure(id: string, svg: string, caption: string): string {
  return `<figure data-figure="${esc(id)}">${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

type Status = 'done' | 'skipped' | 'missing' | 'unreadable';
function statusOf(out: StageOutput | undefined): Status {
  if (!out?.report) return out?.problem ? 'unreadable' : 'missing';
  return out.report.skipped === true ? 'skipped' : 'done';
}

/** The note a section shows instead of its content when its stage did not run. */
function absence(stage: string, out: StageOutput | undefined): string | undefined {
  const s = statusOf(out);
  if (s === 'done') return undefined;
  if (s === 'skipped') return `<p class="note skipped">The ${esc(stage)} stage was skipped: ${text(out!.report!.reason)}.</p>`;
  if (s === 'unreadable') return `<p class="note missing">dist/${esc(stage)}/report.json could not be read: ${esc(out!.problem)}. Rerun the ${esc(stage)} stage.</p>`;
  return `<p class="note missing">The ${esc(stage)} stage has not run: there is no dist/${esc(stage)}/report.json.</p>`;
}

interface Section {
  id: string;
  title: string;
  stages: PageStage[];
  body: string;
}

function section(s: Section, href: (stage: string) => string): string {
  const links = s.stages.map((st) => `<a class="rep" href="${esc(href(st))}">${esc(st)}/report.json</a>`).join(' ');
  return `<section id="${esc(s.id)}" data-section="${esc(s.id)}"><h2>${esc(s.title)}</h2><p class="reports">From ${links}</p>${s.body}</section>`;
}

// ---- sections ---------------------------------------------------------------------------------

function dataSection(out: StageOutput | undefined): string {
  const missing = absence('data', out);
  if (missing) return missing;
  const r = out!.report!;
  const classes = isNum(r.classes) ? r.classes : 0;
  const names = arr(r.classNames).map(String);
  const counts = at(r, 'counts');
  const parts = [
    facts([
      ['dataset', text(r.dataset)],
      ['sample shape', shape(r.shape)],
      ['classes', `${int(r.classes)}${names.length ? ` (${esc(names.slice(0, 12).join(', '))}${names.length > 12 ? ', …' : ''})` : ''}`],
      ['normalisation', text(r.normalize)],
      ['validation split', `${pct(r.validationSplit, 0)} of the training files (${text(r.splitMethod)}, seed ${text(r.seed)})`],
      ['raw type', text(r.rawType)],
      ['dropped', r.dropped === undefined ? DASH : text(r.dropped)],
      ['sources', text([...arr(at(r, 'sources.train')), ...arr(at(r, 'sources.test'))])],
    ]),
  ];
  const splits = ['train', 'validation', 'test'];
  const cc = at(r, 'classCounts');
  if (classes > 0 && classes <= 40 && isObj(cc)) {
    parts.push(
      table(
        ['split', 'samples', ...Array.from({ length: classes }, (_, k) => `class ${names[k] ?? k}`)],
        splits.map((s) => [esc(s), int(at(counts, s)), ...Array.from({ length: classes }, (_, k) => int(arr(cc[s])[k]))]),
        { numeric: Array.from({ length: classes + 1 }, (_, i) => i + 1), caption: 'samples per split and per class' },
      ),
    );
  } else {
    parts.push(table(['split', 'samples'], splits.map((s) => [esc(s), int(at(counts, s))]), { numeric: [1] }));
  }
  return parts.join('\n');
}

function searchSection(out: StageOutput | undefined): string {
  const missing = absence('nas', out);
  if (missing) return missing;
  const r = out!.report!;
  const sel = isObj(r.selected) ? r.selected : {};
  const objectives = arr(r.objectives).map(String);
  const extra = objectives.filter((o) => !['error', 'params', 'macs', 'weightBits'].includes(o));
  const pareto = arr(r.pareto).filter(isObj);
  const parts = [
    facts([
      ['algorithm', `${text(r.algorithm)} over the ${text(r.space)} space`],
      ['objectives', text(objectives)],
      ['constraints', text(arr(r.constraints).filter(isObj).map((c) => `${c.objective} ≤ ${c.limit}`))],
      ['population × generations', `${int(r.population)} × ${int(r.generations)}`],
      ['candidates', `${int(r.candidates)} (${int(r.feasible)} feasible)`],
      ['trainings', `${int(r.evaluations)} (${int(r.cacheHits)} from the store, ${int(r.trained)} run)`],
      ['fidelity', isObj(r.fidelity) ? esc(`${arr(r.fidelity.epochs).join('/')} epochs on ${r.fidelity.subset} samples, promote ${r.fidelity.promote}`) : DASH],
      ['wall time', isNum(r.wallSeconds) ? `${num(r.wallSeconds, 1)} s` : DASH],
      ['hypervolume', arr(r.hypervolume).length ? `${num(arr(r.hypervolume)[0], 4)} → ${num(arr(r.hypervolume).at(-1), 4)}` : DASH],
    ]),
    stageFigure(out, 'nas', 'pareto.svg', 'nas-pareto', 'Validation error against parameters and MACs: every trained candidate, the Pareto set, the selected network.'),
    stageFigure(out, 'nas', 'hypervolume.svg', 'nas-hypervolume', 'Hypervolume of the Pareto set per generation.'),
    `<h3>The selected network</h3>`,
    facts([
      ['id', text(sel.id)],
      ['rule', text(r.select)],
      ['layers', text(sel.description)],
      ['validation error', `${pct(sel.error)} (after ${text(sel.epochs)} epochs on ${int(sel.subset)} samples)`],
      ['params', int(sel.params)],
      ['MACs per inference', int(sel.macs)],
      ['weight bits', int(sel.weightBits)],
    ]),
    `<h3>Pareto set (${pareto.length})</h3>`,
    table(
      ['id', 'validation error', 'params', 'MACs', 'weight bits', ...extra, 'generation', 'layers'],
      pareto.map((p) => [text(p.id), pct(p.error), int(p.params), int(p.macs), int(p.weightBits), ...extra.map((o) => int(at(p, `values.${o}`))), int(isNum(p.generation) ? p.generation + 1 : undefined), text(p.description)]),
      { numeric: [1, 2, 3, 4, ...extra.map((_, i) => 5 + i), 5 + extra.length], highlight: (i) => pareto[i].id === sel.id },
    ),
  ];
  return parts.join('\n');
}

/** Training curves: the float training's history, then the quantization-aware fine-tuning's. */
function curves(r: Obj): string {
  const hist = arr(r.history).filter(isObj);
  const fine = arr(at(r, 'quantization.history')).filter(isObj);
  if (!hist.length && !fine.length) return '<p class="note">The train report has no per-epoch history.</p>';
  const n = hist.length;
  const series = (key: string, name: string, color: string, dashed: boolean, rows: Obj[], offset: number): Series => ({
    name,
    color,
    dashed,
    points: rows.map((h, i): [number, number] => [isNum(h.epoch) ? h.epoch + offset : i + 1 + offset, h[key] as number]).filter((p) => isNum(p[1])),
  });
  const make = (key: string, vkey: string) => {
    const s = [series(key, 'training', '#2a6fdb', false, hist, 0), series(vkey, 'validation', '#e67e22', false, hist, 0)];
    if (fine.length) s.push(series(key, 'training (fine-tuning)', '#2a6fdb', true, fine, n), series(vkey, 'validation (fine-tuning)', '#e67e22', true, fine, n));
    return s.filter((x) => x.points.length);
  };
  const markers = fine.length && n ? [{ x: n + 0.5, label: `${at(r, 'quantization.mode') ?? 'quantized'} fine-tuning` }] : [];
  const loss = lineChartSvg({ title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'cross-entropy loss', series: make('loss', 'validationLoss'), yMin: 0, markers });
  const acc = lineChartSvg({ title: 'Accuracy per epoch', xLabel: 'epoch', yLabel: 'accuracy', series: make('accuracy', 'validationAccuracy'), yTick: (v) => `${+(v * 100).toPrecision(3)}%`, markers });
  return `<div class="pair">${ownFigure('train-loss', loss, 'Training and validation loss.')}${ownFigure('train-accuracy', acc, 'Training and validation accuracy.')}</div>`;
}

function trainSection(out: StageOutput | undefined): string {
  const missing = absence('train', out);
  if (missing) return missing;
  const r = out!.report!;
  const q = isObj(r.quantization) ? r.quantization : undefined;
  const layers = arr(r.layers).filter(isObj);
  return [
    facts([
      ['architecture from', r.architectureSource === 'nas' ? 'the search (dist/nas/selected.json)' : r.architectureSource === 'spec' ? 'the spec (train.architecture)' : text(r.architectureSource)],
      [q ? 'test accuracy (quantized)' : 'test accuracy', pct(r.testAccuracy)],
      [q ? 'validation accuracy (quantized)' : 'validation accuracy', pct(r.validationAccuracy)],
      ['params', int(r.params)],
      ['MACs per inference', int(r.macs)],
      ['stored weights (BatchNorm folded)', int(r.weights)],
      ['epochs', `${int(r.epochs)} (best ${int(r.bestEpoch)}${r.stoppedEarly === true ? ', stopped early' : ''}) on ${int(r.trainSamples)} samples`],
      ['backend', `${text(r.backendDetail ?? r.backend)}, ${num(r.imagesPerSecond, 0)} images/s`],
      ['time', isNum(r.seconds) ? `${num(r.seconds, 1)} s` : DASH],
    ]),
    curves(r),
    layers.length
      ? table(
          ['layer', 'type', 'output shape', 'params', 'MACs', 'stored weights'],
          layers.map((l) => [text(l.name), text(l.type), shape(l.outputShape), int(l.params), int(l.macs), int(l.weights)]),
          { numeric: [3, 4, 5], caption: 'the trained network' },
        )
      : '',
  ].join('\n');
}

function quantSection(train: StageOutput | undefined, verify: StageOutput | undefined, convert: StageOutput | undefined): string {
  const parts: string[] = [];
  const t = train?.report;
  const q = t && isObj(t.quantization) ? t.quantization : undefined;
  const c = convert?.report;
  const cFacts: [string, string][] = c ? [['C number format', `${text(c.format)}: ${text(c.numberFormat)}`]] : [];
  parts.push('<h3>Quantization-aware training</h3>');
  if (q) {
    const lw = at(q, 'layerWeights');
    parts.push(
      facts([
        ['mode', text(q.mode)],
        ['weights', isObj(lw) ? esc(Object.entries(lw).map(([k, f]) => `${k} ${isObj(f) ? `fixed<${f.bits},${f.integer}>` : ''}`).join(', ')) : fmtFormat(q.weights)],
        ['activations', fmtFormat(q.activations)],
        ['ternary', isObj(q.ternary) ? text(q.ternary) : DASH],
        ['fine-tuning', `${int(q.fineTuneEpochs)} epochs${q.batchNormFolded === true ? ', BatchNorm folded first' : ''}`],
        ['test accuracy', `float ${pct(at(q, 'float.testAccuracy'))} → quantized ${pct(at(q, 'quantized.testAccuracy'))} (${isNum(q.testAccuracyDeltaPoints) ? `${q.testAccuracyDeltaPoints >= 0 ? '+' : ''}${num(q.testAccuracyDeltaPoints)} points` : DASH})`],
        ['weight memory', isObj(t!.weightMemory) ? `${int(at(t, 'weightMemory.total'))} bits of ${int(at(t, 'weightMemory.ebrBits'))} EBR bits (${at(t, 'weightMemory.fits') === true ? 'fits' : 'does not fit'})` : DASH],
        ['sparsity', isObj(t!.sparsity) ? `weights ${pct(at(t, 'sparsity.weights'), 1)}, activations ${pct(at(t, 'sparsity.activations'), 1)}` : DASH],
        ...cFacts,
      ]),
    );
  } else {
    parts.push(t && t.skipped !== true ? '<p class="note">The network was trained in floating point (quantize.mode: float); the converter chose the C\'s number formats.</p>' : (absence('train', train) ?? ''));
    parts.push(facts(cFacts));
  }
  parts.push('<h3>Precision sweep of the C model</h3>');
  const missing = absence('verify', verify);
  if (missing) {
    parts.push(missing);
    return parts.join('\n');
  }
  const v = verify!.report!;
  const sweep = arr(v.sweep).filter(isObj);
  const fixedBits = at(v, 'fixed.knobs.activations.bits');
  parts.push(
    stageFigure(verify, 'verify', 'precision-sweep.svg', 'verify-sweep', 'Accuracy of the fixed-point C at each total width, against float.'),
    table(
      ['bits', 'weights', 'biases', 'activations', 'accuracy', 'top-1 agreement'],
      sweep.map((s) => [int(s.bits), text(s.weights), text(s.biases), text(s.activations), pct(s.accuracy), pct(s.top1Agreement)]),
      { numeric: [0, 4, 5], highlight: (i) => sweep[i].bits === fixedBits, caption: `on ${at(v, 'samples') ?? '?'} test samples${isObj(v.sweepSearch) ? `; integer bits chosen on ${at(v, 'sweepSearch.samples')} ${at(v, 'sweepSearch.on')} samples` : ''}` },
    ),
  );
  return parts.join('\n');
}

function convertSection(out: StageOutput | undefined): string {
  const missing = absence('convert', out);
  if (missing) return missing;
  const r = out!.report!;
  const rows = arr(r.layers).filter(isObj);
  return [
    facts([
      ['source', `${text(at(r, 'source.file'))} (${text(at(r, 'source.format'))}${at(r, 'source.kerasVersion') ? `, ${text(at(r, 'source.kerasVersion'))}` : ''})`],
      ['C', `${text(r.format)}: ${text(r.numberFormat)}`],
      ['weights stored in', text(r.weightStorage)],
      ['params / MACs', `${int(r.params)} / ${int(r.macs)}`],
      ['input / output values', `${int(r.inputSize)} / ${int(r.outputSize)}`],
      ['outputs', text(r.outputs)],
    ]),
    table(
      ['#', 'layer', 'type', 'padding', 'filters', 'kernel', 'stride', 'activation', 'input', 'output', 'params', 'MACs'],
      rows.map((l) => [int(l.index), text(l.layer), text(l.type), text(l.padding), text(l.filters), text(l.kernel), text(l.stride), text(l.activation), text(l.inputShape), text(l.outputShape), int(l.params), int(l.macs)]),
      { numeric: [0, 10, 11], caption: 'the layer table (the IR every later stage reads)' },
    ),
  ].join('\n');
}

function dseSection(out: StageOutput | undefined): string {
  const missing = absence('dse', out);
  if (missing) return missing;
  const r = out!.report!;
  const ch = isObj(r.chosen) ? r.chosen : {};
  const base = isObj(r.baseline) ? r.baseline : {};
  const pareto = arr(r.pareto).filter(isObj);
  const pe = isObj(r.predictorError) ? r.predictorError : {};
  const layers = at(ch, 'directives.layers');
  return [
    facts([
      ['device', `${text(r.device)} (margin ${pct(r.margin, 0)}: budget ${int(at(r, 'budget.logicCells'))} logic cells, ${int(at(r, 'budget.ebr'))} EBR, ${int(at(r, 'budget.dsp'))} DSP)`],
      ['search', `${text(at(r, 'search.algorithm'))}: ${int(r.explored)} points explored, ${int(r.fitting)} fit, ${pareto.length} on the frontier`],
      ['chosen', `#${text(ch.id)} by ${text(ch.rule)}: ${int(ch.cycles)} cycles, ${int(ch.logicCells)} logic cells, ${int(ch.ebr)} EBR, ${int(ch.dsp)} DSP`],
      ['one-lane baseline', `${int(base.cycles)} cycles, ${int(base.logicCells)} logic cells`],
      ['speedup', isNum(at(r, 'speedup.vsOneLane')) ? `${num(at(r, 'speedup.vsOneLane'))}× fewer cycles than one lane per layer` : DASH],
      ['predictor check', isObj(pe.logicCells) ? `median logic-cell error ${pct(at(pe, 'logicCells.medianRelError'), 1)} on ${int(at(pe, 'logicCells.samples'))} synthesized point(s); EBR exact ${text(pe.ebrExact)}, DSP exact ${text(pe.dspExact)}; cycles ${at(pe, 'cycles.exact') === true ? 'exact' : 'not exact'}` : text(pe.skipped)],
    ]),
    stageFigure(out, 'dse', 'pareto.svg', 'dse-pareto', 'Cycles against logic cells: the explored points, the frontier, the device budget and the chosen point.'),
    isObj(layers)
      ? table(
          ['layer', 'lanes', 'unroll', 'pipeline', 'multiplier'],
          Object.entries(layers).map(([name, d]) => [esc(name), int(at(d, 'lanes')), text(at(d, 'unroll')), text(at(d, 'pipeline')), text(at(d, 'multiplier'))]),
          { numeric: [1], caption: 'the chosen directives (dist/dse/chosen.json)' },
        )
      : '',
    frontierTable(pareto, ch.id),
  ].join('\n');
}

/** The DSE frontier: its first rows (the chosen point among them), the rest behind a disclosure. */
function frontierTable(pareto: Obj[], chosenId: unknown): string {
  const SHOWN = 10;
  const figs = (p: Obj) => [int(p.cycles), int(p.logicCells), int(p.luts), int(p.ffs), int(p.ebr), int(p.dsp)];
  const rows = (ps: Obj[]) => ps.map((p) => [text(p.id), ...figs(p), text(isObj(p.directives) ? Object.entries(p.directives).map(([k, v]) => `${k}: ${v}`) : p.directives)]);
  const head = ['id', 'cycles', 'logic cells', 'LUTs', 'FFs', 'EBR', 'DSP', 'directives per layer'];
  const opts = (ps: Obj[], caption: string) => ({ numeric: [1, 2, 3, 4, 5, 6], highlight: (i: number) => ps[i].id === chosenId, caption });
  const caption = `the frontier, ${pareto.length} points (predicted figures; the chosen point highlighted; directives: lanes, o/r = outputs/reduction unrolled, b/c = block/cyclic partition, -lut = LUT multipliers, -np = not pipelined)`;
  if (pareto.length <= SHOWN + 2) return table(head, rows(pareto), opts(pareto, caption));
  const ci = pareto.findIndex((p) => p.id === chosenId);
  const first = pareto.slice(0, SHOWN);
  if (ci >= SHOWN) first.push(pareto[ci]);
  const rest = pareto.filter((p) => !first.includes(p));
  return table(head, rows(first), opts(first, caption)) + `<details><summary>the other ${rest.length} frontier points</summary>${table(head, rows(rest), opts(rest, ''))}</details>`;
}

function hardwareSection(s: PageInput['stages']): string {
  const parts: string[] = [];
  const rtl = s.rtl?.report, sim = s.sim?.report, synth = s.synth?.report, bit = s.bitstream?.report, dse = s.dse?.report;
  // Resources.
  parts.push('<h3>Resources against the device</h3>');
  const missingSynth = absence('synth', s.synth);
  if (missingSynth) parts.push(missingSynth);
  else {
    const avail = isObj(synth!.available) ? synth!.available : {};
    const chosen = dse && isObj(dse.chosen) && dse.device === synth!.device ? dse.chosen : undefined;
    const bars: ResourceBar[] = [];
    const add = (name: string, used: unknown, available: unknown, predicted?: unknown) => {
      if (isNum(used) && isNum(available) && (available > 0 || used > 0)) bars.push({ name, used, available, ...(isNum(predicted) ? { predicted } : {}) });
    };
    add('logic cells (packed)', synth!.logicCells, avail.logicCells, chosen?.logicCells);
    add('LUT4', synth!.luts, avail.logicCells, chosen?.luts);
    add('flip-flops', synth!.ffs, avail.logicCells, chosen?.ffs);
    add('EBR (4 Kbit)', synth!.ebr, avail.ebr, chosen?.ebr);
    add('DSP (SB_MAC16)', synth!.dsp, avail.dsp, chosen?.dsp);
    add('SPRAM', synth!.spram, avail.spram, chosen?.spram);
    const top = synth!.board && synth!.board !== 'none' ? `${synth!.top} on the ${synth!.board} (accelerator + UART)` : String(synth!.top ?? 'the accelerator');
    parts.push(ownFigure('resources', resourceBarsSvg(`${synth!.device}: ${top}`, bars), 'Resources used by the synthesized design, each against what the device has; a black tick marks the DSE\'s prediction for the accelerator alone.'));
    parts.push(facts([['synthesis', `${text(synth!.tool)} ${text(synth!.version)}`], ['Yosys warnings', int(synth!.yosysWarnings)], ['package', text(synth!.package)]]));
  }
  // Latency and Fmax.
  parts.push('<h3>Latency and clock</h3>');
  const rows: [string, string][] = [];
  if (sim) {
    rows.push(['cycles per inference', `${int(sim.cycles)} simulated (predicted ${int(sim.predictedCycles)}${sim.cycles === sim.predictedCycles ? ', exact' : ''})`]);
    rows.push(['MAC lanes', `${int(sim.lanes)}: ${int(sim.macs)} MACs, ${num(sim.floorRatio)}× the floor of ${int(sim.floorCycles)} cycles`]);
    if (isNum(sim.multiplierUtilization)) rows.push(['multiplier utilization', `${num((sim.multiplierUtilization as number) * 100, 1)} % (${num(sim.macsPerCycle)} MACs per cycle)`]);
  }
  if (rtl && isObj(rtl.parallelism)) rows.push(['multipliers', `${int(at(rtl, 'parallelism.dspMultipliers'))} on DSPs, ${int(at(rtl, 'parallelism.lutMultipliers'))} in logic; ${arr(rtl.modules).length} engines`]);
  if (bit) {
    const met = bit.timingMet === true;
    if (isNum(bit.latencyUs)) rows.push(['latency', `${num((bit.latencyUs as number) / 1000, 3)} ms per inference at ${num(bit.clockMHz)} MHz${isObj(bit.pll) ? ` (PLL from the ${num(bit.boardClockMHz)} MHz oscillator)` : ''}`]);
    rows.push(['Fmax', `${num(bit.fmaxMHz)} MHz (clock ${num(bit.clockMHz)} MHz: <span class="${met ? 'ok' : 'bad'}">${met ? 'met' : 'not met'}</span>)`]);
    if (isObj(bit.uart)) rows.push(['UART', `${int(at(bit, 'uart.baud'))} baud: ${num((at(bit, 'uart.transferUs') as number) / 1000, 3)} ms to send one sample`]);
    if (isNum(bit.fmaxMHz) && isNum(sim?.cycles)) rows.push(['at Fmax', `${num(((sim!.cycles as number) / (bit.fmaxMHz as number)) / 1000, 3)} ms per inference`]);
    rows.push(['bitstream', `<a href="../bitstream/${esc(bit.file)}">${text(bit.file)}</a>, ${int(bit.bytes)} bytes, ${text(bit.device)}-${text(bit.package)}${bit.board && bit.board !== 'none' ? `, board ${text(bit.board)}` : ''}`]);
    rows.push(['place and route', `${text(bit.tool)} nextpnr ${text(at(bit, 'versions.nextpnr-ice40'))}`]);
  }
  if (rows.length) parts.push(facts(rows));
  for (const [st, out] of [['sim', s.sim], ['bitstream', s.bitstream]] as const) {
    const m = absence(st, out);
    if (m) parts.push(m);
  }
  return parts.join('\n');
}

/** Every comparison the flow made, bit for bit or top-1, in one table. */
function exactnessSection(s: PageInput['stages']): string {
  const rows: string[][] = [];
  const badge = (equal: unknown, of: unknown) => (isNum(equal) && isNum(of) ? `<span class="${equal === of ? 'ok' : 'bad'}">${int(equal)} / ${int(of)}</span>` : DASH);
  const v = s.verify?.report;
  if (v) {
    if (isObj(v.delivered)) rows.push(['the delivered C (as written) vs the verified build', 'every output value, per sample', v.delivered.identical === true ? badge(v.delivered.samples, v.delivered.samples) : '<span class="bad">differ</span>', 'verify']);
    if (isObj(v.quantizedReference)) {
      const qr = v.quantizedReference;
      const eq = qr.identicalSamples ?? qr.bitExact ?? qr.equal;
      rows.push(['TF.js integer reference vs the fixed-point C', 'logits, bit for bit', isNum(eq) ? badge(eq, qr.samples) : text(qr), 'verify']);
    }
    rows.push(['fixed-point C vs the reference network', 'top-1 class', pct(at(v, 'fixed.top1Agreement')), 'verify']);
    rows.push(['float C vs the reference network', 'top-1 class', `${pct(at(v, 'float.top1Agreement'))} (max abs error ${isNum(at(v, 'float.maxAbsError')) ? (at(v, 'float.maxAbsError') as number).toExponential(2) : DASH})`, 'verify']);
  }
  const sim = s.sim?.report;
  if (sim) rows.push(['RTL simulation vs the fixed-point C', 'logits and class, bit for bit', badge(sim.bitExact, sim.samples), 'sim']);
  const ns = at(s.synth?.report, 'netlistSim');
  if (isObj(ns)) rows.push(['synthesized netlist vs the fixed-point C', 'logits and class, bit for bit', badge(ns.bitExact, ns.samples), 'synth']);
  const cyc = at(s.dse?.report, 'predictorError.cycles');
  if (isObj(cyc) && isNum(cyc.checked)) rows.push(['DSE cycle model vs simulation', 'cycles per inference', badge(cyc.exact === true ? cyc.checked : cyc.checked - arr(cyc.mismatches).length, cyc.checked), 'dse']);
  const notes = (['verify', 'sim', 'synth'] as const).map((st) => absence(st, s[st])).filter(Boolean);
  if (!rows.length) return notes.join('\n');
  return [table(['comparison', 'what is compared', 'equal / compared', 'stage'], rows, { numeric: [2] }), ...notes].join('\n');
}

function accuracySummary(s: PageInput['stages']): string {
  const items: [string, string][] = [];
  const t = s.train?.report, v = s.verify?.report, sim = s.sim?.report, bit = s.bitstream?.report, synth = s.synth?.report;
  if (t && t.skipped !== true) items.push(['test accuracy (trained)', pct(t.testAccuracy)]);
  if (v) items.push([`test accuracy (fixed-point C, ${int(v.samples)} samples)`, pct(at(v, 'fixed.accuracy'))]);
  if (sim) items.push(['bit-exact RTL samples', `${int(sim.bitExact)} / ${int(sim.samples)}`]);
  if (bit && isNum(bit.latencyUs)) items.push(['latency', `${num((bit.latencyUs as number) / 1000, 3)} ms at ${num(bit.clockMHz)} MHz`]);
  if (synth && isObj(synth.available)) items.push(['logic cells', `${int(synth.logicCells)} / ${int(at(synth, 'available.logicCells'))}`]);
  if (bit) items.push(['Fmax', `${num(bit.fmaxMHz)} MHz`]);
  if (!items.length) return '';
  return `<dl class="summary">${items.map(([k, val]) => `<div><dt>${esc(k)}</dt><dd>${val}</dd></div>`).join('')}</dl>`;
}

function flowStrip(s: PageInput['stages'], href: (stage: string) => string): string {
  const label: Record<Status, string> = { done: 'done', skipped: 'skipped', missing: 'not run', unreadable: 'unreadable' };
  return `<ol class="flow">${PAGE_STAGES.map((st) => {
    const status = statusOf(s[st]);
    const inner = status === 'missing' ? esc(st) : `<a href="${esc(href(st))}">${esc(st)}</a>`;
    return `<li class="${status}" data-stage="${esc(st)}" data-status="${status}">${inner}<small>${label[status]}</small></li>`;
  }).join('')}</ol>`;
}

function reportsSection(s: PageInput['stages'], href: (stage: string) => string): string {
  const rows = PAGE_STAGES.map((st) => {
    const status = statusOf(s[st]);
    const link = status === 'missing' ? `<span class="muted">dist/${esc(st)}/report.json (none)</span>` : `<a class="rep" href="${esc(href(st))}">dist/${esc(st)}/report.json</a>`;
    const figs = Object.keys(s[st]?.figures ?? {}).sort().map((f) => `<a href="../${esc(st)}/${esc(f)}">${esc(f)}</a>`).join(', ');
    return [esc(st), link, status === 'skipped' ? `skipped: ${text(s[st]!.report!.reason)}` : status === 'missing' ? 'not run' : status === 'unreadable' ? `unreadable: ${esc(s[st]!.problem)}` : 'done', figs || DASH];
  });
  return table(['stage', 'report', 'status', 'figures'], rows);
}

const STYLE = `
:root{--fg:#1d232b;--muted:#5b6673;--line:#d9dee5;--bg:#f6f7f9;--accent:#2a6fdb;--ok:#1a7f37;--bad:#c62828}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:20px 32px 12px}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:var(--muted)}
nav.toc{margin-top:10px;font-size:14px}
nav.toc a{margin-right:14px}
main{max-width:1120px;margin:0 auto;padding:8px 32px 48px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 24px 20px;margin:20px 0}
h2{font-size:20px;margin:14px 0 2px}
h3{font-size:16px;margin:20px 0 6px}
a{color:var(--accent)}
.reports{margin:0 0 10px;font-size:13px;color:var(--muted)}
.reports a{margin-right:8px}
table{border-collapse:collapse}
table.facts th{text-align:left;font-weight:600;padding:3px 18px 3px 0;vertical-align:top;white-space:nowrap;color:var(--muted)}
table.facts td{padding:3px 0}
.scroll{overflow-x:auto;margin:10px 0}
table.data{font-size:13px;min-width:50%}
#reports table.data td{white-space:normal}
details summary{cursor:pointer;color:var(--accent);font-size:13px;margin:4px 0}
table.data caption{text-align:left;color:var(--muted);padding-bottom:4px;caption-side:top}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;white-space:nowrap}
table.data th{background:#f0f2f5;font-weight:600}
table.data .n{text-align:right;font-variant-numeric:tabular-nums}
table.data tr.hl td{background:#fff4e0;font-weight:600}
figure{margin:14px 0;max-width:100%}
figure img,figure svg{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px;background:#fff}
figcaption{font-size:13px;color:var(--muted);margin-top:4px}
.pair{display:flex;flex-wrap:wrap;gap:16px}
.pair figure{flex:1 1 460px;margin:8px 0}
.note{padding:8px 12px;border-radius:6px;background:#f0f2f5;color:var(--muted)}
.note.skipped{background:#eef4ff}
.note.missing{background:#fff4e0;color:#7a4b00}
.ok{color:var(--ok);font-weight:600}
.bad{color:var(--bad);font-weight:600}
.muted{color:var(--muted)}
ol.flow{list-style:none;display:flex;flex-wrap:wrap;gap:6px;padding:0;margin:14px 0 4px}
ol.flow li{border:1px solid var(--line);border-radius:6px;padding:4px 10px;background:#fff;font-weight:600;font-size:14px}
ol.flow li small{display:block;font-weight:400;font-size:11px;color:var(--muted)}
ol.flow li.done{border-color:#9cc3a5;background:#f1faf3}
ol.flow li.skipped{border-color:#b9cdf0;background:#f2f6fe}
ol.flow li.missing,ol.flow li.unreadable{border-style:dashed;color:var(--muted)}
dl.summary{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0 0}
dl.summary div{background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px 14px}
dl.summary dt{font-size:12px;color:var(--muted)}
dl.summary dd{margin:0;font-size:18px;font-weight:600}
`;

/** The page: one HTML string, deterministic for the same reports (no clock, no randomness). */
export function reportPage(input: PageInput): string {
  const s = input.stages;
  const href = input.reportHref ?? ((st: string) => `../${st}/report.json`);
  const device = s.synth?.report?.device ?? s.dse?.report?.device;
  const board = s.bitstream?.report?.board ?? s.synth?.report?.board;
  const sections: Section[] = [
    { id: 'data', title: 'Data', stages: ['data'], body: dataSection(s.data) },
    { id: 'search', title: 'Architecture search', stages: ['nas'], body: searchSection(s.nas) },
    { id: 'training', title: 'Training', stages: ['train'], body: trainSection(s.train) },
    { id: 'quantization', title: 'Quantization', stages: ['train', 'convert', 'verify'], body: quantSection(s.train, s.verify, s.convert) },
    { id: 'c-model', title: 'The C model', stages: ['convert'], body: convertSection(s.convert) },
    { id: 'dse', title: 'Hardware design-space exploration', stages: ['dse'], body: dseSection(s.dse) },
    { id: 'hardware', title: 'Hardware: resources, latency, Fmax', stages: ['rtl', 'sim', 'synth', 'bitstream'], body: hardwareSection(s) },
    { id: 'bit-exact', title: 'Bit-exact checks', stages: ['verify', 'sim', 'synth'], body: exactnessSection(s) },
  ];
  const sub = [device ? `device ${device}` : '', board && board !== 'none' ? `board ${board}` : ''].filter(Boolean).join(', ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${esc(input.project)}: DeepMaker report</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${esc(input.project)}</h1>
<p>DeepMaker flow report${sub ? `: ${esc(sub)}` : ''}. Built from the stages' report.json files in dist/.</p>
${flowStrip(s, href)}
${accuracySummary(s)}
<nav class="toc">${sections.map((x) => `<a href="#${esc(x.id)}">${esc(x.title)}</a>`).join('')}<a href="#reports">Reports</a></nav>
</header>
<main>
${sections.map((x) => section(x, href)).join('\n')}
<section id="reports" data-section="reports"><h2>Reports</h2>${reportsSection(s, href)}</section>
</main>
</body>
</html>
`;
}
