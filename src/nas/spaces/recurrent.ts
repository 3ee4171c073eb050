/**
 * The recurrent space, for sequence inputs [timesteps, features] (`data.sequence: rows` for images,
 * `data.csv.window` for time series): a stack of recurrent layers, a head and dense layers.
 *
 *   input -> rnn[0] -> ... -> rnn[n-1] -> head -> dense(hidden[0]) -> ... -> dense(classes)
 *
 * Genome:
 *   recurrent  1..3 stacked layers, each { cell lstm | gru | simple_rnn; units 8, 16, 32, 48, 64 };
 *              Keras's defaults (tanh, sigmoid gates; GRU with reset_after false, the only GRU
 *              TensorFlow.js trains); every layer but the last returns its whole sequence
 *   head       last: the last layer's final state h ([units]);
 *              avg | max: the last layer returns its sequence, pooled over time by
 *              global_avgpool1d | global_maxpool1d
 *   hidden     0..2 dense layers of 16, 32, 64 or 128 units, with the activation
 *   activation one of the space's activations (relu unless the spec allows more); the dense layers'
 *
 * Its own space rather than genes of the chain space: the chain's genes (2-D convolutions, strides,
 * pools, flatten vs global average pool) mean nothing on a sequence and a recurrent layer means
 * nothing on an image, so one genome would carry half its genes unused on every input, and the
 * chain space's genomes, keys and stored evaluations stay exactly what they were. A Conv1D front is
 * not offered: train.architecture has no conv1d layer (the converter reads Keras Conv1D, the
 * builder does not make one).
 *
 * Crossover is one-point on the recurrent stacks (as the chain's on its features), uniform on the
 * rest; mutation changes one layer's cell or units, inserts or deletes a layer, or changes the
 * dense layers, the head or the activation.
 */
import type { Rng } from '../../moo/rng';
import type { ArchActivation, ArchNode, Architecture, RecurrentType } from '../../nn/arch';
import { architectureKey, crossLists, swapGenes, otherChoice, SearchSpace, SpaceContext, stepChoice } from '../space';

export interface RecurrentLayerGene {
  cell: RecurrentType;
  units: number;
}

export interface RecurrentGenome {
  recurrent: RecurrentLayerGene[];
  head: 'last' | 'avg' | 'max';
  hidden: number[];
  activation: ArchActivation;
}

export const RECURRENT_CHOICES = {
  cell: ['lstm', 'gru', 'simple_rnn'] as const,
  units: [8, 16, 32, 48, 64],
  head: ['last', 'avg', 'max'] as const,
  hidden: [16, 32, 64, 128],
  maxRecurrent: 3,
  maxHidden: 2,
};

export function recurrentSpace(ctx: SpaceContext): SearchSpace<RecurrentGenome> {
  const C = RECURRENT_CHOICES;
  const randomLayer = (rng: Rng): RecurrentLayerGene => ({ cell: rng.pick(C.cell), units: rng.pick(C.units) });

  const random = (rng: Rng): RecurrentGenome => ({
    recurrent: Array.from({ length: rng.intBetween(1, C.maxRecurrent) }, () => randomLayer(rng)),
    head: rng.pick(C.head),
    hidden: Array.from({ length: rng.int(C.maxHidden + 1) }, () => rng.pick(C.hidden)),
    activation: rng.pick(ctx.activations),
  });

  const mutate = (g: RecurrentGenome, rng: Rng): RecurrentGenome => {
    const out = clone(g);
    const r = rng.next();
    if (r < 0.45) {
      const i = rng.int(out.recurrent.length);
      const l = out.recurrent[i];
      out.recurrent[i] = rng.bool() ? { ...l, cell: otherChoice(C.cell, l.cell, rng) } : { ...l, units: stepChoice(C.units, l.units, rng) };
    } else if (r < 0.57 && out.recurrent.length < C.maxRecurrent) {
      out.recurrent.splice(rng.intBetween(0, out.recurrent.length), 0, randomLayer(rng));
    } else if (r < 0.69 && out.recurrent.length > 1) {
      out.recurrent.splice(rng.int(out.recurrent.length), 1);
    } else if (r < 0.84) {
      if (out.hidden.length && rng.bool()) {
        const i = rng.int(out.hidden.length);
        out.hidden[i] = stepChoice(C.hidden, out.hidden[i], rng);
      } else if (out.hidden.length < C.maxHidden && rng.bool()) out.hidden.push(rng.pick(C.hidden));
      else if (out.hidden.length) out.hidden.pop();
      else out.hidden.push(rng.pick(C.hidden));
    } else if (r < 0.96 || ctx.activations.length < 2) {
      out.head = otherChoice(C.head, out.head, rng);
    } else {
      out.activation = otherChoice(ctx.activations, out.activation, rng);
    }
    return out;
  };

  const toArchitecture = (g: RecurrentGenome): Architecture => {
    const layers: ArchNode[] = g.recurrent.map((l, i) => ({
      type: l.cell,
      units: l.units,
      ...(i < g.recurrent.length - 1 || g.head !== 'last' ? { returnSequences: true } : {}),
    }));
    if (g.head === 'avg') layers.push({ type: 'global_avgpool1d' });
    else if (g.head === 'max') layers.push({ type: 'global_maxpool1d' });
    for (const units of g.hidden) layers.push({ type: 'dense', units, activation: g.activation });
    layers.push({ type: 'dense', units: ctx.classes });
    return { input: [...ctx.input], classes: ctx.classes, layers };
  };

  return {
    name: 'recurrent',
    random,
    mutate,
    toArchitecture,
    key: (g) => architectureKey(toArchitecture(g)),
    // One-point crossover of the recurrent stacks (cut points drawn in each parent), uniform for the rest.
    crossover: (a, b, rng) => {
      const [r1, r2] = crossLists(a.recurrent, b.recurrent, C.maxRecurrent, rng);
      const [h1, h2] = swapGenes(a.head, b.head, rng);
      const [d1, d2] = swapGenes(a.hidden, b.hidden, rng);
      const [a1, a2] = swapGenes(a.activation, b.activation, rng);
      return [
        { recurrent: r1.map((l) => ({ ...l })), head: h1, hidden: [...d1], activation: a1 },
        { recurrent: r2.map((l) => ({ ...l })), head: h2, hidden: [...d2], activation: a2 },
      ];
    },
    describe: (g) => `${g.recurrent.map((l) => `${l.cell}:${l.units}`).join(' ')} ${g.head === 'last' ? 'last' : `${g.head}pool`}${g.hidden.map((u) => ` fc${u}`).join('')} ${g.activation}`,
  };
}

function clone(g: RecurrentGenome): RecurrentGenome {
  return { recurrent: g.recurrent.map((l) => ({ ...l })), head: g.head, hidden: [...g.hidden], activation: g.activation };
}
