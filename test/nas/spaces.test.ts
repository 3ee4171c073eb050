import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/moo/rng';
import type { Architecture } from '../../src/nn/arch';
import { architectureCost } from '../../src/nn/cost';
import { measureCandidate, objectiveProvider, quantizationForCounting, resolveConstraints, weightMemoryBits } from '../../src/nas/objectives';
import { selectCandidate } from '../../src/nas/select';
import type { Candidate } from '../../src/nas/search';
import { chainSpace } from '../../src/nas/spaces/chain';
import { denseNetSpace, type DenseNetGenome } from '../../src/nas/spaces/densenet';
import { isDeepMakerError } from '../../src/util/errors';

/** Layer types the C and RTL back ends implement (src/nn/arch.ts; dropout and batchnorm fold away). */
const SUPPORTED = new Set(['conv2d', 'depthwise_conv2d', 'maxpool2d', 'avgpool2d', 'global_avgpool2d', 'flatten', 'dense', 'dense_block', 'transition']);
const ctx = { input: [28, 28, 1], classes: 10, activations: ['relu' as const] };

for (const [name, space] of [['densenet', denseNetSpace(ctx)], ['chain', chainSpace(ctx)]] as const) {
  describe(`the ${name} space`, () => {
    const rng = new Rng(`space-${name}`);
    const genomes = Array.from({ length: 300 }, () => space.random(rng));

    it('maps every random, mutated and crossed genome to a buildable architecture of supported layers', () => {
      const all = [...genomes];
      for (let i = 0; i + 1 < genomes.length; i += 2) {
        const [a, b] = space.crossover(genomes[i] as never, genomes[i + 1] as never, rng);
        all.push(a, b, space.mutate(a as never, rng), space.mutate(genomes[i] as never, rng));
      }
      for (const g of all) {
        const arch: Architecture = space.toArchitecture(g as never);
        assert.deepEqual(arch.input, [28, 28, 1]);
        assert.equal(arch.classes, 10);
        for (const l of arch.layers) assert.ok(SUPPORTED.has(l.type), l.type);
        const last = arch.layers[arch.layers.length - 1];
        assert.ok(last.type === 'dense' && last.units === 10, 'ends in the classifier');
        const cost = architectureCost(arch); // throws if a shape does not work out
        assert.ok(cost.params > 0 && cost.macs > 0);
      }
    });

    it('covers a wide range of sizes', () => {
      const params = genomes.map((g) => architectureCost(space.toArchitecture(g as never)).params);
      assert.ok(Math.min(...params) < 3000 && Math.max(...params) > 60000, `params ${Math.min(...params)}..${Math.max(...params)}`);
      assert.ok(new Set(genomes.map((g) => space.key(g as never))).size > 250, 'random genomes are mostly distinct');
    });

    it('mutation almost always changes the network, and never the parent', () => {
      let changed = 0;
      for (const g of genomes.slice(0, 100)) {
        const before = JSON.stringify(g);
        const m = space.mutate(g as never, rng);
        assert.equal(JSON.stringify(g), before);
        if (space.key(m as never) !== space.key(g as never)) changed++;
      }
      assert.ok(changed >= 80, `${changed}/100 mutations changed the architecture`);
    });
  });
}

describe('genome keys', () => {
  it('genes a network does not use do not change its key (duplicates are one candidate)', () => {
    const space = denseNetSpace(ctx);
    const g: DenseNetGenome = { stem: 8, stemStride: 1, stemPool: true, blocks: 1, layers: [2, 3, 4], kernels: [3, 5, 5], growth: 8, compression: 0.5, pool: 'max', head: 'gap', classifier: 0, activation: 'relu' };
    const h: DenseNetGenome = { ...g, layers: [2, 1, 1], kernels: [3, 3, 3] };
    assert.equal(space.key(g), space.key(h));
    assert.notEqual(space.key(g), space.key({ ...g, growth: 12 }));
    // The template: stem, pool, block, global average pool, classifier.
    assert.deepEqual(space.toArchitecture(g).layers.map((l) => l.type), ['conv2d', 'maxpool2d', 'dense_block', 'global_avgpool2d', 'dense']);
    assert.deepEqual(space.toArchitecture({ ...g, blocks: 2, head: 'flatten', classifier: 32 }).layers.map((l) => l.type), ['conv2d', 'maxpool2d', 'dense_block', 'transition', 'dense_block', 'transition', 'flatten', 'dense', 'dense']);

    // A strided stem (DenseNet's own): a quarter of the positions after it, so a quarter of the MACs
    // of every layer up to the head; a genome stored before the gene existed reads as stride 1.
    const s2 = { ...g, stemPool: false, stemStride: 2 };
    assert.equal((space.toArchitecture(s2).layers[0] as { stride?: number }).stride, 2);
    const ratio = architectureCost(space.toArchitecture({ ...s2, stemStride: 1 })).macs / architectureCost(space.toArchitecture(s2)).macs;
    assert.ok(ratio > 3.98 && ratio < 4, `MACs ratio ${ratio}`);
    const { stemStride: _unused, ...old } = g;
    void _unused;
    assert.equal(space.key(old as DenseNetGenome), space.key(g));
  });

  it('the stem-stride gene (search.stemStrides) exists only with two choices: without it the space draws and mutates as before', () => {
    const plain = denseNetSpace(ctx), one = denseNetSpace({ ...ctx, stemStrides: [1] }), both = denseNetSpace({ ...ctx, stemStrides: [1, 2] });
    const draw = (sp: typeof plain, seed: string) => {
      const rng = new Rng(seed);
      return Array.from({ length: 40 }, () => sp.mutate(sp.random(rng), rng)).map((x) => sp.key(x));
    };
    assert.deepEqual(draw(one, 's'), draw(plain, 's'));
    const strided = Array.from({ length: 200 }, (_, i) => both.random(new Rng(`t${i}`))).filter((x) => x.stemStride === 2).length;
    assert.ok(strided > 60 && strided < 140, `${strided} of 200 draws strided`);
    assert.notDeepEqual(draw(both, 's'), draw(plain, 's'));
  });
});

describe('stem strides in the chain space', () => {
  it('without search.stemStrides the chain space draws and mutates as before; [1, 2] is that default', () => {
    const draw = (sp: ReturnType<typeof chainSpace>, seed: string) => {
      const rng = new Rng(seed);
      return Array.from({ length: 40 }, () => sp.mutate(sp.random(rng), rng)).map((x) => sp.key(x));
    };
    assert.deepEqual(draw(chainSpace({ ...ctx, stemStrides: [1, 2] }), 'c'), draw(chainSpace(ctx), 'c'));
  });

  it('a stride of 4 is a patch stem: the first conv reads 4x4 (or 5x5) patches, 28x28 -> 7x7, and the stem keeps to the listed strides', () => {
    const space = chainSpace({ ...ctx, stemStrides: [2, 4] });
    const rng = new Rng('patch');
    let patches = 0;
    for (let i = 0; i < 200; i++) {
      const g = i % 2 ? space.random(rng) : space.mutate(space.random(rng), rng);
      assert.ok([2, 4].includes(g.features[0].op === 'conv' ? g.features[0].stride : -1), `stem ${JSON.stringify(g.features[0])}`);
      const a = space.toArchitecture(g);
      const stem = a.layers[0];
      assert.equal(stem.type, 'conv2d');
      if (stem.type === 'conv2d' && stem.stride === 4) {
        patches++;
        assert.ok(stem.kernel >= 4, `a stride-4 stem with kernel ${stem.kernel} would skip pixels`);
        assert.match(space.describe(g), new RegExp(`^conv${stem.kernel}x${stem.kernel}/4:`));
      }
    }
    assert.ok(patches > 60 && patches < 140, `${patches} of 200 stems are patch stems`);
    // The map after a patch stem: a 7x7 conv output (same padding), so a flattened head has 49 values per channel.
    const g = { features: [{ op: 'conv' as const, filters: 8, kernel: 3, stride: 4 }], head: 'flatten' as const, hidden: [], activation: 'relu' as const };
    // kernel 4x4x1x8 (no bias: BatchNormalization follows, 4 values per channel), then dense 392 -> 10.
    assert.equal(architectureCost(space.toArchitecture(g)).params, 4 * 4 * 8 + 4 * 8 + 7 * 7 * 8 * 10 + 10);
  });

  it('a densenet description names what the repairs built: on a 6x6 input no stem stride, no stem pool, one block of three', () => {
    const small = denseNetSpace({ input: [6, 6, 1], classes: 4, activations: ['relu'], stemStrides: [1, 2] });
    const g: DenseNetGenome = { stem: 8, stemStride: 2, stemPool: true, blocks: 3, layers: [2, 3, 4], kernels: [3, 5, 5], growth: 8, compression: 0.5, pool: 'max', head: 'gap', classifier: 0, activation: 'relu' };
    // 6x6: a stride of 2 needs 8x8, the stem pool 4x4 (it pools), then a transition would leave under 2x2.
    assert.deepEqual(small.toArchitecture(g).layers.map((l) => l.type), ['conv2d', 'maxpool2d', 'dense_block', 'global_avgpool2d', 'dense']);
    assert.equal(small.describe(g), 'stem 8+pool, blocks 2x3x3, growth 8, compression 0.5, max pool, gap, relu');
    const big = denseNetSpace({ ...ctx, stemStrides: [1, 2] });
    assert.equal(big.describe(g), 'stem 8/2+pool, blocks 2x3x3/3x5x5, growth 8, compression 0.5, max pool, gap, relu');
  });

  it('a description names what the repairs built: a stride of 4 on a small map is 2, a pool below 2x2 is gone', () => {
    const space = chainSpace({ ...ctx, stemStrides: [2, 4] });
    const g = {
      features: [
        { op: 'conv' as const, filters: 8, kernel: 3, stride: 4 },
        { op: 'conv' as const, filters: 16, kernel: 3, stride: 4 },
        { op: 'pool' as const, kind: 'max' as const },
        { op: 'pool' as const, kind: 'avg' as const },
        { op: 'pool' as const, kind: 'max' as const },
      ],
      head: 'flatten' as const, hidden: [32], activation: 'relu' as const,
    };
    // 28x28 -> 7x7 (patch stem) -> 4x4 (the second stride 4 made 2) -> 2x2 (max) -> 1x1 (avg) -> the last pool dropped.
    assert.equal(space.describe(g), 'conv4x4/4:8 conv3x3/2:16 maxpool avgpool flatten fc32 relu');
  });
});

describe('objectives and constraints', () => {
  const arch: Architecture = {
    input: [8, 8, 1],
    classes: 4,
    layers: [
      { type: 'conv2d', filters: 4, kernel: 3, padding: 'same', activation: 'relu', batchnorm: true },
      { type: 'depthwise_conv2d', kernel: 3, padding: 'same', activation: 'relu' },
      { type: 'global_avgpool2d' },
      { type: 'dense', units: 4 },
    ],
  };
  const cost = architectureCost(arch);

  it('weight bits: kernels at the weight width, one bias per channel at the bias width (BN folded), ternary scales', () => {
    // conv: 36 kernel values + 4 biases (from BN); depthwise: 36 + 4; dense: 16 + 4.
    const fixed8 = quantizationForCounting({ mode: 'fixed', weights: { bits: 8, integer: 1 } });
    assert.equal(weightMemoryBits(cost, fixed8), (36 + 36 + 16) * 8 + 12 * 16);
    const fixed4 = quantizationForCounting({ mode: 'fixed', weights: { bits: 4, integer: 1 }, biasBits: 8 });
    assert.equal(weightMemoryBits(cost, fixed4), (36 + 36 + 16) * 4 + 12 * 8);
    const ternary = quantizationForCounting({ mode: 'ternary' });
    assert.equal(weightMemoryBits(cost, ternary), (36 + 36 + 16) * 2 + 12 * (16 + 16));
    assert.equal(weightMemoryBits(cost, quantizationForCounting({ mode: 'float' })), (36 + 36 + 16) * 32 + 12 * 32);
  });

  it("`device` is the device's EBR bits; violation is the relative excess summed over constraints", () => {
    assert.deepEqual(resolveConstraints({ maxWeightBits: 'device', maxMacs: 1000 }, 'ice40-up5k'), [
      { objective: 'macs', limit: 1000 },
      { objective: 'weightBits', limit: 30 * 4096 },
    ]);
    assert.equal(resolveConstraints({ maxWeightBits: 'device' }, 'ice40-hx8k')[0].limit, 32 * 4096);
    const q = quantizationForCounting({ mode: 'fixed', weights: { bits: 8, integer: 1 } });
    const m = measureCandidate({ arch, cost, quantization: q, device: 'ice40-up5k' }, ['params'], [{ objective: 'macs', limit: cost.macs / 2 }, { objective: 'params', limit: cost.params * 4 }]);
    assert.equal(m.values.params, cost.params);
    assert.equal(m.violation, 1);
  });

  it('hardware objectives need a registered provider (the DSE hook); until then asking is a clear error', () => {
    assert.throws(() => objectiveProvider('cycles'), (e) => isDeepMakerError(e) && /DSE cost model/.test(e.message));
    assert.throws(() => resolveConstraints({ maxLuts: 100 } as never, 'ice40-up5k'), (e) => isDeepMakerError(e) && /luts/.test(e.message));
  });
});

describe('selection from the Pareto set', () => {
  const cand = (index: number, error: number | null, params: number, feasible = true, rung = 1): Candidate =>
    ({ id: `c${index}`, key: `k${index}`, index, error, rung, feasible, objectives: [error ?? 1, params], values: { params }, violation: feasible ? 0 : 1 }) as unknown as Candidate;

  it('lowest-error takes the smallest error; ties go to the longer-trained, then the cheaper', () => {
    const front = [cand(0, 0.05, 100), cand(1, 0.02, 5000), cand(2, 0.02, 3000), cand(3, 0.01, 9000, false)];
    assert.equal(selectCandidate(front, 'lowest-error', [1, 10000]).id, 'c2');
    assert.equal(selectCandidate([cand(0, 0.02, 100, true, 0), cand(1, 0.02, 900, true, 1)], 'lowest-error', [1, 10000]).id, 'c1');
  });

  it('knee takes the compromise nearest the ideal point', () => {
    const front = [cand(0, 0.2, 100), cand(1, 0.03, 800), cand(2, 0.02, 9000)];
    assert.equal(selectCandidate(front, 'knee', [1, 10000]).id, 'c1');
  });

  it('with bounds, the rule picks among the members within them only', () => {
    const front = [cand(0, 0.2, 100), cand(1, 0.03, 800), cand(2, 0.025, 4000), cand(3, 0.01, 9000), cand(4, 0.001, 900, false)];
    assert.equal(selectCandidate(front, { rule: 'lowest-error', maxParams: 5000 }, [1, 10000]).id, 'c2');
    assert.equal(selectCandidate(front, { rule: 'lowest-error', maxParams: 1000 }, [1, 10000]).id, 'c1', 'the infeasible c4 is never picked');
    assert.equal(selectCandidate(front, { rule: 'lowest-error' }, [1, 10000]).id, 'c3');
    assert.throws(
      () => selectCandidate(front, { rule: 'knee', maxParams: 50 }, [1, 10000]),
      (e) => isDeepMakerError(e) && /search\.select/.test(e.message) && /smallest has 100 params/.test(e.message),
    );
  });

  it('nothing feasible is a DeepMakerError naming the constraints', () => {
    assert.throws(() => selectCandidate([cand(0, null, 100, false)], 'lowest-error', [1, 1]), (e) => isDeepMakerError(e) && /search\.constraints/.test(e.message));
  });
});

describe('the weight-bit objective agrees with the quantization report', () => {
  it('for random members of both spaces, in fixed and ternary modes (src/quant/qat.ts weightMemory)', async () => {
    const tf = await import('@tensorflow/tfjs');
    const { buildQuantizedModel } = await import('../../src/quant/model.js');
    const { weightMemory } = await import('../../src/quant/qat.js');
    const { resolveQuantization } = await import('../../src/quant/config.js');
    await tf.setBackend('cpu');
    const small = { input: [12, 12, 1], classes: 3, activations: ['relu' as const] };
    const rng = new Rng('agree');
    for (const space of [denseNetSpace(small), chainSpace(small)]) {
      for (let i = 0; i < 3; i++) {
        const arch = space.toArchitecture(space.random(rng) as never);
        for (const q of [{ mode: 'fixed' as const, weights: { bits: 6, integer: 1 } }, { mode: 'ternary' as const }]) {
          const plan = resolveQuantization(q, { rounding: 'half-even', overflow: 'saturate' });
          const model = buildQuantizedModel(arch, 1, plan);
          assert.equal(weightMemoryBits(architectureCost(arch), plan), weightMemory(model, plan).total, `${space.name} ${q.mode}`);
          model.dispose();
        }
      }
    }
  });
});
