/**
 * Directive sets and lowering errors: defaults clamp per layer, explicit directives are checked with
 * errors naming the layer, unsupported layers/activations fail clearly. No simulation here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultDirectives, resolveDirectives } from '../../src/rtl/directives';
import { generateRtl } from '../../src/rtl/generate';
import { lowerModelForRtl } from '../../src/rtl/lower';
import { predictCycles } from '../../src/rtl/cycles';
import { knobs, ModelBuilder, UP5K } from './helpers';

const small = () =>
  new ModelBuilder('m', [6, 6, 4], 1)
    .depthwise('dw', 3)
    .conv2d('c', 3, 1)
    .pool('p', 'maxpool2d', 2)
    .flatten()
    .dense('fc', 2)
    .build();

test('default directives clamp lanes per layer (no more than the outputs; depthwise: a power of two dividing the channels)', () => {
  const ir = small();
  const d = resolveDirectives(ir, defaultDirectives(ir, 8));
  assert.equal(d.get('dw')!.lanes, 4);
  assert.equal(d.get('dw')!.input.factor, 4);
  assert.equal(d.get('c')!.lanes, 3);
  assert.equal(d.get('fc')!.lanes, 2);
  assert.equal(d.get('p')!.lanes, 1);
  // `defaults` in a file clamp the same way; a pool is not touched by them.
  const e = resolveDirectives(ir, { version: 1, defaults: { lanes: 16 } });
  assert.equal(e.get('c')!.lanes, 3);
  assert.equal(e.get('p')!.lanes, 1);
});

test('explicit directives are checked and the error names the layer and what to do', () => {
  const ir = small();
  const bad: [unknown, RegExp][] = [
    [{ version: 1, layers: { c: { lanes: 5 } } }, /layer 'c'.*5 lanes unrolling 3 output channels[\s\S]*at most 3/],
    [{ version: 1, layers: { dw: { lanes: 3 } } }, /layer 'dw'.*banked 3 ways[\s\S]*power of two/],
    [{ version: 1, layers: { dw: { unroll: 'reduction', lanes: 2 } } }, /layer 'dw'.*no input-channel reduction/],
    [{ version: 1, layers: { fc: { lanes: 2, weights: { factor: 4 } } } }, /weights.factor=4 but lanes=2/],
    [{ version: 1, layers: { p: { lanes: 2 } } }, /layer 'p'.*only dense, conv and depthwise layers have MAC lanes/],
    [{ version: 1, layers: { nope: { lanes: 2 } } }, /layer 'nope', which the model does not have[\s\S]*layers are: input, dw/],
    [{ version: 2 }, /unsupported directive-set version 2/],
  ];
  for (const [set, re] of bad) assert.throws(() => resolveDirectives(ir, set as never, 'chosen.json'), (e: Error) => e.name === 'DeepMakerError' && re.test(e.message) && e.message.startsWith('chosen.json'));
});

test('two lane-parallel readers of one buffer must agree on its banking', () => {
  const b = new ModelBuilder('two', [4, 4, 4], 2).conv2d('a', 4, 1);
  b.add({ name: 'x', type: 'conv2d', inputs: ['a'], filters: 2, kernel: [1, 1], strides: [1, 1], dilation: [1, 1], padding: 'valid', outputShape: [4, 4, 2], activation: { kind: 'linear' }, useBias: false, weights: { kernel: { shape: [1, 1, 4, 2], data: new Float32Array(8).fill(0.5) } } });
  b.add({ name: 'y', type: 'conv2d', inputs: ['a'], filters: 2, kernel: [1, 1], strides: [1, 1], dilation: [1, 1], padding: 'valid', outputShape: [4, 4, 2], activation: { kind: 'linear' }, useBias: false, weights: { kernel: { shape: [1, 1, 4, 2], data: new Float32Array(8).fill(0.25) } } });
  b.add({ name: 's', type: 'add', inputs: ['x', 'y'], outputShape: [4, 4, 2] });
  const set = { version: 1 as const, layers: { x: { lanes: 2, unroll: 'reduction' as const }, y: { lanes: 4, unroll: 'reduction' as const } } };
  assert.throws(() => generateRtl(b.build(), knobs(8, 3), set, UP5K), /layer 'y'.*reads 'a' from 4 banks, but layer 'x' reads it from 2/);
});

test('unsupported layers and activations are errors naming the layer', () => {
  const sig = new ModelBuilder('s', [4], 1).dense('fc', 2, { activation: { kind: 'sigmoid' } }).dense('out', 2).build();
  assert.throws(() => lowerModelForRtl(sig, knobs(8, 3)), /layer 'fc' \(dense\): activation 'sigmoid' is not supported in RTL/);
  const soft = new ModelBuilder('s2', [4], 1).dense('fc', 2, { activation: { kind: 'softmax' } }).dense('out', 2).build();
  assert.throws(() => lowerModelForRtl(soft, knobs(8, 3)), /layer 'fc'.*softmax inside the network/);
  const b = new ModelBuilder('l', [4, 3], 1);
  b.add({ name: 'up', type: 'upsampling1d' as never, outputShape: [8, 3] });
  assert.throws(() => lowerModelForRtl(b.build(), knobs(8, 3)), /layer 'up' \(upsampling1d\): layer type 'upsampling1d' is not supported by the RTL back end[\s\S]*supported: dense.*lstm, gru, simple_rnn/);
  assert.throws(() => lowerModelForRtl(small(), { ...knobs(8, 3), mode: 'float' }), /floating point[\s\S]*convert.format: fixed/);
});

test('cycle model: more lanes, fewer cycles; the floor counts MACs / lanes', () => {
  const ir = small();
  const q = lowerModelForRtl(ir, knobs(8, 3));
  const one = predictCycles(q, resolveDirectives(ir, defaultDirectives(ir, 1)));
  const four = predictCycles(q, resolveDirectives(ir, defaultDirectives(ir, 4)));
  assert.ok(four.cycles < one.cycles);
  assert.equal(one.macs, 4 * 4 * 4 * 9 + 4 * 4 * 3 * 4 + 12 * 2);
  assert.equal(one.floorCycles, one.macs);
  assert.ok(one.cycles > one.floorCycles);
});
