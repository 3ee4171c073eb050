import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { emitC } from '../../src/cgen';
import { runHlsStage } from '../../src/stages/hls';
import { exportHls, insertPragmas, partitionDirectives, strideFactor } from '../../src/dse/hls';
import { buildSpace } from '../../src/dse/space';
import { Rng } from '../../src/moo/rng';
import { silentLogger } from '../../src/util/log';
import { KNOBS8, mixedModel } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'dm-dse-hls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function compile(folder: string): string {
  const exe = join(folder, 'harness');
  execFileSync('cc', ['-std=c99', '-O1', '-Wall', '-Wno-unknown-pragmas', '-Werror', '-o', exe, 'harness.c', 'model.c', 'weights.c', '-lm'], { cwd: folder, stdio: 'pipe' });
  return exe;
}

describe('dse: Vitis HLS export', () => {
  it('puts L reads at stride s in distinct banks', () => {
    assert.equal(strideFactor(4, 1, 1000), 4);
    assert.equal(strideFactor(2, 5, 1000), 2);
    assert.equal(strideFactor(4, 16, 10000), 5);
    for (const [l, s] of [[4, 6], [8, 10], [3, 9]]) {
      const f = strideFactor(l, s, 1e6);
      assert.equal(new Set(Array.from({ length: l }, (_, i) => (i * s) % f)).size, l);
    }
  });

  it('a one-statement loop body gets braces around the pragma; a missing loop is reported, not invented', () => {
    const c = ['static void dm_L01_x(int n)', '{', '    int i;', '    DM_LOOP(L01_x_i) for (i = 0; i < 4; i++)', '        n += i;', '}'].join('\n');
    const r = insertPragmas(c, [
      { kind: 'pipeline', fn: 'dm_L01_x', target: 'L01_x_i', pragma: '#pragma HLS PIPELINE II=1', tcl: '' },
      { kind: 'unroll', fn: 'dm_L01_x', target: 'L01_x_nope', pragma: '#pragma HLS UNROLL factor=2', tcl: '' },
    ]);
    assert.match(r.text, /for \(i = 0; i < 4; i\+\+\) \{\n\s+#pragma HLS PIPELINE II=1\n\s+n \+= i;\n\s+\}/);
    assert.equal(r.missing.length, 1);
  });

  it('the exported C compiles with the host compiler (pragmas ignored) and computes exactly what the convert C computes', () => {
    const ir = mixedModel(5);
    const convert = join(dir, 'convert');
    emitC(convert, ir, { knobs: KNOBS8, weightStorage: 'arrays' });
    const space = buildSpace(ir, { maxLanes: 8, hasDsp: true, device: 'ice40-up5k' });
    // Every kind of directive: outputs unroll (block banking), reduction unroll, depthwise lanes, no pipeline, LUT multipliers.
    const pick = (layer: string, want: (c: (typeof space.partitions)[0]['choices'][0]) => boolean) => space.partitions.find((p) => p.layer === layer)!.choices.findIndex(want);
    const genome = space.partitions.map((p) => {
      if (p.layer === 'conv') return pick('conv', (c) => c.lanes === 4 && c.unroll === 'outputs' && c.partition === 'block');
      if (p.layer === 'dw') return pick('dw', (c) => c.lanes === 2 && !c.pipeline);
      if (p.layer === 'fc') return pick('fc', (c) => c.lanes === 4 && c.unroll === 'reduction' && c.multiplier === 'lut');
      return 0;
    });
    assert.ok(genome.every((g) => g >= 0));
    const out = join(dir, 'hls');
    const r = exportHls({
      convertDir: convert, outDir: out, model: ir.name, part: 'xc7z020clg400-1', inputSize: 196, outputSize: 6, provenance: 'test point',
      partitions: space.partitions.map((p, i) => ({ partition: p, choice: p.choices[genome[i]] })),
    });
    assert.deepEqual(r.tclOnly, []);
    for (const f of ['model.c', 'model.h', 'weights.c', 'harness.c', 'directives.tcl', 'run_hls.tcl']) assert.ok(r.files.includes(f), f);
    const c = readFileSync(join(out, 'model.c'), 'utf8');
    assert.match(c, /DM_LOOP\(L01_conv_co\)[^\n]*\{\n\s+#pragma HLS UNROLL factor=4/);
    assert.match(c, /#pragma HLS ARRAY_PARTITION variable=dm_wq_L01_conv type=cyclic factor=4 dim=1 \/\* the RTL banks channels in 4 blocks/);
    assert.match(c, /DM_LOOP\(L05_fc_i\)[^\n]*\{\n\s+#pragma HLS UNROLL factor=4/);
    assert.match(c, /#pragma HLS ARRAY_PARTITION variable=in type=cyclic factor=4 dim=1/);
    assert.match(c, /#pragma HLS PIPELINE off/);
    assert.match(c, /#pragma HLS BIND_OP variable=acc op=mul impl=fabric/);
    const tcl = readFileSync(join(out, 'directives.tcl'), 'utf8');
    assert.match(tcl, /^set_directive_unroll -factor 4 "dm_L01_conv\/L01_conv_co"$/m);
    assert.match(tcl, /^set_directive_pipeline -off "dm_L02_dw\/L02_dw_kx"$/m);
    assert.match(readFileSync(join(out, 'run_hls.tcl'), 'utf8'), /set_top dm_infer[\s\S]*source directives.tcl[\s\S]*csynth_design/);
    // Same outputs, bit for bit (-r: the stored integers of the logits).
    const rng = new Rng('hls-test');
    writeFileSync(join(dir, 'in.dat'), Array.from({ length: 6 }, () => Array.from({ length: 196 }, () => rng.uniform(-2, 2).toFixed(5)).join(' ')).join('\n') + '\n');
    const a = compile(convert);
    const b = compile(out);
    execFileSync(a, ['-r', join(dir, 'in.dat'), join(dir, 'a.txt')], { stdio: 'pipe' });
    execFileSync(b, ['-r', join(dir, 'in.dat'), join(dir, 'b.txt')], { stdio: 'pipe' });
    const ra = readFileSync(join(dir, 'a.txt'), 'utf8');
    assert.equal(ra.trim().split('\n').length, 6);
    assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), ra);
  });

  it('unroll both exports two unrolls (outputs and reduction) and banks the weights, the input and the output to match', () => {
    const space = buildSpace(mixedModel(5), { maxLanes: 8, hasDsp: true, device: 'ice40-up5k' });
    const conv = space.partitions.find((p) => p.layer === 'conv')!;
    const choice = conv.choices.find((c) => c.unroll === 'both' && c.lanes === 8 && c.inputBanks === 2 && c.pipeline && c.multiplier === 'auto')!;
    assert.ok(choice, 'the space offers 4 outputs x 2 input banks on the conv');
    const pragmas = partitionDirectives({ partition: conv, choice }).map((d) => d.pragma);
    assert.ok(pragmas.includes('#pragma HLS UNROLL factor=4'), pragmas.join('\n'));
    assert.ok(pragmas.includes('#pragma HLS UNROLL factor=2'), pragmas.join('\n'));
    assert.ok(pragmas.some((x) => /variable=in type=cyclic factor=2 /.test(x)), pragmas.join('\n'));
    assert.ok(pragmas.some((x) => /variable=dm_wq_L01_conv type=cyclic factor=8 /.test(x)), pragmas.join('\n'));
  });

  it('the hls stage says clearly that vitis_hls is not installed, and does not pretend to have run it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const ctx = { stage: 'hls', projectRoot: dir, workspaceRoot: dir, spec: {}, outDir: join(dir, 'hls-out'), workDir: join(dir, 'hls-work'), log: silentLogger, inputDir: () => dir };
      await assert.rejects(runHlsStage(ctx as never), /vitis_hls is not installed \(not on PATH\)[\s\S]*hint:.*dist\/dse\/hls/);
    } finally {
      process.env.PATH = path;
    }
  });
});
