import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tasks, tinyProjectYaml, Workspace, writeTinyProject } from './workspace';

/**
 * DSE in the Nx graph (issue #7): editing `dse:` reruns dse and the hardware stages after it (rtl,
 * sim, and synth/bitstream where they are registered) and nothing before it: nas, train, convert
 * and verify stay cached. A tiny project (4x4 IDX images, a two-layer dense network, one epoch) keeps
 * every stage short.
 */
const TINY = { epochs: 1, verifySamples: 20 };
const REST = (dse: string) => `sim:
  samples: 2
  netlistSamples: 1
target:
  device: ice40-up5k
dse:
  check: 0
  maxLanes: 4
${dse}`;
const YAML = (dse: string) => tinyProjectYaml(TINY, REST(dse));

const BEFORE_DSE = ['nas', 'train', 'convert', 'verify'];
const AFTER_DSE = ['rtl', 'sim', 'synth', 'bitstream'];

describe('nx: editing dse reruns the hardware stages only', () => {
  const ws = new Workspace('dm-e2e-dse-');
  let targets: string[] = [];
  const run = async (names: string[]) => {
    const r = await ws.nx(['run-many', '-t', names.join(','), '-p', 'model', '--output-style=static']);
    assert.equal(r.code, 0, r.out);
    return tasks(r.out);
  };

  before(async () => {
    writeTinyProject(ws, TINY, REST('  choose: min-latency\n'));
    const init = await ws.nx(['g', 'deepmaker:init']);
    assert.equal(init.code, 0, init.out);
    const show = await ws.nx(['show', 'project', 'model', '--json']);
    targets = Object.keys(JSON.parse(show.out.slice(show.out.indexOf('{'))).targets);
  });
  after(() => ws.remove());

  it('rtl depends on dse', async () => {
    const show = await ws.nx(['show', 'project', 'model', '--json']);
    const project = JSON.parse(show.out.slice(show.out.indexOf('{')));
    assert.ok(project.targets.dse && project.targets.rtl);
    assert.ok(project.targets.rtl.dependsOn.includes('dse'));
    assert.ok(project.targets.rtl.inputs.some((i: { dependentTasksOutputFiles?: string }) => i.dependentTasksOutputFiles === 'dist/dse/**/*'));
  });

  it('first run builds everything; editing dse.choose reruns dse, rtl, sim (synth, bitstream) and keeps nas, train, convert, verify cached', async () => {
    const before = BEFORE_DSE.filter((t) => targets.includes(t));
    const hardware = AFTER_DSE.filter((t) => targets.includes(t));
    // Upstream first (each nx call stays short), then the hardware stages.
    await run(before);
    const first = await run([...before, 'dse', ...hardware]);
    for (const t of before) assert.equal(first[`model:${t}`], 'local cache', t);
    assert.equal(first['model:dse'], 'ran');
    const chosen1 = JSON.parse(ws.read('dist/dse/chosen.json'));
    // A different rule picks a different point (fewest logic cells instead of fewest cycles).
    ws.write('deepmaker.yaml', YAML('  choose: min-luts\n'));
    const second = await run([...before, 'dse', ...hardware]);
    const chosen2 = JSON.parse(ws.read('dist/dse/chosen.json'));
    assert.notDeepEqual(chosen2.directives, chosen1.directives);
    assert.equal(second['model:spec'], 'ran');
    for (const t of before) assert.equal(second[`model:${t}`], 'local cache', t);
    for (const t of ['dse', ...hardware]) assert.equal(second[`model:${t}`], 'ran', t);
    const rtl = JSON.parse(ws.read('dist/rtl/report.json'));
    assert.equal(rtl.directives, 'dist/dse/chosen.json');
    assert.equal(rtl.predictedCycles, chosen2.cycles);
  });
});
