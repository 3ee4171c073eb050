/**
 * lineSamples (src/fpga/serial-sim.ts): how a sample's time on the simulated line splits into sending,
 * computing and answering, including a core fast enough to answer inside the last byte's stop bit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineSamples, type LineEvent } from '../../src/fpga/serial-sim';

const bit = 100;
const frame = (dir: 'rx' | 'tx', byte: number, start: number): LineEvent => ({ dir, byte, start, end: start + 10 * bit });

test('a sample is the command and its bytes, then one answer: send, compute and answer clocks', () => {
  const ev = [frame('rx', 0x53, 0), frame('rx', 1, 1000), frame('rx', 2, 2000), frame('tx', 7, 3500)];
  assert.deepEqual(lineSamples(ev, 2, 0x53, 0x3f, 4), [{ sendClocks: 3000, computeClocks: 500, answerClocks: 1000 }]);
});

test('an answer that starts inside the last stop bit (a core faster than half a bit) computes 0 clocks, not a negative time', () => {
  const ev = [frame('rx', 0x53, 0), frame('rx', 1, 1000), frame('tx', 7, 1960)];
  const [s] = lineSamples(ev, 1, 0x53, 0x3f, 4);
  assert.equal(s.computeClocks, 0);
  assert.equal(s.sendClocks, 2000);
});
