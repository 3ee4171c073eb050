/**
 * The nas stage's schedules, confirmation rung and stratified subsets, end to end through the worker
 * pool and the evaluation store, with synthetic evaluators (fixtures/) in a child process:
 *  - an existing spec's evaluation keys (and so its stored results and its path) are unchanged;
 *  - the confirmation rung trains the best `top` of the front at the final fidelity, the selection
 *    uses those errors, the report gives the regret, the console says when the ranking flipped, and
 *    a rerun takes the confirmation's trainings from the store;
 *  - hyperband and asha are deterministic for a seed, whatever order the trainings finish in;
 *  - a stratified subset is another key, drawn from one seed for the whole search.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeNpy } from '../../src/data/npy';

const RUNNER = join(__dirname, 'fixtures', 'run-nas.ts');
const root = mkdtempSync(join(tmpdir(), 'dm-nas-confirm-'));

function spec(fidelity: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    search: {
      enabled: true, space: 'densenet', algorithm: 'nsga2', population: 6, generations: 3,
      objectives: ['error', 'macs', 'params', 'weightBits'], constraints: { maxWeightBits: 'device' },
      fidelity: { subset: 64, epochs: [1, 3, 5], promote: 0.5, ...fidelity },
      training: { batchSize: 16, learningRate: 0.002, optimizer: 'adam', backend: 'cpu' },
      activations: ['relu'], workers: 2, seed: 5, select: 'lowest-error', ...extra,
    },
    quantize: { mode: 'fixed', weights: { bits: 8, integer: 1 } },
    target: { device: 'ice40-up5k' },
  };
}

/** A project folder (a tiny data stage output, never really trained on) with a nas view. */
function project(name: string, view: object): string {
  const dir = join(root, name);
  const data = join(dir, 'dist', 'data');
  mkdirSync(data, { recursive: true });
  for (const split of ['train', 'validation', 'test']) {
    writeNpy(join(data, `${split}_x.npy`), new Float32Array(4 * 784).map((_, i) => (i % 7) / 7), [4, 28, 28, 1]);
    writeNpy(join(data, `${split}_y.npy`), Int32Array.from([0, 1, 2, 3]), [4]);
  }
  writeFileSync(join(data, 'report.json'), JSON.stringify({ dataset: 'synthetic', shape: [28, 28, 1], classes: 10, counts: { train: 4, validation: 4, test: 4 } }));
  writeFileSync(join(dir, 'nas.json'), JSON.stringify(view));
  return dir;
}

interface Run {
  out: string;
  output: string;
  report: any;
  candidates: any[];
  trained: string[];
  tasks: any[];
}

function run(dir: string, name: string, mode: 'synthetic' | 'curve' = 'synthetic', env: Record<string, string> = {}): Run {
  const out = join(dir, name);
  const log = join(dir, `${name}.log`), tasks = join(dir, `${name}.tasks`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, dir, out, ...(mode === 'curve' ? ['curve'] : [])], {
    env: { ...process.env, SYNTHETIC_LOG: log, SYNTHETIC_TASKS: tasks, ...env },
    encoding: 'utf8',
  });
  const output = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, output);
  const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
  return {
    out,
    output,
    report: JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')),
    candidates: lines(join(out, 'candidates.jsonl')).map((l) => JSON.parse(l)),
    trained: lines(log),
    tasks: lines(tasks).map((l) => JSON.parse(l)),
  };
}

/** "id rung key" of every training of the search, in candidate order. */
const keyLines = (r: Run) => r.candidates.flatMap((c) => c.rungs.map((g: any) => `${c.id} ${g.rung} ${g.key}`));
const digest = (lines: string[]) => createHash('sha256').update(lines.join('\n')).digest('hex');
/** What a schedule decided and measured, without wall times and store flags. */
const decisions = (r: Run) => r.candidates.map((c) => ({ id: c.id, generation: c.generation, rungs: c.rungs.map((g: any) => [g.rung, g.key, g.error]), final: c.final?.error }));

describe('nas: schedules, the confirmation rung, stratified subsets', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it("an existing spec's evaluation keys are unchanged (rungs is the default; stratify false adds nothing to the key)", () => {
    // Computed with the code before schedules, confirmation and stratify existed (commit edc002c): 33
    // trainings of 17 candidates, this digest, this selection.
    const GOLDEN = { trainings: 33, digest: '7b4f2968c47de4539ed23f27cb895a3cedde6074cd0002d1e7ea9968e25bffe2', selected: 'dd768c1a41' };
    // initialPopulation random (the default): the first generation as it was drawn when the digest was taken.
    const old = run(project('keys-old', spec({}, { initialPopulation: 'random' })), 'out');
    assert.equal(keyLines(old).length, GOLDEN.trainings);
    assert.equal(digest(keyLines(old)), GOLDEN.digest);
    assert.equal(old.report.selected.id, GOLDEN.selected);
    // The same spec as the schema now fills it in.
    const filled = run(project('keys-filled', spec({ schedule: 'rungs', stratify: false }, { initialPopulation: 'random' })), 'out');
    assert.equal(digest(keyLines(filled)), GOLDEN.digest);
    assert.equal(filled.report.confirmation, undefined);
    assert.ok(filled.tasks.every((t) => t.subsetSeed === undefined && t.fidelity.stratified === undefined && t.training.schedule === undefined));
  });

  it('report.span: the candidates\' and the front\'s size range against the feasible space, estimated from 2,000 seeded draws; the first generation spans it', () => {
    const r = run(project('span', spec({}, { initialPopulation: 'stratified' })), 'out');
    const span = r.report.span;
    assert.ok(span, 'no span in the report');
    assert.equal(span.feasibleSpace.draws, 2000);
    assert.equal(span.feasibleSpace.seed, 'span:5');
    assert.deepEqual(span.feasibleSpace.checkedOnEveryDraw, ['weightBits']);
    assert.match(span.feasibleSpace.method, /^2000 genomes drawn from the space's random sampler \(seed span:5\); kept those that can be built and meet the constraints known before training$/);
    const trained = r.candidates.filter((c) => c.feasible && c.error !== null);
    assert.equal(span.candidates.count, trained.length);
    assert.deepEqual(span.candidates.params, { min: Math.min(...trained.map((c) => c.values.params)), max: Math.max(...trained.map((c) => c.values.params)) });
    assert.equal(span.front.count, r.report.pareto.length);
    const f = span.feasibleSpace.params;
    const cov = (Math.log(Math.min(span.candidates.params.max, f.max)) - Math.log(Math.max(span.candidates.params.min, f.min))) / Math.log(f.max / f.min);
    assert.ok(Math.abs(span.coverage.params - Math.min(1, cov)) < 1e-12);
    // The first generation alone (stratified over log-params) reaches most of the range.
    const first = r.candidates.filter((c) => c.generation === 0 && c.feasible).map((c) => c.values.params);
    assert.ok(Math.log(Math.max(...first) / Math.min(...first)) / Math.log(f.max / f.min) > 0.8, `first generation ${Math.min(...first)}-${Math.max(...first)} of ${f.min}-${f.max}`);
    assert.match(r.output, /size range: candidates \S+ params \(\d+% of the feasible log range\)/);
  });

  it('the confirmation rung trains the front leaders on all the data, the selection uses their final errors, and a rerun takes them from the store', () => {
    const dir = project('confirm', spec({ epochs: [1, 3], final: { top: 4, epochs: 20 } }, { population: 8 }));
    const first = run(dir, 'out', 'curve');
    const c = first.report.confirmation;
    assert.ok(c, 'no confirmation in the report');
    // The confirmed are the front's 4 lowest low-fidelity errors (the lowest-error rule), in that order.
    const front = [...first.report.pareto].sort((a: any, b: any) => a.error - b.error);
    assert.ok(front.length >= 4, `a front of ${front.length}`);
    assert.deepEqual(c.candidates.map((e: any) => e.id), front.slice(0, 4).map((p: any) => p.id));
    assert.deepEqual(c.candidates.map((e: any) => e.lowFidelity.error), front.slice(0, 4).map((p: any) => p.error));
    for (const e of c.candidates) {
      assert.deepEqual([e.final.epochs, e.final.subset, e.final.cached], [20, 4, false]);
      assert.equal(first.report.pareto.find((p: any) => p.id === e.id).finalError, e.final.error);
    }
    // The final trainings: all 4 training rows, 20 epochs, a cosine learning rate; each stored under its key.
    const finals = first.tasks.filter((t) => t.fidelity.epochs === 20);
    assert.equal(finals.length, 4);
    assert.ok(finals.every((t) => t.fidelity.subset === 4 && t.training.schedule === 'cosine'));
    const finalKeys = first.candidates.filter((x) => x.final).map((x) => x.final.key);
    assert.deepEqual([...finalKeys].sort(), finals.map((t) => t.key).sort());
    assert.ok(finalKeys.every((k) => first.trained.includes(k)));
    // The selection: the lowest final-fidelity error, reported with its final fidelity.
    const best = [...c.candidates].sort((a: any, b: any) => a.final.error - b.final.error)[0];
    assert.equal(first.report.selected.id, best.id);
    assert.equal(first.report.selected.error, best.final.error);
    assert.equal(first.report.selected.epochs, 20);
    assert.equal(first.report.selected.lowFidelityError, best.lowFidelity.error);
    assert.equal(c.finalPick, best.id);
    assert.equal(c.lowFidelityPick, c.candidates[0].id);
    // This evaluator's small networks learn fast and end high: the pick changes, and the console says so.
    assert.equal(c.flipped, true);
    assert.ok(c.regret > 0 && Math.abs(c.regret - (c.candidates[0].final.error - best.final.error)) < 1e-12);
    assert.ok(typeof c.kendallTau === 'number' && c.kendallTau >= -1 && c.kendallTau < 1);
    assert.match(first.output, new RegExp(`the ranking flipped: at low fidelity the search would have selected ${c.lowFidelityPick} .* ${best.id} ends at`));
    assert.match(first.output, /Kendall's tau-b -?\d\.\d{3} between the low- and final-fidelity errors of 4 candidates/);
    assert.equal(first.report.evaluations, first.trained.length);
    assert.equal(c.evaluations, 4);

    const second = run(dir, 'out-again', 'curve');
    assert.deepEqual(second.trained, [], 'a rerun trained again');
    assert.equal(second.report.confirmation.cacheHits, 4);
    assert.ok(second.report.confirmation.candidates.every((e: any) => e.final.cached));
    assert.equal(second.report.selected.id, first.report.selected.id);
    assert.equal(second.report.confirmation.kendallTau, c.kendallTau);
    assert.deepEqual(readFileSync(join(second.out, 'selected.json'), 'utf8'), readFileSync(join(first.out, 'selected.json'), 'utf8'));
  });

  it('without the confirmation rung the same search selects the low-fidelity pick', () => {
    const dir = project('no-confirm', spec({ epochs: [1, 3] }, { population: 8 }));
    const r = run(dir, 'out', 'curve');
    const confirmed = run(project('confirm-2', spec({ epochs: [1, 3], final: { top: 4, epochs: 20 } }, { population: 8 })), 'out', 'curve');
    assert.equal(r.report.selected.id, confirmed.report.confirmation.lowFidelityPick);
    assert.notEqual(r.report.selected.id, confirmed.report.selected.id);
  });

  for (const schedule of ['hyperband', 'asha'] as const) {
    it(`${schedule} is deterministic for a seed whatever order the trainings finish in, and a rerun trains nothing`, () => {
      const view = spec({ schedule, final: { top: 2, epochs: 8 } });
      const a = run(project(`${schedule}-a`, view), 'out', 'synthetic', { SYNTHETIC_JITTER_MS: '30', SYNTHETIC_JITTER_SEED: 'a' });
      const b = run(project(`${schedule}-b`, view), 'out', 'synthetic', { SYNTHETIC_JITTER_MS: '30', SYNTHETIC_JITTER_SEED: 'b' });
      assert.deepEqual(decisions(b), decisions(a));
      assert.deepEqual(b.report.pareto, a.report.pareto);
      assert.equal(b.report.selected.id, a.report.selected.id);
      assert.equal(a.report.trained, a.trained.length);
      const again = run(join(root, `${schedule}-a`), 'out-again');
      assert.deepEqual(again.trained, []);
      assert.deepEqual(decisions(again), decisions(a));
      // The schedule shows in the trainings: hyperband's second bracket starts at rung 1, asha promotes across generations.
      if (schedule === 'hyperband') {
        assert.ok(a.candidates.filter((x) => x.generation === 1 && x.feasible).every((x) => x.rungs[0].rung === 1));
      }
      assert.notEqual(digest(keyLines(a)), digest(keyLines(run(project(`${schedule}-rungs`, spec({ final: { top: 2, epochs: 8 } })), 'out'))));
    });
  }

  it('a stratified subset is another key, its seed one for the whole search; the confirmation trains on all rows, unstratified', () => {
    const plain = run(project('plain', spec({ final: { top: 2, epochs: 8 } })), 'out');
    const strat = run(project('stratified', spec({ stratify: true, final: { top: 2, epochs: 8 } })), 'out');
    const low = strat.tasks.filter((t) => t.fidelity.epochs !== 8);
    assert.ok(low.length > 0 && low.every((t) => t.fidelity.stratified === true));
    assert.equal(new Set(low.map((t) => t.subsetSeed)).size, 1, 'one subset seed for every candidate');
    assert.equal(new Set(low.map((t) => t.seed)).size, low.length, 'each training its own seed');
    const plainKeys = new Set(plain.tasks.map((t) => t.key));
    assert.ok(low.every((t) => !plainKeys.has(t.key)));
    const finals = strat.tasks.filter((t) => t.fidelity.epochs === 8);
    assert.ok(finals.length === 2 && finals.every((t) => t.fidelity.stratified === undefined && t.subsetSeed === undefined && t.fidelity.subset === 4));
    // A network confirmed by both searches has one final key (and one stored training).
    const plainFinal = new Map(plain.candidates.filter((x) => x.final).map((x) => [x.id, x.final.key]));
    for (const x of strat.candidates.filter((y) => y.final && plainFinal.has(y.id))) assert.equal(x.final.key, plainFinal.get(x.id));
    // Another search seed draws another subset.
    const other = run(project('stratified-seed', spec({ stratify: true }, { seed: 6 })), 'out');
    assert.notEqual(other.tasks[0].subsetSeed, low[0].subsetSeed);
  });

  it("recipe train confirms each network as the train stage trains it: train's settings, epochs, early stopping and seed, then quantize's fine-tuning", () => {
    const train = { epochs: 9, batchSize: 64, learningRate: 0.002, schedule: 'cosine', optimizer: 'adam', earlyStopping: { patience: 3 }, backend: 'cpu', seed: 17 };
    const view = { ...spec({ epochs: [1, 3], final: { top: 3, recipe: 'train' } }, { population: 8 }), train, quantize: { mode: 'fixed', weights: { bits: 8, integer: 1 }, activations: { bits: 8, integer: 4 }, biasBits: 16, fineTune: { epochs: 4 } } };
    const r = run(project('recipe-train', view), 'out', 'curve');
    const finals = r.tasks.filter((t) => t.fidelity.epochs === 9);
    assert.equal(finals.length, 3);
    for (const t of finals) {
      assert.equal(t.seed, 17, "the train stage's seed, not one derived from the key");
      assert.equal(t.fidelity.subset, 4);
      assert.deepEqual([t.training.batchSize, t.training.learningRate, t.training.schedule, t.training.optimizer, t.training.seed], [64, 0.002, 'cosine', 'adam', 17]);
      assert.deepEqual(t.training.earlyStopping, { patience: 3 });
      // quantize's own fine-tuning (4 epochs; fixed point at a tenth of train.learningRate), not search.training's.
      assert.equal(t.training.quantize.mode, 'fixed');
      assert.equal(t.training.quantize.fineTune.epochs, 4);
      assert.ok(Math.abs(t.training.quantize.fineTune.learningRate - 0.0002) < 1e-12);
    }
    // The low-fidelity trainings are the search's as before: their own seeds, no early stopping, no fine-tuning.
    const low = r.tasks.filter((t) => t.fidelity.epochs !== 9);
    assert.ok(low.every((t) => t.training.seed === undefined && t.training.earlyStopping === undefined && t.training.quantize === undefined && t.training.batchSize === 16));
    assert.equal(r.report.confirmation.recipe, 'train');
    assert.equal(r.report.selected.epochs, 9);
    assert.match(r.output, /confirmation: the best 3 of the Pareto set by the selection rule, with the train stage's training: up to 9 epochs on all 4 training samples \(early stopping after 3\), then 4 fixed fine-tuning epochs, seed 17/);
    // train's settings are part of the final keys: another train.seed is another training.
    const other = run(project('recipe-train-seed', { ...view, train: { ...train, seed: 18 } }), 'out', 'curve');
    const keys = (x: Run) => x.tasks.filter((t) => t.fidelity.epochs === 9).map((t) => t.key).sort();
    assert.equal(keys(other).filter((k) => keys(r).includes(k)).length, 0);
    // quantize.fineTune.earlyStopping reaches the confirmation's fine-tuning (and its keys), not the low-fidelity twin's.
    const own = run(project('recipe-train-fine-tune-stopping', { ...view, quantize: { ...view.quantize, fineTune: { epochs: 4, earlyStopping: false } } }), 'out', 'curve');
    assert.ok(own.tasks.filter((t) => t.fidelity.epochs === 9).every((t) => t.training.quantize.fineTune.earlyStopping === false));
    assert.match(own.output, /then 4 fixed fine-tuning epochs \(every one: no early stopping\), seed 17/);
    assert.equal(keys(own).filter((k) => keys(r).includes(k)).length, 0);
  });

  it('per-depth confirms the best trained network of each depth, whether or not it is on the front', () => {
    const view = spec({ epochs: [1, 3], final: { top: 5, epochs: 6, candidates: 'per-depth' } }, { population: 8 });
    const r = run(project('per-depth', view), 'out', 'curve');
    const c = r.report.confirmation;
    assert.equal(c.chosenFrom, 'per-depth');
    const depths = c.candidates.map((e: any) => e.depth);
    assert.equal(new Set(depths).size, depths.length, `depths ${depths}`);
    // Each confirmed is the lowest-error trained feasible candidate of its depth; the depths in the order of their best.
    const trained = r.candidates.filter((x) => x.feasible && x.error !== null);
    const depthOf = new Map(c.candidates.map((e: any) => [e.id, e.depth]));
    const bestOf = new Map<number, number>();
    for (const x of trained) {
      const d = layersWithWeights(x.architecture);
      if (depthOf.has(x.id)) assert.equal(depthOf.get(x.id), d);
      bestOf.set(d, Math.min(bestOf.get(d) ?? Infinity, x.error));
    }
    for (const e of c.candidates) assert.equal(e.lowFidelity.error, bestOf.get(e.depth));
    const order = [...bestOf].sort((a, b) => a[1] - b[1]).slice(0, 5).map(([d]) => d);
    assert.deepEqual(depths, order);
    assert.ok(bestOf.size >= 5, `only ${bestOf.size} depths trained`);
    // The 5 lowest errors of this search share depths, so the lowest 5 (of the front or of all) are not one per depth.
    const lowest = [...trained].sort((a, b) => a.error - b.error).slice(0, 5).map((x) => layersWithWeights(x.architecture));
    assert.ok(new Set(lowest).size < 5, `the 5 lowest have depths ${lowest}`);
    const front = run(project('per-depth-front', spec({ epochs: [1, 3], final: { top: 5, epochs: 6 } }, { population: 8 })), 'out', 'curve');
    assert.notDeepEqual(front.report.confirmation.candidates.map((e: any) => e.id), c.candidates.map((e: any) => e.id));
  });
});

/** Convolutions, dense layers, a dense block's units and a transition's conv: what networkDepth counts, written out again. */
function layersWithWeights(a: any): number {
  return a.layers.reduce((n: number, l: any) => n + (l.type === 'dense_block' ? l.layers : ['conv2d', 'depthwise_conv2d', 'dense', 'transition'].includes(l.type) ? 1 : 0), 0);
}
