/**
 * The recurrent search space (src/nas/spaces/recurrent.ts): genomes map to valid sequence
 * architectures whose analytic params are TF.js's, the operators stay in the space and are
 * deterministic for a seed; the image spaces are untouched; the objectives on recurrent layers
 * (weight bits as the C stores them; the hardware objectives' unbuildable value).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { architectureIR, UNBUILDABLE } from '../../src/dse/nas-objectives';
import { Rng } from '../../src/moo/rng';
import type { Architecture } from '../../src/nn/arch';
import { architectureCost } from '../../src/nn/cost';
import { measureCandidate, quantizationForCounting, resolveConstraints, weightMemoryBits } from '../../src/nas/objectives';
import { feasibility } from '../../src/nas/span';
import { chainSpace } from '../../src/nas/spaces/chain';
import { denseNetSpace } from '../../src/nas/spaces/densenet';
import { RECURRENT_CHOICES, recurrentSpace, type RecurrentGenome } from '../../src/nas/spaces/recurrent';
import { makeSpace } from '../../src/stages/nas';
import { isDeepMakerError } from '../../src/util/errors';

const ctx = { input: [28, 28], classes: 10, activations: ['relu' as const, 'tanh' as const] };
const space = recurrentSpace(ctx);
const RECURRENT = new Set(['lstm', 'gru', 'simple_rnn']);

/** Every gene within its choices. */
function assertInSpace(g: RecurrentGenome): void {
  const C = RECURRENT_CHOICES;
  assert.ok(g.recurrent.length >= 1 && g.recurrent.length <= C.maxRecurrent, `${g.recurrent.length} recurrent layers`);
  for (const l of g.recurrent) {
    assert.ok((C.cell as readonly string[]).includes(l.cell), l.cell);
    assert.ok(C.units.includes(l.units), `units ${l.units}`);
  }
  assert.ok((C.head as readonly string[]).includes(g.head), g.head);
  assert.ok(g.hidden.length <= C.maxHidden && g.hidden.every((u) => C.hidden.includes(u)), `hidden ${g.hidden}`);
  assert.ok((ctx.activations as readonly string[]).includes(g.activation), g.activation);
}

/** The architecture is a recurrent stack, a head, dense layers and the classifier, and plans on [28, 28]. */
function assertValid(g: RecurrentGenome): Architecture {
  const arch = space.toArchitecture(g);
  assert.deepEqual(arch.input, [28, 28]);
  assert.equal(arch.classes, 10);
  const n = g.recurrent.length;
  arch.layers.slice(0, n).forEach((l, i) => {
    assert.ok(RECURRENT.has(l.type), l.type);
    const seq = (l as { returnSequences?: boolean }).returnSequences === true;
    assert.equal(seq, i < n - 1 || g.head !== 'last', `layer ${i} returnSequences`);
  });
  const rest = arch.layers.slice(n).map((l) => l.type);
  assert.deepEqual(rest, [...(g.head === 'avg' ? ['global_avgpool1d'] : g.head === 'max' ? ['global_maxpool1d'] : []), ...g.hidden.map(() => 'dense'), 'dense']);
  const last = arch.layers[arch.layers.length - 1];
  assert.ok(last.type === 'dense' && last.units === 10 && last.activation === undefined, 'ends in the classifier');
  const cost = architectureCost(arch); // throws if a shape does not work out
  assert.ok(cost.params > 0 && cost.macs > 0);
  return arch;
}

describe('the recurrent space', () => {
  const rng = new Rng('recurrent-space');
  const genomes = Array.from({ length: 300 }, () => space.random(rng));

  it('maps every random, mutated and crossed genome to a valid sequence architecture, and the operators stay in the space', () => {
    const all = [...genomes];
    for (let i = 0; i + 1 < genomes.length; i += 2) {
      const [a, b] = space.crossover(genomes[i], genomes[i + 1], rng);
      all.push(a, b, space.mutate(a, rng), space.mutate(genomes[i], rng));
    }
    // Long mutation chains too: inserts and deletes never leave 1..3 layers.
    let g = genomes[0];
    for (let k = 0; k < 300; k++) all.push((g = space.mutate(g, rng)));
    for (const x of all) {
      assertInSpace(x);
      assertValid(x);
    }
    // Every choice of every gene is reached.
    const seen = (f: (x: RecurrentGenome) => unknown[]) => new Set(all.flatMap(f));
    assert.equal(seen((x) => x.recurrent.map((l) => l.cell)).size, 3);
    assert.equal(seen((x) => x.recurrent.map((l) => l.units)).size, RECURRENT_CHOICES.units.length);
    assert.equal(seen((x) => [x.recurrent.length]).size, 3);
    assert.equal(seen((x) => [x.head]).size, 3);
    assert.equal(seen((x) => [x.hidden.length]).size, 3);
    assert.equal(seen((x) => [x.activation]).size, 2);
  });

  it('mutation almost always changes the network, and never the parent', () => {
    let changed = 0;
    for (const g of genomes.slice(0, 100)) {
      const before = JSON.stringify(g);
      const m = space.mutate(g, rng);
      assert.equal(JSON.stringify(g), before);
      if (space.key(m) !== space.key(g)) changed++;
    }
    assert.ok(changed >= 80, `${changed}/100 mutations changed the architecture`);
    const [a, b] = [genomes[0], genomes[1]].map((x) => JSON.stringify(x));
    space.crossover(genomes[0], genomes[1], rng);
    assert.deepEqual([JSON.stringify(genomes[0]), JSON.stringify(genomes[1])], [a, b], 'crossover leaves its parents alone');
  });

  it('covers a wide range of sizes with mostly distinct networks', () => {
    const params = genomes.map((g) => architectureCost(space.toArchitecture(g)).params);
    assert.ok(Math.min(...params) < 1500 && Math.max(...params) > 40000, `params ${Math.min(...params)}..${Math.max(...params)}`);
    assert.ok(new Set(genomes.map((g) => space.key(g))).size > 250, 'random genomes are mostly distinct');
  });

  it('is deterministic for a seed: the same draws, mutations and crossovers, and their keys', () => {
    const trace = (seed: string) => {
      const r = new Rng(seed);
      const out: string[] = [];
      let prev = space.random(r);
      for (let i = 0; i < 50; i++) {
        const g = space.random(r);
        const [c] = space.crossover(prev, g, r);
        const m = space.mutate(c, r);
        out.push(JSON.stringify([g, c, m]), space.key(m));
        prev = m;
      }
      return createHash('sha256').update(out.join('\n')).digest('hex');
    };
    assert.equal(trace('a'), trace('a'));
    assert.notEqual(trace('a'), trace('b'));
    // A space made again over the same context gives the same keys.
    const g = space.random(new Rng('k'));
    assert.equal(recurrentSpace(ctx).key(g), space.key(g));
  });

  it('the last state vs a pooled sequence: the architecture and its key follow the head', () => {
    const g: RecurrentGenome = { recurrent: [{ cell: 'gru', units: 16 }, { cell: 'lstm', units: 32 }], head: 'last', hidden: [], activation: 'relu' };
    assert.deepEqual(space.toArchitecture(g).layers, [
      { type: 'gru', units: 16, returnSequences: true },
      { type: 'lstm', units: 32 },
      { type: 'dense', units: 10 },
    ]);
    assert.deepEqual(space.toArchitecture({ ...g, head: 'max', hidden: [64] }).layers, [
      { type: 'gru', units: 16, returnSequences: true },
      { type: 'lstm', units: 32, returnSequences: true },
      { type: 'global_maxpool1d' },
      { type: 'dense', units: 64, activation: 'relu' },
      { type: 'dense', units: 10 },
    ]);
    assert.equal(space.key(g), space.key({ ...g, activation: 'tanh' }), 'the activation of absent dense layers is no part of the network');
    assert.notEqual(space.key(g), space.key({ ...g, head: 'avg' }));
    // GRU(16) on 28 features: 3·(28·16 + 16·16 + 16); LSTM(32) on 16: 4·(16·32 + 32·32 + 32); dense 32·10 + 10.
    assert.equal(architectureCost(space.toArchitecture(g)).params, 3 * (28 * 16 + 256 + 16) + 4 * (16 * 32 + 1024 + 32) + 330);
    assert.equal(architectureCost(space.toArchitecture(g)).macs, 28 * 3 * 16 * (28 + 16) + 28 * 4 * 32 * (16 + 32) + 320);
  });

  it('random members build in TF.js, with the analytic params equal to countParams', async () => {
    const tf = await import('@tensorflow/tfjs');
    const { buildModel } = await import('../../src/nn/build.js');
    await tf.setBackend('cpu');
    const small = recurrentSpace({ input: [6, 5], classes: 3, activations: ['relu'] });
    const r = new Rng('build');
    const cells = new Set<string>(), heads = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const g = small.random(r);
      g.recurrent.forEach((l) => cells.add(l.cell));
      heads.add(g.head);
      const arch = small.toArchitecture(g);
      const model = buildModel(arch, { seed: i });
      try {
        assert.equal(architectureCost(arch).params, model.countParams(), small.describe(g));
        assert.deepEqual(model.outputs[0].shape.slice(1), [3]);
        const y = model.predict(tf.zeros([2, 6, 5])) as import('@tensorflow/tfjs').Tensor;
        assert.deepEqual(y.shape, [2, 3]);
        y.dispose();
      } finally {
        model.dispose();
      }
    }
    assert.equal(cells.size, 3, 'the samples hold every cell type');
    assert.equal(heads.size, 3, 'and every head');
  });
});

describe('spaces and input shapes', () => {
  it('makeSpace: recurrent for sequences, densenet and chain for images (their keys unchanged); a mismatch names search.space', () => {
    const image = { input: [28, 28, 1], classes: 10, activations: ['relu' as const] };
    for (const [name, direct] of [['chain', chainSpace(image)], ['densenet', denseNetSpace(image)]] as const) {
      const made = makeSpace(name, image);
      const r1 = new Rng(`same-${name}`), r2 = new Rng(`same-${name}`);
      for (let i = 0; i < 20; i++) assert.equal(made.key(made.random(r1)), direct.key(direct.random(r2) as never));
      assert.throws(() => makeSpace(name, ctx, 'models/x/deepmaker.yaml'), (e) => isDeepMakerError(e) && /models\/x\/deepmaker\.yaml \(search\.space\)/.test(e.message) && /search\.space: recurrent/.test(e.message));
    }
    assert.equal(makeSpace('recurrent', ctx).name, 'recurrent');
    assert.throws(() => makeSpace('recurrent', image, 'deepmaker.yaml'), (e) => isDeepMakerError(e) && /\(search\.space\)/.test(e.message) && /data\.sequence: rows/.test(e.message));
  });
});

describe('objectives on recurrent layers', () => {
  const arch: Architecture = { input: [28, 28], classes: 10, layers: [{ type: 'lstm', units: 16, returnSequences: true }, { type: 'gru', units: 8 }, { type: 'dense', units: 10 }] };
  const cost = architectureCost(arch);

  it('weight bits: kernel and recurrent kernel at the weight width, one bias per gate and unit at the bias width', () => {
    // LSTM(16) on 28: kernels 4·16·(28 + 16), biases 64; GRU(8) on 16: 3·8·(16 + 8), biases 24; dense 8·10 + 10.
    const kernels = 4 * 16 * 44 + 3 * 8 * 24 + 80, biases = 64 + 24 + 10;
    assert.equal(weightMemoryBits(cost, quantizationForCounting({ mode: 'fixed', weights: { bits: 8, integer: 1 } })), kernels * 8 + biases * 16);
    assert.equal(weightMemoryBits(cost, quantizationForCounting({ mode: 'fixed', weights: { bits: 6, integer: 1 }, biasBits: 12 })), kernels * 6 + biases * 12);
    assert.equal(weightMemoryBits(cost, quantizationForCounting({ mode: 'float' })), (kernels + biases) * 32);
    const rnn = architectureCost({ input: [5, 3], classes: 2, layers: [{ type: 'simple_rnn', units: 4 }] });
    assert.equal(weightMemoryBits(rnn, quantizationForCounting({ mode: 'fixed', weights: { bits: 8, integer: 1 } })), (4 * (3 + 4) + 4 * 2) * 8 + (4 + 2) * 16);
  });

  it('the hardware objectives: the search hook costs recurrent layers with the recurrent engine; activations wider than its tables are unbuildable and infeasible, without a crash', () => {
    // The IR the converter would build: Keras's weight layout, the cell's functions in `recurrent`.
    const fixed = quantizationForCounting({ mode: 'fixed', weights: { bits: 8 }, activations: { bits: 8, integer: 3 } });
    const ir = architectureIR(arch, fixed);
    const lstm = ir.layers.find((l) => l.type === 'lstm')!, gru = ir.layers.find((l) => l.type === 'gru')!;
    assert.deepEqual([lstm.recurrent!.cell, lstm.recurrent!.returnSequences, lstm.weights.kernel!.shape, lstm.weights.recurrentKernel!.shape], ['lstm', true, [28, 64], [16, 64]]);
    assert.deepEqual([gru.recurrent!.resetAfter, gru.recurrent!.recurrentActivation.kind, gru.weights.bias!.shape], [false, 'sigmoid', [24]]);
    const built = measureCandidate({ arch, cost, quantization: fixed, device: 'ice40-up5k' }, ['cycles', 'luts'], resolveConstraints({ maxLuts: 'device' }, 'ice40-up5k'));
    // At least one cycle per time step and gate column group of each layer; far from the unbuildable value.
    assert.ok(built.values.cycles > 28 * 2 && built.values.cycles < UNBUILDABLE && built.violation === 0, JSON.stringify(built));
    // Float networks are costed at the C's 16-bit default: wider than the engine's 10-bit tables.
    const q = quantizationForCounting({ mode: 'float' });
    const m = measureCandidate({ arch, cost, quantization: q, device: 'ice40-up5k' }, ['cycles', 'luts', 'params'], resolveConstraints({ maxLuts: 'device' }, 'ice40-up5k'));
    assert.equal(m.values.cycles, UNBUILDABLE);
    assert.equal(m.values.luts, UNBUILDABLE);
    assert.ok(m.violation > 1e6);
    const feas = feasibility(space, { quantization: q, device: 'ice40-up5k', constraints: resolveConstraints({ maxLuts: 'device', maxParams: 100000 }, 'ice40-up5k') });
    const g = space.random(new Rng('hw'));
    assert.ok(feas.cheap(g), 'the counts work');
    assert.equal(feas.feasible(g), false);
  });
});
