/**
 * The synth and bitstream stages end to end on a hand-written accelerator (fixtures/tiny_accel.v:
 * 8 MAC lanes, a 256 x 64-bit weight ROM) standing in for the rtl stage: Yosys synthesis for the
 * UP5K, netlist simulation against the reference outputs, the iCEBreaker UART top, nextpnr +
 * icepack to a .bin; then an icebram weight swap, and the UART bridge on the serial line. The
 * toolchain is `auto` (YoWASP unless native tools are on PATH); the slow steps run once in `before`
 * and the tests share their outputs.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getBoard } from '../../src/fpga/boards';
import { getDevice } from '../../src/fpga/devices';
import { applyAscRams, swapWeights } from '../../src/fpga/icebram';
import { NetlistSimulator, YosysNetlist } from '../../src/fpga/netlist-sim';
import { runStreamOnNetlist } from '../../src/fpga/stream-sim';
import { SynthResult, synthesize } from '../../src/fpga/synth';
import { checkNetlistAgainstVectors, SimVectors } from '../../src/stages/synth';
import { selectToolchain, Toolchain } from '../../src/fpga/toolchain';
import { uartRtlPaths } from '../../src/fpga/uart-top';
import { CMD_INFO, CMD_SAMPLE, modelIdentity } from '../../src/fpga/board-protocol';
import { runStage } from '../../src/stages/run';
import { streamInterface } from '../../src/rtl/interface';
import { readJson } from '../../src/util/fs';
import { silentLogger } from '../../src/util/log';
import { argmax, randomSamples, randomWeights, referenceLogits, TINY, TINY_ACCEL, writeWeights } from './tiny-accel';
import { decodeSerial, idleLine, runSerial, serialFrames } from './uart-bench';

const device = getDevice('ice40-up5k');
const board = getBoard('icebreaker')!;
const NETLIST_SAMPLES = 40;

/**
 * A project folder as the rtl and sim stages would leave it for the tiny accelerator: dist/rtl (the
 * Verilog, its ROM image, interface.json) and dist/sim (vectors with the reference outputs), plus
 * the spec views of synth and bitstream.
 */
function fakeUpstream(root: string, weights: string[]): void {
  const w = (f: string, data: string | Uint8Array) => {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), data);
  };
  const target = { device: device.name, board: board.name, toolchain: 'auto', baud: 115200 };
  w('dist/spec/synth.json', JSON.stringify({ target, files: {} }));
  w('dist/spec/bitstream.json', JSON.stringify({ target: { ...target, clockMHz: 12 }, files: {} }));
  w('dist/rtl/deepmaker_accel.v', readFileSync(TINY_ACCEL));
  w('dist/rtl/tiny_weights.hex', weights.join('\n') + '\n');
  const fmt = (bits: number) => ({ bits, integer: bits, rounding: 'truncate' as const, overflow: 'wrap' as const });
  w('dist/rtl/interface.json', JSON.stringify(streamInterface([TINY.inputs], fmt(8), TINY.outputs, fmt(TINY.outBits))));
  w('dist/rtl/report.json', '{}');
  const samples = randomSamples(NETLIST_SAMPLES, 7);
  const logits = samples.map((x) => referenceLogits(weights, x));
  w('dist/sim/vectors.bin', Buffer.concat(samples));
  w('dist/sim/vectors.json', JSON.stringify({ file: 'vectors.bin', samples: NETLIST_SAMPLES, netlistSamples: NETLIST_SAMPLES, inputBytes: TINY.inputs, outputs: TINY.outputs, outBits: TINY.outBits, logits, classes: logits.map(argmax) }));
  w('dist/sim/report.json', '{}');
}

describe('iCE40 flow on a hand-written 8-lane accelerator', { timeout: 900_000 }, () => {
  let root: string;
  let tc: Toolchain;
  let weights: string[];
  let synthReport: any;
  let bitReport: any;
  let bridge: SynthResult;
  const accelJson = () => join(root, 'dist/synth/accel.json');
  const asc = () => join(root, 'dist/bitstream/deepmaker.asc');

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'deepmaker-fpga-'));
    tc = selectToolchain('auto');
    weights = randomWeights(1);
    fakeUpstream(root, weights);
    await runStage('synth', root, root, silentLogger);
    await runStage('bitstream', root, root, silentLogger);
    synthReport = readJson(join(root, 'dist/synth/report.json'));
    bitReport = readJson(join(root, 'dist/bitstream/report.json'));
    // The bridge alone (no board pins), with a short bit time and timeout so the serial bench stays small.
    bridge = await synthesize({
      toolchain: tc,
      device,
      dir: join(root, 'bridge'),
      sources: uartRtlPaths(),
      netlists: [join(root, 'dist/synth/accel.v')],
      top: 'deepmaker_uart_bridge',
      parameters: { CLKS_PER_BIT: 16, INPUT_BYTES: TINY.inputs, OUT_BITS: TINY.outBits, CLASS_BITS: TINY.classBits, TIMEOUT_CLKS: 3000 },
      name: 'bridge',
    });
  });

  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('synth: maps the 8 lanes to the 8 DSPs and the ROM to block RAM, counts cells like the netlist, packs to a fitting cell count', () => {
    assert.equal(synthReport.device, 'ice40-up5k');
    assert.equal(synthReport.board, 'icebreaker');
    assert.equal(synthReport.dsp, 8);
    assert.ok(synthReport.ebr >= 4, `ebr ${synthReport.ebr}`);
    assert.ok(synthReport.logicCells >= synthReport.logicCellsLowerBound && synthReport.logicCells <= device.logicCells, `logic cells ${synthReport.logicCells}`);
    assert.equal(synthReport.tool, tc.kind);
    assert.match(synthReport.version, /Yosys/);
    const netlist = JSON.parse(readFileSync(join(root, 'dist/synth/netlist.json'), 'utf8')) as YosysNetlist;
    const cells = Object.values(netlist.modules[synthReport.top].cells);
    assert.equal(cells.filter((c) => c.type === 'SB_LUT4').length, synthReport.luts);
    assert.equal(cells.filter((c) => c.type === 'SB_MAC16').length, synthReport.dsp);
    // The accelerator is stitched in unchanged: every DSP still has its clock.
    for (const c of cells.filter((c) => c.type === 'SB_MAC16')) assert.notEqual(c.connections.CLK[0], '0');
    assert.deepEqual(readJson(join(root, 'dist/synth/manifest.json')), {
      device: 'ice40-up5k', package: 'sg48', board: 'icebreaker', top: synthReport.top, netlist: 'netlist.json', roms: ['rom/tiny_weights.hex'],
      cycles: synthReport.netlistSim.cycles, baud: 115200,
      accel: { top: 'deepmaker_accel', netlist: 'accel.v', inputBytes: TINY.inputs, outputs: TINY.outputs, outBits: TINY.outBits, classBits: TINY.classBits, modelId: modelIdentity(join(root, 'dist/rtl/interface.json'), [join(root, 'dist/rtl/deepmaker_accel.v'), join(root, 'dist/rtl/tiny_weights.hex')]) },
    });
  });

  it('synth: the synthesized netlist is bit-exact with the reference outputs on every vector', () => {
    assert.equal(synthReport.netlistSim.samples, NETLIST_SAMPLES);
    assert.equal(synthReport.netlistSim.bitExact, NETLIST_SAMPLES);
    // From the last input byte to the first logit (as the RTL simulation counts): 256 MAC steps, 3 clocks
    // of draining the 2-stage pipeline, then the first output beat.
    assert.equal(synthReport.netlistSim.cycles, 256 + 4, `cycles ${synthReport.netlistSim.cycles}`);
  });

  it('synth: a vector whose expected output is wrong is reported, not passed', () => {
    const netlist = JSON.parse(readFileSync(accelJson(), 'utf8')) as YosysNetlist;
    const vec = readJson<SimVectors>(join(root, 'dist/sim/vectors.json'));
    vec.netlistSamples = 4;
    vec.logits[2][5] += 1;
    const check = checkNetlistAgainstVectors(netlist, 'deepmaker_accel', new Uint8Array(readFileSync(join(root, 'dist/sim/vectors.bin'))), vec);
    assert.equal(check.bitExact, 3);
    assert.deepEqual(JSON.parse(check.mismatches[0]).differing, [5]);
  });

  it('catches a netlist whose DSP is wired wrongly', () => {
    const netlist = JSON.parse(readFileSync(accelJson(), 'utf8')) as YosysNetlist;
    const dsp = Object.values(netlist.modules.deepmaker_accel.cells).find((c) => c.type === 'SB_MAC16')!;
    dsp.connections.A[0] = '0'; // one lane loses bit 0 of its weight operand
    const samples = randomSamples(8, 7);
    const r = runStreamOnNetlist(netlist, samples);
    const exact = samples.filter((x, k) => JSON.stringify(r.outputs[k]) === JSON.stringify(referenceLogits(weights, x))).length;
    assert.ok(exact < samples.length, 'the wrong netlist must not look bit-exact');
  });

  it('bitstream: places and routes the iCEBreaker top at 12 MHz and packs a .bin', () => {
    assert.ok(bitReport.fmaxMHz >= 12, `fmax ${bitReport.fmaxMHz}`);
    assert.equal(bitReport.timingMet, true);
    assert.equal(bitReport.clockMHz, 12);
    assert.equal(bitReport.pll, undefined, 'the oscillator clocks the design: no PLL');
    assert.equal(bitReport.latencyUs, Math.round((synthReport.netlistSim.cycles / 12) * 100) / 100);
    assert.equal(bitReport.package, 'sg48');
    assert.equal(bitReport.dsp, 8);
    assert.equal(bitReport.logicCells, synthReport.logicCells, 'the packer count at synth time is the placed count');
    assert.equal(bitReport.utilization.SB_IO.used, 3 + 2 + TINY.classBits, 'CLK, RX, TX, two LEDs and the class LEDs');
    assert.match(bitReport.versions['nextpnr-ice40'], /nextpnr/);
    const bin = readFileSync(join(root, 'dist/bitstream', bitReport.file));
    assert.equal(bin.length, bitReport.bytes);
    assert.ok(bin.length > 100_000, `bin ${bin.length} bytes`);
    // An iCE40 bitstream carries the sync word 7E AA 99 7E.
    assert.ok(bin.indexOf(Buffer.from([0x7e, 0xaa, 0x99, 0x7e])) >= 0, 'sync word');
    assert.ok(existsSync(join(root, 'dist/bitstream/rom/tiny_weights.hex')));
  });

  it('swaps new weights into the bitstream with icebram, without place and route', async () => {
    const fresh = randomWeights(2);
    writeWeights(join(root, 'new_weights.hex'), fresh);
    const work = join(root, 'swap');
    mkdirSync(work, { recursive: true });
    const old = join(root, 'dist/bitstream/rom/tiny_weights.hex');
    await swapWeights(tc, asc(), old, join(root, 'new_weights.hex'), join(root, 'swapped.asc'), work);
    // The swapped bitstream's block RAMs, put back into the netlist, compute with the new weights.
    const netlist = JSON.parse(readFileSync(accelJson(), 'utf8')) as YosysNetlist;
    const rewritten = applyAscRams(netlist, 'deepmaker_accel', readFileSync(asc(), 'utf8'), readFileSync(join(root, 'swapped.asc'), 'utf8'));
    assert.ok(rewritten >= 4, `${rewritten} RAMs rewritten`);
    const samples = randomSamples(8, 5);
    const r = runStreamOnNetlist(netlist, samples);
    samples.forEach((x, k) => assert.deepEqual(r.outputs[k], referenceLogits(fresh, x), `sample ${k} with the new weights`));
    // Swapping back restores the original exactly.
    await swapWeights(tc, join(root, 'swapped.asc'), join(root, 'new_weights.hex'), old, join(root, 'back.asc'), work);
    assert.equal(readFileSync(join(root, 'back.asc'), 'utf8'), readFileSync(asc(), 'utf8'));
    // A file that is not what was synthesized is refused.
    await assert.rejects(swapWeights(tc, asc(), join(root, 'new_weights.hex'), old, join(root, 'x.asc'), work), /icebram could not swap/);
  });

  it('answers a sample sent over the UART with its class byte, at the right bit timing, and recovers from line errors', () => {
    const netlist = JSON.parse(readFileSync(bridge.netlistJson, 'utf8')) as YosysNetlist;
    const cpb = 16;
    const [a, b, c] = randomSamples(3, 11);
    const expect = [a, b, c].map((x) => argmax(referenceLogits(weights, x)));
    const S = (x: ArrayLike<number>) => [CMD_SAMPLE, ...Array.from(x)];
    const waves: number[][] = [[], [], [], [], [], []];
    // lane 0: exact baud rate, two samples back to back (the host waits for each reply)
    idleLine(waves[0], 50);
    serialFrames(waves[0], S(a), cpb);
    idleLine(waves[0], 2000);
    serialFrames(waves[0], S(b), cpb);
    // lanes 1, 2: a host 3 % slower / faster than the FPGA
    idleLine(waves[1], 50);
    serialFrames(waves[1], S(a), cpb * 1.03);
    idleLine(waves[2], 50);
    serialFrames(waves[2], S(a), cpb * 0.97);
    // lane 3: half a sample, a pause longer than the timeout, then a whole sample
    idleLine(waves[3], 50);
    serialFrames(waves[3], S(a.subarray(0, 10)), cpb);
    idleLine(waves[3], 4000);
    serialFrames(waves[3], S(c), cpb);
    // lane 4: a byte with a broken stop bit, then the line goes idle
    idleLine(waves[4], 50);
    serialFrames(waves[4], [0x55], cpb, { badStop: true });
    idleLine(waves[4], 100);
    // lane 5: a byte that is no command (dropped, error), the identify command (16 bytes of INFO: zeros
    // here, the parameter's default), then a sample
    idleLine(waves[5], 50);
    serialFrames(waves[5], [0x00, CMD_INFO], cpb);
    idleLine(waves[5], 16 * 10 * cpb + 200);
    serialFrames(waves[5], S(b), cpb);

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
    assert.deepEqual(replies[5].map((r) => r.value), [...new Array(16).fill(0), expect[1]], 'the identity block, then the class');
    assert.ok(traces[5].error.some((e) => e === 1), 'a byte that is no command raises error');
    for (const l of [0, 1, 2]) assert.equal(traces[l].error.some((e) => e === 1), false, `lane ${l} saw no error`);
  });
});
