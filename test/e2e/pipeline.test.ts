import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tasks, tinyProjectYaml, Workspace, writeTinyProject } from './workspace';

/**
 * The whole flow under Nx on a tiny model (issue #6): spec -> data -> nas (skipped) -> train ->
 * convert -> verify -> dse -> rtl -> sim -> synth -> bitstream, from a cold workspace to a real
 * iCE40 UP5K .bin for the iCEBreaker, with the RTL and the synthesized netlist bit-exact against the
 * C fixed-point model; then a clock-only edit reruns just the stages that read the clock.
 */
const TINY = { epochs: 2, verifySamples: 40 };
const REST = (clockMHz: number) => `dse:
  check: 0
  maxLanes: 2
sim:
  samples: 8
  netlistSamples: 4
target:
  device: ice40-up5k
  board: icebreaker
  clockMHz: ${clockMHz}
`;
const YAML = (clockMHz: number) => tinyProjectYaml(TINY, REST(clockMHz));

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
    assert.equal(sim.samples, 8);
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

  it('editing only target.clockMHz reruns spec, sim and bitstream; everything else is cached', async () => {
    ws.write('deepmaker.yaml', YAML(6));
    const r = await ws.nx(['run', 'model:bitstream', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    const ran = tasks(r.out);
    for (const t of ['spec', 'sim', 'bitstream']) assert.equal(ran[`model:${t}`], 'ran', `${t}: ${JSON.stringify(ran)}`);
    for (const t of ['data', 'nas', 'train', 'convert', 'dse', 'rtl', 'synth']) assert.equal(ran[`model:${t}`], 'local cache', `${t}: ${JSON.stringify(ran)}`);
    assert.equal(report(ws, 'bitstream').clockMHz, 6);
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
