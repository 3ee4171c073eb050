import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tasks, tinyProjectYaml, Workspace, writeTinyProject } from './workspace';

/**
 * The whole flow under Nx on a tiny model (issue #6): spec -> data -> nas (skipped) -> train ->
 * convert -> verify -> dse -> rtl -> sim -> synth -> bitstream, from a cold workspace to a real
 * iCE40 UP5K .bin for the iCEBreaker, with the RTL and the synthesized netlist bit-exact against the
 * C fixed-point model; then a clock-only edit (to auto: a PLL clock under the achieved Fmax) reruns just the stage that reads the clock.
 */
const TINY = { epochs: 2, verifySamples: 40 };
const REST = (clockMHz: number | 'auto') => `dse:
  check: 0
  maxLanes: 2
sim:
  samples: 20
  netlistSamples: 4
target:
  device: ice40-up5k
  board: icebreaker
  clockMHz: ${clockMHz}
`;
const YAML = (clockMHz: number | 'auto') => tinyProjectYaml(TINY, REST(clockMHz));

const report = (ws: Workspace, stage: string) => JSON.parse(ws.read(`dist/${stage}/report.json`));

describe('nx: the whole flow on a tiny model, to a bitstream', () => {
  const ws = new Workspace('dm-e2e-flow-');

  before(async () => {
    writeTinyProject(ws, TINY, REST(12));
    const init = await ws.nx(['g', 'deepmaker:init']);
    assert.equal(init.code, 0, init.out);
  });
  after(() => ws.remove());

  it('`nx run model:bitstream` runs every stage and writes a .bin', async () => {
    const r = await ws.nx(['run', 'model:bitstream', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    const ran = tasks(r.out);
    for (const t of ['spec', 'data', 'nas', 'train', 'convert', 'dse', 'rtl', 'sim', 'synth', 'bitstream']) assert.equal(ran[`model:${t}`], 'ran', `${t}: ${JSON.stringify(ran)}`);

    const sim = report(ws, 'sim');
    assert.equal(sim.samples, 20);
    assert.equal(sim.bitExact, sim.samples, 'the RTL equals the C fixed-point model on every sample');
    assert.equal(sim.cycles, sim.predictedCycles);

    const synth = report(ws, 'synth');
    assert.equal(synth.device, 'ice40-up5k');
    assert.ok(synth.netlistSim.samples >= 1);
    assert.equal(synth.netlistSim.bitExact, synth.netlistSim.samples, 'the synthesized netlist equals the C model too');

    const bit = report(ws, 'bitstream');
    const bin = join(ws.root, 'dist', 'bitstream', bit.file);
    assert.ok(existsSync(bin), bin);
    assert.equal(statSync(bin).size, bit.bytes);
    // An iCE40 bitstream starts with the 0x7EAA997E preamble (after an optional comment block).
    const bytes = readFileSync(bin);
    assert.ok(bytes.includes(Buffer.from([0x7e, 0xaa, 0x99, 0x7e])), 'iCE40 preamble');
    assert.ok(bit.fmaxMHz >= bit.clockMHz, `Fmax ${bit.fmaxMHz} >= ${bit.clockMHz}`);
  });

  it('editing only target.clockMHz (to auto) reruns spec and bitstream; the PLL clock it chooses meets timing', async () => {
    const cycles = report(ws, 'sim').cycles;
    ws.write('deepmaker.yaml', YAML('auto'));
    const r = await ws.nx(['run', 'model:bitstream', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    const ran = tasks(r.out);
    for (const t of ['spec', 'bitstream']) assert.equal(ran[`model:${t}`], 'ran', `${t}: ${JSON.stringify(ran)}`);
    for (const t of ['data', 'nas', 'train', 'convert', 'dse', 'rtl', 'sim', 'synth']) assert.equal(ran[`model:${t}`], 'local cache', `${t}: ${JSON.stringify(ran)}`);
    const bit = report(ws, 'bitstream');
    assert.equal(bit.clockRequest, 'auto');
    assert.ok(bit.pll, 'the tiny design is faster than the 12 MHz oscillator: the clock comes from the PLL');
    assert.ok(bit.clockMHz >= 16 && bit.clockMHz > 12, `clock ${bit.clockMHz}`);
    assert.ok(bit.fmaxMHz >= bit.clockMHz, `timing met: Fmax ${bit.fmaxMHz} >= ${bit.clockMHz}`);
    assert.ok(bit.clockMHz <= bit.probeFmaxMHz / (1 + bit.clockMargin) + 1e-9, 'the clock keeps the margin under the probed Fmax');
    assert.equal(bit.cycles, cycles, 'the netlist counts the cycles the RTL simulation counted');
    assert.ok(Math.abs(bit.latencyUs - cycles / bit.clockMHz) < 0.01);
    assert.match(ws.read('dist/bitstream/board_top.v'), /SB_PLL40_PAD/);
  });

  it('`nx run model:board --simulate --samples=20`: the PLL-clocked bitstream\'s top on the simulated line answers every sample as the C model; never cached', async () => {
    const bit = report(ws, 'bitstream');
    for (let run = 0; run < 2; run++) {
      const r = await ws.nx(['run', 'model:board', '--simulate', '--samples=20', '--output-style=static']);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /20\/20 answers agree with the C fixed-point model/);
      // Nx prints the task with its arguments, and a cached task with "[local cache]".
      assert.match(r.out, /^> nx run model:board --simulate --samples=20\s*$/m, `run ${run}: the board target ran, not from a cache`);
    }
    const b = report(ws, 'board');
    assert.deepEqual(b.agreement, { agree: 20, samples: 20, rate: 1 });
    assert.equal(b.accuracy.labelled, 20);
    assert.equal(b.simulatedLine.clockMHz, bit.clockMHz);
    assert.equal(b.simulatedLine.clocksPerBit, bit.uart.clocksPerBit, 'the divider of the bitstream\'s clock');
    assert.equal(b.simulatedLine.netlist, 'top without PLL');
    // The tiny core computes in under half a UART bit, inside the last byte's stop bit: compute may be 0.
    assert.ok(b.simulatedLine.transferUs > 0 && b.simulatedLine.computeUs >= 0 && b.simulatedLine.samplesPerSecond > 0, JSON.stringify(b.simulatedLine));
  });

  it('`nx run model:report` adds verify and writes the project page; every hardware stage comes from the cache', async () => {
    const r = await ws.nx(['run', 'model:report', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    const ran = tasks(r.out);
    for (const t of ['verify', 'report']) assert.equal(ran[`model:${t}`], 'ran', `${t}: ${JSON.stringify(ran)}`);
    for (const t of ['spec', 'data', 'nas', 'train', 'convert', 'dse', 'rtl', 'sim', 'synth', 'bitstream']) assert.equal(ran[`model:${t}`], 'local cache', `${t}: ${JSON.stringify(ran)}`);
    const html = ws.read('dist/report/index.html');
    assert.match(html, /<h1>model<\/h1>/);
    const pageReport = report(ws, 'report');
    // nas is skipped by this spec (search.enabled: false); every other stage is on the page.
    assert.deepEqual(pageReport.stages, { data: 'done', nas: 'skipped', train: 'done', convert: 'done', verify: 'done', dse: 'done', rtl: 'done', sim: 'done', synth: 'done', bitstream: 'done' });
    assert.match(html, /data-figure="resources"/);
    assert.ok(html.includes(`${report(ws, 'sim').bitExact} / ${report(ws, 'sim').samples}`));
    // Again: all cached, and the page is restored from the cache.
    const again = await ws.nx(['run', 'model:report', '--output-style=static']);
    assert.equal(again.code, 0, again.out);
    assert.equal(tasks(again.out)['model:report'], 'local cache');
    assert.equal(ws.read('dist/report/index.html'), html);
  });
});
