/**
 * `deepmaker board` against the simulated board: the hand-written tiny accelerator (test/fpga/
 * fixtures/tiny_accel.v: 64 bytes in, 32 classes) through the synth stage, then its board top in the
 * netlist simulator behind a pseudo-terminal (socat), with the host code that talks to a real board.
 * Also the errors a user meets: a wrong port, a port where nothing answers, a bitstream of another model.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CMD_INFO, CMD_SAMPLE, INFO_BYTES, infoBlock, parseInfo } from '../../src/fpga/board-protocol';
import { getBoard } from '../../src/fpga/boards';
import { lineSamples } from '../../src/fpga/serial-sim';
import { runBoard } from '../../src/board/run';
import { startSimulatedBoard } from '../../src/board/simulate';
import { runStage } from '../../src/stages/run';
import { streamInterface } from '../../src/rtl/interface';
import { readJson } from '../../src/util/fs';
import { silentLogger } from '../../src/util/log';
import { argmax, randomSamples, randomWeights, referenceLogits, TINY, TINY_ACCEL } from '../fpga/tiny-accel';

const REPO = resolve(__dirname, '..', '..');
const SAMPLES = 24;

/** A project folder as the rtl and sim stages leave it for the tiny accelerator (as test/fpga/flow.test.ts makes it). */
function tinyProject(root: string, weightsSeed: number, baud = 115200): void {
  const w = (f: string, data: string | Uint8Array) => {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), data);
  };
  const weights = randomWeights(weightsSeed);
  const target = { device: 'ice40-up5k', board: 'icebreaker', toolchain: 'auto', baud };
  w('dist/spec/synth.json', JSON.stringify({ target, files: {} }));
  w('dist/rtl/deepmaker_accel.v', readFileSync(TINY_ACCEL));
  w('dist/rtl/tiny_weights.hex', weights.join('\n') + '\n');
  const fmt = (bits: number) => ({ bits, integer: bits, rounding: 'truncate' as const, overflow: 'wrap' as const });
  w('dist/rtl/interface.json', JSON.stringify(streamInterface([TINY.inputs], fmt(8), TINY.outputs, fmt(TINY.outBits))));
  w('dist/rtl/report.json', '{}');
  const samples = randomSamples(SAMPLES, 7);
  const logits = samples.map((x) => referenceLogits(weights, x));
  const classes = logits.map(argmax);
  // Labels: the C model's class on even samples, another class on odd ones (an accuracy of 50 %).
  const labels = classes.map((c, i) => (i % 2 === 0 ? c : (c + 1) % TINY.outputs));
  w('dist/sim/vectors.bin', Buffer.concat(samples));
  w('dist/sim/vectors.json', JSON.stringify({ file: 'vectors.bin', samples: SAMPLES, netlistSamples: 8, inputBytes: TINY.inputs, outputs: TINY.outputs, outBits: TINY.outBits, logits, classes, labels }));
  w('dist/sim/report.json', '{}');
}

describe('deepmaker board on the simulated board', { timeout: 900_000 }, () => {
  let root: string;
  let other: string;
  before(async () => {
    assert.ok(spawnSync('socat', ['-V']).status === 0, 'socat must be installed (apt-get install socat; .ci/run installs it)');
    root = mkdtempSync(join(tmpdir(), 'deepmaker-board-'));
    tinyProject(root, 1);
    await runStage('synth', root, root, silentLogger);
    // Model B: the same shapes, other weights (its own dist/rtl; no need to synthesize it).
    other = mkdtempSync(join(tmpdir(), 'deepmaker-board-b-'));
    tinyProject(other, 2);
  });
  after(() => {
    for (const d of [root, other]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('the identity block round-trips and is what the synthesized top carries', () => {
    const block = infoBlock({ inputBytes: 784, outputs: 10, outBits: 16, classBits: 4, modelId: 0xdeadbeef });
    assert.equal(block.length, INFO_BYTES);
    assert.deepEqual(parseInfo(block), { version: 1, inputBytes: 784, outputs: 10, outBits: 16, classBits: 4, modelId: 0xdeadbeef });
    assert.equal(parseInfo(Uint8Array.from({ length: 16 }, () => 0x55)), undefined);
    const manifest = readJson<any>(join(root, 'dist/synth/manifest.json'));
    assert.equal(manifest.accel.outputs, TINY.outputs);
    assert.equal(typeof manifest.accel.modelId, 'number');
  });

  it('`deepmaker board --simulate --samples 20`: every answer matches the C model; the report is filled', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/deepmaker.js'), 'board', '--simulate', '--samples', '20', '--spec', join(root, 'deepmaker.yaml')], { encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /20\/20 answers agree with the C fixed-point model, accuracy 50\.00% against the labels/);
    assert.match(r.stderr, /board: 20\/20 samples, 20 agree with the C model/);
    const rep = readJson<any>(join(root, 'dist/board/report.json'));
    assert.equal(rep.simulated, true);
    assert.deepEqual(rep.agreement, { agree: 20, samples: 20, rate: 1 });
    assert.deepEqual(rep.accuracy, { correct: 10, labelled: 20, rate: 0.5 });
    assert.deepEqual(rep.mismatches, []);
    assert.equal(rep.baud, 115200);
    assert.equal(rep.board.inputBytes, TINY.inputs);
    assert.equal(rep.board.outputs, TINY.outputs);
    assert.ok(rep.measured.samplesPerSecond > 0 && rep.measured.msPerSample > 0);
    const line = rep.simulatedLine;
    assert.equal(line.netlist, 'bitstream top', 'no bitstream stage ran: the synth stage\'s top at the oscillator clock');
    assert.equal(line.clockMHz, 12);
    assert.equal(line.clocksPerBit, 104);
    assert.equal(line.samples, 20);
    // The line time of 'S' + 64 bytes and the one-byte answer at the host's exact 115200 baud.
    assert.ok(Math.abs(line.transferUs - (66 * 10 * 1e6) / 115200) < 0.2, `transfer ${line.transferUs} us`);
    // Compute on the line, from the end of the last stop bit to the answer's start bit: the accelerator's
    // 256 + 4 cycles, less the half stop bit (the receiver takes the byte in its middle), plus the hand-overs.
    assert.ok(line.computeClocks >= 260 - 52 && line.computeClocks < 260 + 52, `compute ${line.computeClocks} clocks`);
    assert.ok(line.samplesPerSecond > 0);
  });

  it('bits on the simulated line follow the divider of the bitstream\'s clock: a 24 MHz PLL clock at 1 Mbaud (the top made again without the PLL)', async () => {
    // The project as a 24 MHz PLL build at target.baud 1000000 leaves it: the synth manifest's baud (the
    // only thing target.baud changes there besides the oscillator-clock top) and the bitstream report's clock.
    const pllRoot = mkdtempSync(join(tmpdir(), 'deepmaker-board-pll-'));
    try {
      cpSync(root, pllRoot, { recursive: true });
      const manifest = readJson<any>(join(pllRoot, 'dist/synth/manifest.json'));
      writeFileSync(join(pllRoot, 'dist/synth/manifest.json'), JSON.stringify({ ...manifest, baud: 1_000_000 }));
      mkdirSync(join(pllRoot, 'dist/bitstream'), { recursive: true });
      writeFileSync(join(pllRoot, 'dist/bitstream/report.json'), JSON.stringify({ clockMHz: 24, pll: { refMHz: 12, outMHz: 24 }, uart: { baud: 1_000_000, clocksPerBit: 24 } }));
      const sim = await startSimulatedBoard({ projectRoot: pllRoot });
      try {
        assert.equal(sim.exact, false);
        assert.equal(sim.clocksPerBit, 24);
        assert.equal(sim.baud, 1_000_000);
        const rep = await runBoard({ projectRoot: pllRoot, port: sim.port, samples: 3, timeoutMs: 120_000 });
        assert.deepEqual(rep.agreement, { agree: 3, samples: 3, rate: 1 });
        assert.equal(rep.baud, 1_000_000);
        const events = sim.events();
        for (const e of events) assert.ok(Math.abs(e.end - e.start - 240) <= 1, `a frame of ${e.end - e.start} clocks`);
        assert.equal(events.filter((e) => e.dir === 'tx' && !e.frameError).length, INFO_BYTES + 3);
        const line = lineSamples(events, TINY.inputs, CMD_SAMPLE, CMD_INFO, INFO_BYTES);
        assert.equal(line.length, 3);
        for (const s of line) assert.equal(s.sendClocks, 65 * 240, 'the command and the sample back to back at the host\'s rate');
      } finally {
        await sim.close();
      }
    } finally {
      rmSync(pllRoot, { recursive: true, force: true });
    }
  });

  it('a wrong port: a clear error naming it and the iCEBreaker\'s port', async () => {
    await assert.rejects(runBoard({ projectRoot: root, port: '/dev/deepmaker-no-such-tty', samples: 2 }), (e: Error) => {
      assert.match(e.message, /cannot open the serial port \/dev\/deepmaker-no-such-tty: there is no such device/);
      assert.match(e.message, /hint: .*\/dev\/ttyUSB1/);
      return true;
    });
  });

  it('a port where nothing answers: no answer within the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deepmaker-silent-'));
    const a = join(dir, 'a');
    const socat: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${join(dir, 'b')}`], { stdio: 'ignore' });
    try {
      while (!existsSync(a)) await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(runBoard({ projectRoot: root, port: a, samples: 2, timeoutMs: 300 }), (e: Error) => {
        assert.match(e.message, new RegExp(`no answer from the board on ${a} within 300 ms`));
        assert.match(e.message, /deepmaker board --program/);
        return true;
      });
    } finally {
      socat.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bitstream of model A and a host run for model B: refused, with what differs', async () => {
    const sim = await startSimulatedBoard({ projectRoot: root });
    try {
      // A generous timeout: the simulated board is slow on a loaded machine, and what is checked is the content.
      await assert.rejects(runBoard({ projectRoot: other, port: sim.port, samples: 2, timeoutMs: 120_000 }), (e: Error) => {
        assert.match(e.message, /runs a bitstream built for another model: same shapes, but model identity [0-9a-f]{8}, the project's [0-9a-f]{8}/);
        return true;
      });
      // Model C takes other samples: the sizes are named.
      const c = mkdtempSync(join(tmpdir(), 'deepmaker-board-c-'));
      try {
        tinyProject(c, 1);
        const iface = readJson<any>(join(c, 'dist/rtl/interface.json'));
        writeFileSync(join(c, 'dist/rtl/interface.json'), JSON.stringify({ ...iface, inputShape: [784], inputElements: 784, inputBytes: 784, outputs: 10 }));
        const vec = readJson<any>(join(c, 'dist/sim/vectors.json'));
        writeFileSync(join(c, 'dist/sim/vectors.json'), JSON.stringify({ ...vec, inputBytes: 784 }));
        await assert.rejects(runBoard({ projectRoot: c, port: sim.port, samples: 1, timeoutMs: 120_000 }), /it takes 64-byte samples, the project 784; it answers 32 classes, the project has 10/);
      } finally {
        rmSync(c, { recursive: true, force: true });
      }
    } finally {
      await sim.close();
    }
  });

  it('--program runs iceprog on the bitstream, or says what to install without it; a run needs a port or --simulate', async () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'empty-path-'));
    try {
      mkdirSync(join(root, 'dist/bitstream'), { recursive: true });
      writeFileSync(join(root, 'dist/bitstream/deepmaker.bin'), Buffer.alloc(16));
      await assert.rejects(runBoard({ projectRoot: root, port: '/dev/null', program: true, samples: 1 }), /--program needs iceprog, and iceprog is not on PATH[\s\S]*apt-get install fpga-icestorm/);
    } finally {
      process.env.PATH = path;
      rmSync(join(root, 'dist/bitstream'), { recursive: true, force: true });
    }
    // With iceprog on PATH (a stand-in that records its arguments) the bitstream is loaded before the port is opened.
    const bin = mkdtempSync(join(tmpdir(), 'fake-iceprog-'));
    try {
      writeFileSync(join(bin, 'iceprog'), `#!/bin/sh\necho "$@" > ${join(bin, 'args')}\n`, { mode: 0o755 });
      process.env.PATH = `${bin}:${path}`;
      mkdirSync(join(root, 'dist/bitstream'), { recursive: true });
      writeFileSync(join(root, 'dist/bitstream/deepmaker.bin'), Buffer.alloc(16));
      await assert.rejects(runBoard({ projectRoot: root, port: '/dev/deepmaker-no-such-tty', program: true, samples: 1 }), /cannot open the serial port/);
      assert.equal(readFileSync(join(bin, 'args'), 'utf8').trim(), join(root, 'dist/bitstream/deepmaker.bin'));
    } finally {
      process.env.PATH = path;
      rmSync(join(root, 'dist/bitstream'), { recursive: true, force: true });
      rmSync(bin, { recursive: true, force: true });
    }
    await assert.rejects(runBoard({ projectRoot: root, samples: 1 }), /no serial port given[\s\S]*--port \/dev\/ttyUSB1/);
    assert.equal(getBoard('icebreaker')!.uartRx, 'RX');
  });
});
