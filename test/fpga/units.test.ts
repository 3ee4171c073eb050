/**
 * The FPGA back end's pure parts, fast: LUT expressions, the DSP model, statistics and report
 * parsing, pcf files and boards, devices, the UART divider, toolchain selection, hex images, timing
 * checks, and which stage views a clock edit touches.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { timingProblem } from '../../src/stages/bitstream';
import { clockUnderFmax, requestedClock } from '../../src/fpga/clock';
import { BOARDS, boardNames, boardPins, getBoard, parsePcf } from '../../src/fpga/boards';
import { DEVICES, ebrBits, fitProblems, getDevice, resolvePackage } from '../../src/fpga/devices';
import { checkSwappable, ramInitWords, readHexImage } from '../../src/fpga/icebram';
import { compileLut, macEval, newMacComb, newMacIn, newMacState, OP, paramInt, runProgram, SCRATCH_SLOTS } from '../../src/fpga/netlist-sim';
import { clocksFromLog, utilizationFromLog } from '../../src/fpga/pnr';
import { cellsFromNetlist, cellsFromStatJson, resourcesFromCells } from '../../src/fpga/resources';
import { checkFit, rtlInputs } from '../../src/stages/synth';
import { selectToolchain } from '../../src/fpga/toolchain';
import { boardTop, clocksPerBit } from '../../src/fpga/uart-top';
import { runSpecStage } from '../../src/stages/run';
import { readJson } from '../../src/util/fs';
import { silentLogger } from '../../src/util/log';

describe('netlist simulator models', () => {
  it('compiles every 4-input LUT to operations computing its truth table', () => {
    // Lane l of input Ik is bit k of l, so lanes 0..15 enumerate all input combinations.
    const v = new Int32Array(10 + SCRATCH_SLOTS);
    v[1] = -1;
    [0xaaaa, 0xcccc, 0xf0f0, 0xff00].forEach((w, k) => (v[2 + k] = w));
    for (let init = 0; init < 0x10000; init++) {
      const prog = Int32Array.from(compileLut(init, [2, 3, 4, 5], 6, 10));
      runProgram(prog, v, () => undefined);
      assert.equal(v[6] & 0xffff, init, `LUT_INIT ${init.toString(16)}`);
    }
  });

  it('computes LUTs with constant and repeated inputs', () => {
    // Inputs drawn from {const 0, const 1, net 2, net 3}: every way a LUT can be wired to fewer than 4 signals.
    const v = new Int32Array(20 + SCRATCH_SLOTS);
    v[1] = -1;
    v[2] = 0xaaaa;
    v[3] = 0xcccc;
    for (let combo = 0; combo < 256; combo++) {
      const ins = [combo & 3, (combo >> 2) & 3, (combo >> 4) & 3, (combo >> 6) & 3];
      for (let init = 0; init < 0x10000; init += 331) {
        runProgram(Int32Array.from(compileLut(init, ins, 6, 20)), v, () => undefined);
        for (let lane = 0; lane < 4; lane++) {
          const bit = (n: number) => (v[n] >>> lane) & 1;
          const idx = bit(ins[0]) | (bit(ins[1]) << 1) | (bit(ins[2]) << 2) | (bit(ins[3]) << 3);
          assert.equal((v[6] >>> lane) & 1, (init >> idx) & 1, `inputs ${ins}, LUT_INIT ${init.toString(16)}, lane ${lane}`);
        }
      }
    }
  });

  it('folds constant LUT inputs', () => {
    // 0x8888 = I0 & I1 (I2, I3 ignored): with I1 tied to 1 it is a copy of I0, with I1 tied to 0 a constant.
    assert.deepEqual(compileLut(0x8888, [2, 1, 4, 5], 6, 10), [OP.COPY, 6, 2, 0, 0]);
    assert.deepEqual(compileLut(0x8888, [2, 0, 4, 5], 6, 10), [OP.COPY, 6, 0, 0, 0]);
    assert.deepEqual(compileLut(0x6666, [2, 3, 4, 5], 6, 10), [OP.XOR, 6, 3, 2, 0]);
  });

  it('SB_MAC16 as Yosys maps a signed 16x16 multiply with a registered output', () => {
    // The parameters synth_ice40 -dsp chose for the test design's lanes (B and the output registered).
    const p = { C_REG: 0, A_REG: 0, B_REG: 1, D_REG: 0, TOP_8x8_MULT_REG: 0, BOT_8x8_MULT_REG: 0, PIPELINE_16x16_MULT_REG1: 0, PIPELINE_16x16_MULT_REG2: 0, TOPOUTPUT_SELECT: 1, TOPADDSUB_LOWERINPUT: 2, TOPADDSUB_UPPERINPUT: 1, TOPADDSUB_CARRYSELECT: 3, BOTOUTPUT_SELECT: 1, BOTADDSUB_LOWERINPUT: 2, BOTADDSUB_UPPERINPUT: 1, BOTADDSUB_CARRYSELECT: 0, MODE_8x8: 0, A_SIGNED: 1, B_SIGNED: 1 };
    for (const [a, b] of [[3, 5], [-7, 9], [-128, -128], [32767, -32768], [-1, -1], [1234, -4321]]) {
      const s = newMacState();
      s.rB = b & 0xffff;
      const x = newMacIn();
      x.A = a & 0xffff;
      const k = macEval(p, s, x, newMacComb());
      // The product goes into the output registers at the clock: iP/iR are what they will hold.
      const product = BigInt.asIntN(32, BigInt(k.iP) * 65536n + BigInt(k.iR));
      assert.equal(product, BigInt(a * b), `${a} * ${b}`);
    }
  });

  it('reads Yosys JSON parameters and block RAM contents', () => {
    assert.equal(paramInt('00000000000000000000000000000101'), 5);
    assert.equal(paramInt('1x1'), 5);
    const init: Record<string, string> = {};
    for (let k = 0; k < 16; k++) init[`INIT_${k.toString(16).toUpperCase()}`] = '0'.repeat(256);
    // memory[1] = 0x8001 -> INIT_0 bits 16..31
    init.INIT_0 = '0'.repeat(224) + '1000000000000001' + '0'.repeat(16);
    const words = ramInitWords(init);
    assert.equal(words[1], 0x8001);
    assert.equal(words.filter((w) => w !== 0).length, 1);
  });
});

describe('resource figures', () => {
  const stat055 = JSON.stringify({
    creator: 'Yosys 0.55',
    modules: { '\\top': { num_cells: 5, num_cells_by_type: { SB_LUT4: 3, SB_DFFE: 1, SB_MAC16: 1 } } },
    design: { num_cells: 5, num_cells_by_type: { SB_LUT4: 3, SB_DFFE: 1, SB_MAC16: 1 } },
  });
  // Yosys 0.23 writes no "design" entry for a single module.
  const stat023 = JSON.stringify({ creator: 'Yosys 0.23', modules: { '\\top': { num_cells: 5, num_cells_by_type: { SB_LUT4: 3, SB_DFFE: 1, SB_MAC16: 1 } } } });

  it('reads stat -json of old and new Yosys alike', () => {
    assert.deepEqual(cellsFromStatJson(stat055, 'top'), { SB_LUT4: 3, SB_DFFE: 1, SB_MAC16: 1 });
    assert.deepEqual(cellsFromStatJson('log line\n' + stat023, 'top'), { SB_LUT4: 3, SB_DFFE: 1, SB_MAC16: 1 });
    assert.throws(() => cellsFromStatJson('{"modules": {"\\\\a": {}, "\\\\b": {}}}', 'top'), /no cells/);
  });

  it('counts resources per kind and a logic-cell lower bound', () => {
    const r = resourcesFromCells({ SB_LUT4: 100, SB_DFF: 30, SB_DFFESR: 90, SB_CARRY: 40, SB_RAM40_4K: 2, SB_RAM40_4KNR: 1, SB_MAC16: 3, SB_SPRAM256KA: 1, SB_IO: 4 });
    assert.deepEqual([r.luts, r.ffs, r.carry, r.logicCells, r.ebr, r.dsp, r.spram, r.io], [100, 120, 40, 120, 3, 3, 1, 4]);
    assert.deepEqual(cellsFromNetlist({ modules: { top: { cells: { a: { type: 'SB_LUT4' }, b: { type: 'SB_LUT4' }, c: { type: 'SB_GB' } } } } }, 'top'), { SB_LUT4: 2, SB_GB: 1 });
  });

  it('stops a design that does not fit, naming the figures', () => {
    const up5k = getDevice('ice40-up5k');
    const r = resourcesFromCells({ SB_LUT4: 5000, SB_DFF: 100, SB_MAC16: 9, SB_RAM40_4K: 12 });
    assert.deepEqual(fitProblems({ logicCells: 5000, ebr: 12, dsp: 9, spram: 0 }, up5k), [{ resource: 'dsp', used: 9, available: 8 }]);
    assert.throws(() => checkFit(r, up5k, 'the accelerator', 'x.log'), /does not fit ice40-up5k: dsp 9 > 8.*5000\/5280 logic cells/);
    assert.throws(() => checkFit(resourcesFromCells({ SB_LUT4: 4000 }), up5k, 'the top', 'x.log', 6256), /logicCells 6256 > 5280.*6256 logic cells once packed/);
    assert.doesNotThrow(() => checkFit(resourcesFromCells({ SB_LUT4: 4000 }), up5k, 'the top', 'x.log', 5000));
  });

  it('parses nextpnr timing and utilisation from its log', () => {
    const log = [
      "Info: Max frequency for clock 'CLK$SB_IO_IN_$glb_clk': 30.12 MHz (PASS at 12.00 MHz)",
      'Info: Device utilisation:',
      'Info: \t         ICESTORM_LC:    4745/   5280    89%',
      'Info: \t        ICESTORM_RAM:      19/     30    63%',
      "Info: Max frequency for clock 'CLK$SB_IO_IN_$glb_clk': 22.72 MHz (PASS at 12.00 MHz)",
    ].join('\n');
    assert.deepEqual(clocksFromLog(log), [{ clock: 'CLK$SB_IO_IN_$glb_clk', achievedMHz: 22.72, constraintMHz: 12 }]);
    assert.deepEqual(utilizationFromLog(log), { ICESTORM_LC: { used: 4745, available: 5280 }, ICESTORM_RAM: { used: 19, available: 30 } });
  });

  it('judges timing against the design clock', () => {
    assert.equal(timingProblem(22.7, 12), undefined);
    assert.match(timingProblem(10.5, 12)!, /timing not met: Fmax 10.50 MHz < 12 MHz/);
    assert.match(timingProblem(29.1, 30, [{ clock: 'clk', achievedMHz: 29.1 }])!, /< 30 MHz; clocks: clk 29.10 MHz/);
  });

  it('turns target.clockMHz into the design clock: the oscillator, an exact PLL clock, or auto under Fmax', () => {
    const ib = getBoard('icebreaker')!;
    assert.deepEqual(requestedClock(ib, 12), { mhz: 12 }, 'the oscillator itself: no PLL');
    const p30 = requestedClock(ib, 30);
    assert.equal(p30.mhz, 30);
    assert.deepEqual([p30.pll!.divr, p30.pll!.divf, p30.pll!.divq], [0, 79, 5]);
    assert.throws(() => requestedClock(ib, 30.1), /cannot make exactly 30.1 MHz .* nearest it makes is 30 MHz/);
    assert.throws(() => requestedClock(ib, 8), /cannot clock the design at 8 MHz: .* 16-275 MHz/);
    assert.deepEqual(requestedClock(undefined, 8), { mhz: 8 }, 'a bare core runs at whatever clock the user gives it');
    // auto: Fmax 33.2 MHz with a 5 % margin leaves 31.62 MHz: the PLL's fastest output under it is 31.5 MHz.
    assert.equal(clockUnderFmax(ib, 33.2, 0.05).mhz, 31.5);
    assert.equal(clockUnderFmax(ib, 33.2, 0.05).pll!.outMHz, 31.5);
    // Fmax 14 MHz: no PLL output (16 MHz floor) fits under it, the 12 MHz oscillator does.
    assert.deepEqual(clockUnderFmax(ib, 14, 0.05), { mhz: 12 });
    assert.throws(() => clockUnderFmax(ib, 12.2, 0.05), /timing cannot be met on the icebreaker: Fmax is 12.20 MHz/);
    assert.deepEqual(clockUnderFmax(undefined, 33.2, 0.05), { mhz: 31.6 });
  });

  it('puts the PLL in the board top when the clock needs one, and divides the UART from that clock', () => {
    const ib = getBoard('icebreaker')!;
    const clock = requestedClock(ib, 30);
    const t = boardTop(ib, { inputBytes: 784, outputs: 10, outBits: 16, classBits: 4, modelId: 0x1234abcd }, 3_000_000, 100, clock);
    assert.match(t.verilog, /SB_PLL40_PAD #\(/);
    assert.match(t.verilog, /\.PACKAGEPIN\(CLK\)/);
    assert.match(t.verilog, /\.DIVF\(7'b1001111\)/);
    assert.match(t.verilog, /\.clk\(clk\)/);
    assert.match(t.verilog, /if \(!pll_lock\) por <= 4'd0/);
    assert.equal(t.clocksPerBit, 10, '30 MHz / 3 Mbaud');
    assert.match(t.verilog, /\.CLKS_PER_BIT\(10\)/);
    assert.equal(t.timeoutClocks, 3_000_000);
    const hx = boardTop(getBoard('ice40-hx8k-breakout')!, { inputBytes: 784, outputs: 10, outBits: 16, classBits: 4, modelId: 0x1234abcd }, 115200, 100, requestedClock(getBoard('ice40-hx8k-breakout')!, 24));
    assert.match(hx.verilog, /SB_PLL40_CORE #\([\s\S]*\.REFERENCECLK\(CLK\)/);
    const plain = boardTop(ib, { inputBytes: 784, outputs: 10, outBits: 16, classBits: 4, modelId: 0x1234abcd });
    assert.doesNotMatch(plain.verilog, /SB_PLL40/);
    assert.match(plain.verilog, /\.clk\(CLK\)/);
  });
});

describe('devices and boards', () => {
  it('knows the iCE40 devices and their block-RAM budget', () => {
    assert.equal(ebrBits('ice40-up5k'), 30 * 4096);
    assert.equal(ebrBits(getDevice('ice40-hx8k')), 32 * 4096);
    assert.deepEqual([DEVICES['ice40-up5k'].logicCells, DEVICES['ice40-up5k'].dsp, DEVICES['ice40-up5k'].spram], [5280, 8, 4]);
    assert.deepEqual([DEVICES['ice40-hx8k'].logicCells, DEVICES['ice40-hx8k'].dsp], [7680, 0]);
    assert.deepEqual([DEVICES['ice40-hx1k'].logicCells, DEVICES['ice40-hx1k'].ebr], [1280, 16]);
    assert.deepEqual(DEVICES['ice40-up5k'].synthOptions, ['-dsp']);
    assert.deepEqual(DEVICES['ice40-hx8k'].synthOptions, []);
    assert.throws(() => getDevice('ice40-up9k'), /unknown device 'ice40-up9k'.*use one of: ice40-up5k/s);
  });

  it('takes the package from the spec, else the board, else the device, and checks it', () => {
    const up5k = getDevice('ice40-up5k');
    assert.equal(resolvePackage(up5k), 'sg48');
    assert.equal(resolvePackage(up5k, 'uwg30'), 'uwg30');
    assert.equal(resolvePackage(getDevice('ice40-hx8k'), undefined, 'ct256'), 'ct256');
    assert.throws(() => resolvePackage(up5k, 'ct256'), /package 'ct256' is not a package of ice40-up5k.*sg48, uwg30/s);
  });

  it('has the iCEBreaker and HX8K breakout pins of their documentation', () => {
    const ib = boardPins(getBoard('icebreaker')!);
    assert.deepEqual(['CLK', 'RX', 'TX', 'BTN_N', 'LEDR_N', 'LEDG_N', 'LED1', 'LED5'].map((s) => ib.get(s)), ['35', '6', '9', '10', '11', '37', '26', '21']);
    const hx = boardPins(getBoard('ice40-hx8k-breakout')!);
    assert.deepEqual(['CLK', 'RX', 'TX', 'LED0', 'LED7'].map((s) => hx.get(s)), ['J3', 'B10', 'B12', 'B5', 'C3']);
    for (const name of boardNames()) {
      const b = BOARDS[name];
      const pins = boardPins(b);
      for (const s of [b.clock, b.uartRx, b.uartTx, ...b.leds.map((l) => l.signal)]) assert.ok(pins.has(s), `${name}: ${s}`);
      assert.ok(getDevice(b.device).packages.includes(b.package));
      assert.equal(new Set(pins.values()).size, pins.size, `${name}: a pin assigned twice`);
    }
    assert.equal(getBoard('none'), undefined);
    assert.throws(() => getBoard('arty'), /unknown board 'arty'/);
  });

  it('rejects malformed pcf lines with their line number', () => {
    assert.deepEqual([...parsePcf('# c\nset_io -nowarn A 1\nset_io B 2 # x\n')], [['A', '1'], ['B', '2']]);
    assert.throws(() => parsePcf('set_io A 1\nset_io A 2\n', 'b.pcf'), /b\.pcf:2:1: signal 'A' is assigned twice/);
    assert.throws(() => parsePcf('set_location A 1\n', 'b.pcf'), /b\.pcf:1:1: unexpected pcf command/);
  });
});

describe('UART wrapper', () => {
  it('divides the board clock to the baud rate, within 2 %', () => {
    assert.equal(clocksPerBit(12e6, 115200), 104);
    assert.equal(clocksPerBit(12e6, 9600), 1250);
    assert.throws(() => clocksPerBit(12e6, 2_500_000), /cannot be made from a 12 MHz clock \(5 clocks per bit, 4.0 % off\)/);
  });

  it('generates a board top that drives the board LEDs with their polarity', () => {
    const t = boardTop(getBoard('icebreaker')!, { inputBytes: 784, outputs: 10, outBits: 16, classBits: 4, modelId: 0x1234abcd });
    assert.equal(t.module, 'deepmaker_icebreaker_top');
    assert.match(t.verilog, /\.CLKS_PER_BIT\(104\)/);
    assert.match(t.verilog, /\.INPUT_BYTES\(784\)/);
    assert.match(t.verilog, /assign LEDG_N = ~ready;/);
    assert.match(t.verilog, /assign LED4 = last_class\[3\];/);
    assert.doesNotMatch(t.verilog, /LED5/, 'no LED for a class bit the model does not have');
    assert.equal(t.timeoutClocks, 1_200_000);
    // The identity block (src/fpga/board-protocol.ts), byte k in bits [8k+7:8k]: "DM", version 1, 4-bit
    // classes, 784 bytes in, 10 classes, 16-bit logits, the model identity.
    const info = /\.INFO\(128'h([0-9a-f]{32})\)/.exec(t.verilog);
    assert.ok(info, 'the bridge gets its identity block');
    assert.equal(Buffer.from(info[1], 'hex').reverse().toString('hex'), '444d0104100300000a001000cdab3412');
    assert.throws(() => boardTop(getBoard('icebreaker')!, { inputBytes: 1, outputs: 300, outBits: 8, classBits: 9, modelId: 0 }), /more than 256 classes/);
  });
});

describe('toolchain and files', () => {
  it('says what to install when native tools are asked for and missing', () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'empty-path-'));
    try {
      assert.throws(() => selectToolchain('native'), /toolchain 'native' was asked for, but yosys, nextpnr-ice40, icepack are not on PATH[\s\S]*apt-get install yosys nextpnr-ice40 fpga-icestorm/);
      assert.equal(selectToolchain('auto').kind, 'yowasp');
    } finally {
      process.env.PATH = path;
    }
  });

  it('checks icebram hex images before swapping', () => {
    const words = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n');
    const a = readHexImage(words(256, (i) => (i * 2654435761 >>> 16).toString(16).padStart(4, '0')), 'a.hex');
    assert.equal(a.words.length, 256);
    assert.equal(a.digits, 4);
    assert.doesNotThrow(() => checkSwappable(a, a, 'a.hex', 'b.hex'));
    assert.throws(() => checkSwappable(readHexImage(words(100, () => '1234')), a, 'a.hex', 'b.hex'), /100 words: icebram needs a multiple of 256/);
    assert.throws(() => checkSwappable(a, readHexImage(words(512, () => '1234')), 'a.hex', 'b.hex'), /b\.hex: the new weights have 512 words/);
    assert.throws(() => checkSwappable(readHexImage(words(256, () => '0000')), a, 'a.hex', 'b.hex'), /repeat too much.*random placeholder/s);
    assert.throws(() => readHexImage('12\nzz\n', 'c.hex'), /c\.hex:2: 'zz' is not a hex word/);
  });

  it('takes the RTL sources and ROM images of dist/rtl, without the testbench', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtl-'));
    for (const f of ['deepmaker_accel.v', 'tb_deepmaker_accel.v', 'w0.hex', 'interface.json']) writeFileSync(join(dir, f), '');
    const r = rtlInputs(dir);
    assert.deepEqual(r.sources, [join(dir, 'deepmaker_accel.v')]);
    assert.deepEqual(r.dataFiles, [join(dir, 'w0.hex')]);
  });
});

describe('stage views', () => {
  it('a clock edit changes the bitstream view only (not sim, not synth); a board edit changes synth and bitstream', async () => {
    const views = async (target: string) => {
      const root = mkdtempSync(join(tmpdir(), 'views-'));
      writeFileSync(join(root, 'deepmaker.yaml'), `name: v\ndata:\n  dataset: mnist\ntarget:\n${target}`);
      await runSpecStage(root, silentLogger);
      return { synth: readJson(join(root, 'dist/spec/synth.json')), bitstream: readJson(join(root, 'dist/spec/bitstream.json')), sim: readJson(join(root, 'dist/spec/sim.json')) };
    };
    const a = await views('  clockMHz: 12\n');
    const b = await views('  clockMHz: 10\n');
    const c = await views('  clockMHz: 12\n  board: none\n');
    assert.deepEqual(a.synth, b.synth);
    assert.deepEqual(a.sim, b.sim);
    assert.notDeepEqual(a.bitstream, b.bitstream);
    assert.notDeepEqual(a.synth, c.synth);
    assert.notDeepEqual(a.bitstream, c.bitstream);
    assert.equal((a.synth as any).target.clockMHz, undefined);
    assert.equal((a.synth as any).target.baud, 115200);
  });
});
