/**
 * The hls stage: runs Vitis HLS (`vitis_hls -f run_hls.tcl`) on the export the dse stage wrote
 * (dist/dse/hls) and reports Vitis's own latency and resource estimates.
 *
 * Vitis HLS is AMD/Xilinx's tool and cannot be installed by npm or Debian; when `vitis_hls` is not
 * on PATH the stage fails and says so: nothing is pretended. The export itself (C with pragmas,
 * directives.tcl, run_hls.tcl) is always in dist/dse/hls for a machine that has the tool.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath } from '../fpga/toolchain';
import type { StageContext } from './context';
import { DeepMakerError } from '../util/errors';
import { canonicalJson } from '../util/fs';

export type HlsView = Record<string, never>;

function findFiles(dir: string, pred: (name: string) => boolean, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) findFiles(p, pred, out);
    else if (pred(n)) out.push(p);
  }
  return out;
}

/** The figures of Vitis's csynth.xml report (latency in cycles, resources). */
export function readCsynthXml(xml: string): Record<string, number | string> {
  const pick = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
  const out: Record<string, number | string> = {};
  for (const [k, tag] of [
    ['bestLatencyCycles', 'Best-caseLatency'],
    ['worstLatencyCycles', 'Worst-caseLatency'],
    ['estimatedClockNs', 'EstimatedClockPeriod'],
    ['lut', 'LUT'],
    ['ff', 'FF'],
    ['dsp', 'DSP'],
    ['bram18k', 'BRAM_18K'],
  ] as const) {
    const v = pick(tag);
    if (v !== undefined) out[k] = Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

export async function runHlsStage(ctx: StageContext<HlsView>): Promise<void> {
  const exportDir = join(ctx.inputDir('dse'), 'hls');
  if (!existsSync(join(exportDir, 'run_hls.tcl'))) throw new DeepMakerError('the dse stage wrote no Vitis HLS export', { file: join(exportDir, 'run_hls.tcl') }, 'rerun the dse stage');
  const exe = findOnPath('vitis_hls');
  if (!exe) {
    throw new DeepMakerError(
      'vitis_hls is not installed (not on PATH): the hls target runs AMD Vitis HLS, which npm and Debian do not provide',
      { file: exportDir },
      'install Vitis HLS and source its settings64.sh, or run `vitis_hls -f run_hls.tcl` in dist/dse/hls on a machine that has it; the C with pragmas and the Tcl scripts are already there',
    );
  }
  const work = join(ctx.workDir, 'project');
  cpSync(exportDir, work, { recursive: true });
  ctx.log.info(`${exe} -f run_hls.tcl (in ${work})`);
  const started = Date.now();
  let log = '';
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn(exe, ['-f', 'run_hls.tcl'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d) => (log += d.toString()));
    p.stderr.on('data', (d) => (log += d.toString()));
    p.on('error', reject);
    p.on('close', (c) => resolve(c ?? 1));
  });
  writeFileSync(join(ctx.outDir, 'vitis_hls.log'), log);
  if (code !== 0) throw new DeepMakerError(`vitis_hls failed (exit ${code})`, { file: join(ctx.outDir, 'vitis_hls.log') }, log.trimEnd().split('\n').slice(-15).join('\n'));
  const xml = findFiles(work, (n) => n === 'csynth.xml');
  const rpt = findFiles(work, (n) => n === 'csynth.rpt');
  if (rpt[0]) cpSync(rpt[0], join(ctx.outDir, 'csynth.rpt'));
  const figures = xml[0] ? readCsynthXml(readFileSync(xml[0], 'utf8')) : {};
  writeFileSync(join(ctx.outDir, 'report.json'), canonicalJson({ tool: exe, seconds: (Date.now() - started) / 1000, csynth: figures, files: ['vitis_hls.log', ...(rpt[0] ? ['csynth.rpt'] : []), 'report.json'] }));
}
