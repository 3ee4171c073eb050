/**
 * The FPGA flow end to end on a hand-written accelerator (fixtures/tiny_accel.v: 8 MAC lanes, a
 * 256 x 64-bit weight ROM): Yosys synthesis for the UP5K, netlist simulation against the reference
 * model, the iCEBreaker UART top, nextpnr + icepack to a .bin, an icebram weight swap, and the UART
 * bridge on the serial line. The toolchain is `auto` (YoWASP unless native tools are on PATH); the
 * slow steps run once in `before` and the tests share their outputs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getBoard } from '../../src/fpga/boards';
import { getDevice } from '../../src/fpga/devices';
import { applyAscRams, swapWeights } from '../../src/fpga/icebram';
import { NetlistSimulator, YosysNetlist } from '../../src/fpga/netlist-sim';
import { PnrResult, placeAndRoute } from '../../src/fpga/pnr';
import { runStreamOnNetlist } from '../../src/fpga/stream-sim';
import { SynthResult, synthesize } from '../../src/fpga/synth';
import { selectToolchain, Toolchain } from '../../src/fpga/toolchain';
import { boardTop, uartRtlPaths } from '../../src/fpga/uart-top';
import { argmax, randomSamples, randomWeights, referenceLogits, TINY, TINY_ACCEL, writeWeights } from './tiny-accel';
import { decodeSerial, idleLine, runSerial, serialFrames } from './uart-bench';

const device = getDevice('ice40-up5k');
const board = getBoard('icebreaker')!;

describe('iCE40 flow on a hand-written 8-lane accelerator', { timeout: 900_000 }, () => {
  let dir: string;
  let tc: Toolchain;
  let weights: string[];
  let accel: SynthResult;
  let top: SynthResult;
  let pnr: PnrResult;
  let bridge: SynthResult;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deepmaker-fpga-'));
    tc = selectToolchain('auto');
    weights = randomWeights(1);
    writeWeights(join(dir, 'tiny_weights.hex'), weights);
    accel = await synthesize({ toolchain: tc, device, dir: join(dir, 'accel'), sources: [TINY_ACCEL], dataFiles: [join(dir, 'tiny_weights.hex')], top: 'deepmaker_accel', name: 'accel' });
    const bt = boardTop(board, { inputBytes: TINY.inputs, outBits: TINY.outBits, classBits: TINY.classBits });
    writeFileSync(join(dir, 'board_top.v'), bt.verilog);
    top = await synthesize({ toolchain: tc, device, dir: join(dir, 'top'), sources: [...uartRtlPaths(), join(dir, 'board_top.v')], netlists: [accel.netlistVerilog], top: bt.module, name: 'top' });
    pnr = await placeAndRoute({ toolchain: tc, device, package: board.package, dir: join(dir, 'top'), netlistJson: top.netlistJson, pcf: bt.pcf, freqMHz: board.oscillatorMHz });
    // The bridge alone (no board pins), with a short bit time and timeout so the serial bench stays small.
    bridge = await synthesize({
      toolchain: tc,
      device,
      dir: join(dir, 'bridge'),
      sources: uartRtlPaths(),
      netlists: [accel.netlistVerilog],
      top: 'deepmaker_uart_bridge',
      parameters: { CLKS_PER_BIT: 16, INPUT_BYTES: TINY.inputs, OUT_BITS: TINY.outBits, CLASS_BITS: TINY.classBits, TIMEOUT_CLKS: 3000 },
      name: 'bridge',
    });
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('maps the 8 lanes to the 8 DSPs and the ROM to block RAM, and counts cells like the netlist does', () => {
    assert.equal(accel.resources.dsp, 8);
    assert.ok(accel.resources.ebr >= 4, `ebr ${accel.resources.ebr}`);
    assert.ok(accel.resources.luts > 100 && accel.resources.luts < device.logicCells, `luts ${accel.resources.luts}`);
    assert.ok(accel.resources.ffs > 500, `ffs ${accel.resources.ffs}`);
    const netlist = JSON.parse(readFileSync(accel.netlistJson, 'utf8')) as YosysNetlist;
    const cells = Object.values(netlist.modules.deepmaker_accel.cells);
    assert.equal(cells.filter((c) => c.type === 'SB_LUT4').length, accel.resources.luts);
    assert.equal(cells.filter((c) => c.type === 'SB_MAC16').length, accel.resources.dsp);
  });

  it('simulates the synthesized netlist bit-exactly against the reference model', () => {
    const netlist = JSON.parse(readFileSync(accel.netlistJson, 'utf8')) as YosysNetlist;
    const samples = randomSamples(40, 7);
    const r = runStreamOnNetlist(netlist, samples);
    samples.forEach((x, k) => {
      const ref = referenceLogits(weights, x);
      assert.deepEqual(r.outputs[k], ref, `sample ${k}`);
      assert.equal(r.classes[k], argmax(ref), `class of sample ${k}`);
    });
    // 64 input beats + 256 MAC steps + pipeline and 32 output beats: the same every sample.
    assert.ok(r.cycles.every((c) => c === r.cycles[0]) && r.cycles[0] > 64 + 256, `cycles ${r.cycles[0]}`);
  });

  it('catches a netlist whose DSP is wired wrongly', () => {
    const netlist = JSON.parse(readFileSync(accel.netlistJson, 'utf8')) as YosysNetlist;
    const dsp = Object.values(netlist.modules.deepmaker_accel.cells).find((c) => c.type === 'SB_MAC16')!;
    dsp.connections.A[0] = '0'; // one lane loses bit 0 of its weight operand
    const samples = randomSamples(8, 7);
    const r = runStreamOnNetlist(netlist, samples);
    const exact = samples.filter((x, k) => JSON.stringify(r.outputs[k]) === JSON.stringify(referenceLogits(weights, x))).length;
    assert.ok(exact < samples.length, 'the wrong netlist must not look bit-exact');
  });

  it('places and routes the iCEBreaker top at 12 MHz and packs a bitstream', () => {
    assert.ok(pnr.fmaxMHz >= board.oscillatorMHz, `fmax ${pnr.fmaxMHz}`);
    assert.equal(pnr.utilization.ICESTORM_DSP.used, 8);
    assert.ok(pnr.utilization.ICESTORM_LC.used >= top.resources.luts, 'nextpnr packs at least one logic cell per LUT');
    assert.equal(pnr.utilization.SB_IO.used, 3 + 2 + TINY.classBits, 'CLK, RX, TX, two LEDs and the class LEDs');
    const bin = readFileSync(pnr.bin);
    assert.equal(bin.length, pnr.bytes);
    assert.ok(bin.length > 100_000, `bin ${bin.length} bytes`);
    // An iCE40 bitstream starts with the sync word 7E AA 99 7E (after the optional comment).
    assert.ok(bin.indexOf(Buffer.from([0x7e, 0xaa, 0x99, 0x7e])) >= 0, 'sync word');
  });

  it('swaps new weights into the bitstream with icebram, without place and route', async () => {
    const fresh = randomWeights(2);
    writeWeights(join(dir, 'new_weights.hex'), fresh);
    const work = join(dir, 'swap');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(work, { recursive: true });
    await swapWeights(tc, pnr.asc, join(dir, 'tiny_weights.hex'), join(dir, 'new_weights.hex'), join(dir, 'swapped.asc'), work);
    // The swapped bitstream's block RAMs, put back into the netlist, compute with the new weights.
    const netlist = JSON.parse(readFileSync(accel.netlistJson, 'utf8')) as YosysNetlist;
    const rewritten = applyAscRams(netlist, 'deepmaker_accel', readFileSync(pnr.asc, 'utf8'), readFileSync(join(dir, 'swapped.asc'), 'utf8'));
    assert.ok(rewritten >= 4, `${rewritten} RAMs rewritten`);
    const samples = randomSamples(8, 5);
    const r = runStreamOnNetlist(netlist, samples);
    samples.forEach((x, k) => assert.deepEqual(r.outputs[k], referenceLogits(fresh, x), `sample ${k} with the new weights`));
    // Swapping back restores the original exactly.
    await swapWeights(tc, join(dir, 'swapped.asc'), join(dir, 'new_weights.hex'), join(dir, 'tiny_weights.hex'), join(dir, 'back.asc'), work);
    assert.equal(readFileSync(join(dir, 'back.asc'), 'utf8'), readFileSync(pnr.asc, 'utf8'));
  });

  it('answers a sample sent over the UART with its class byte, at the right bit timing, and recovers from line errors', () => {
    const netlist = JSON.parse(readFileSync(bridge.netlistJson, 'utf8')) as YosysNetlist;
    const cpb = 16;
    const [a, b, c] = randomSamples(3, 11);
    const expect = [a, b, c].map((x) => argmax(referenceLogits(weights, x)));
    const waves: number[][] = [[], [], [], [], []];
    // lane 0: exact baud rate, two samples back to back (the host waits for each reply)
    idleLine(waves[0], 50);
    serialFrames(waves[0], a, cpb);
    idleLine(waves[0], 2000);
    serialFrames(waves[0], b, cpb);
    // lanes 1, 2: a host 3 % slower / faster than the FPGA
    idleLine(waves[1], 50);
    serialFrames(waves[1], a, cpb * 1.03);
    idleLine(waves[2], 50);
    serialFrames(waves[2], a, cpb * 0.97);
    // lane 3: half a sample, a pause longer than the timeout, then a whole sample
    idleLine(waves[3], 50);
    serialFrames(waves[3], a.subarray(0, 10), cpb);
    idleLine(waves[3], 4000);
    serialFrames(waves[3], c, cpb);
    // lane 4: a byte with a broken stop bit, then the line goes idle
    idleLine(waves[4], 50);
    serialFrames(waves[4], [0x55], cpb, { badStop: true });
    idleLine(waves[4], 100);

    const sim = new NetlistSimulator(netlist, 'deepmaker_uart_bridge', { lanes: waves.length });
    const traces = runSerial(sim, waves, 2500);

    const replies = traces.map((t) => decodeSerial(t.tx, cpb));
    assert.deepEqual(replies[0].map((r) => r.value), [expect[0], expect[1]]);
    // Every level change of a reply falls on a whole bit time after its start edge, and the stop bit is high.
    for (const r of replies[0]) {
      assert.ok(r.stopOk);
      for (const e of r.edges) assert.equal(e % cpb, 0, `edge at ${e} clocks`);
    }
    assert.deepEqual(replies[1].map((r) => r.value), [expect[0]], '3 % slow host');
    assert.deepEqual(replies[2].map((r) => r.value), [expect[0]], '3 % fast host');
    assert.deepEqual(replies[3].map((r) => r.value), [expect[2]], 'the stalled partial sample is dropped, the next one answered');
    assert.ok(traces[3].error.some((e) => e === 1), 'the timeout raises error');
    assert.equal(traces[3].error[traces[3].error.length - 1], 0, 'a good reply clears error');
    assert.equal(traces[3].lastClass, expect[2]);
    assert.deepEqual(replies[4], [], 'no reply to a framing error');
    assert.equal(traces[4].error[traces[4].error.length - 1], 1, 'a framing error raises error');
    assert.equal(traces[4].ready[traces[4].ready.length - 1], 1, 'and the bridge is ready for a sample again');
    for (const l of [0, 1, 2]) assert.equal(traces[l].error.some((e) => e === 1), false, `lane ${l} saw no error`);
  });
});
