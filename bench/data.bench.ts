/**
 * The data stage under Nx on full MNIST (60,000 + 10,000 images, 220 MB of float32 tensors), in the
 * repository's own root project `model` and in an isolated temporary workspace holding the same project:
 *  - cold: `nx run model:data --skip-nx-cache` (spec + data run; the cache is neither read nor written);
 *  - cached: `nx run model:data` again. In the repository, `spec` reruns whenever any file of the
 *    repository changed (the root project's spec target reads `{projectRoot}/**` and other engineers
 *    edit the tree), so the cache hits are recorded with each run; the isolated workspace gives the
 *    fully cached figure (both tasks from the cache);
 *  - restored: dist/data deleted, then `nx run model:data` (Nx copies the outputs back from its cache);
 *  - without Nx: the spec and data stage functions called in-process, for Nx's own overhead.
 * Figures are medians of a few runs; the load average is recorded with them (the machine is shared).
 * Usage: npm run bench -- data
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { runStage } from '../src/stages/run';
import { silentLogger } from '../src/util/log';
import { readDataReport } from '../src/data/tensors';
import { Workspace } from '../test/e2e/workspace';
import { recordBench, timed } from './util';

const REPO = resolve(__dirname, '..');
const ENV: NodeJS.ProcessEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_ISOLATE_PLUGINS: 'false', NX_TUI: 'false' };
for (const k of Object.keys(ENV)) if (k.startsWith('NX_SELF_HOSTED')) delete ENV[k];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Math.round(x * 1000) / 1000;

/** Runs `nx run model:data` in `root`; returns seconds and how many of the two tasks came from the cache. */
async function nxData(root: string, extra: string[] = []): Promise<{ seconds: number; hits: number; dataHit: boolean }> {
  const nxBin = join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js');
  const [out, seconds] = await timed(async () =>
    execFileSync(process.execPath, [nxBin, 'run', 'model:data', '--output-style=static', ...extra], { cwd: root, env: ENV, encoding: 'utf8', maxBuffer: 64 << 20 }),
  );
  return { seconds, hits: (out.match(/\[local cache\]/g) ?? []).length, dataHit: /model:data\s+\[local cache\]/.test(out) };
}

async function measure(root: string) {
  const cold = [];
  for (let i = 0; i < 2; i++) cold.push(await nxData(root, ['--skip-nx-cache']));
  // --skip-nx-cache neither reads nor writes the cache: one unmeasured run fills it.
  await nxData(root);
  const cached = [];
  for (let i = 0; i < 3; i++) cached.push(await nxData(root));
  const restored = [];
  for (let i = 0; i < 2; i++) {
    rmSync(join(root, 'dist', 'data'), { recursive: true, force: true });
    restored.push(await nxData(root));
  }
  if (cold.some((r) => r.hits)) throw new Error('a cold run read the cache');
  const fully = cached.filter((r) => r.hits === 2);
  return {
    coldSpecAndDataSeconds: round(median(cold.map((r) => r.seconds))),
    cachedSeconds: round(median(cached.map((r) => r.seconds))),
    fullyCachedSeconds: fully.length ? round(median(fully.map((r) => r.seconds))) : null,
    restoredFromCacheSeconds: round(median(restored.map((r) => r.seconds))),
    runs: {
      cold: cold.map((r) => round(r.seconds)),
      cached: cached.map((r) => ({ seconds: round(r.seconds), cacheHits: `${r.hits}/2` })),
      restored: restored.map((r) => ({ seconds: round(r.seconds), dataFromCache: r.dataHit })),
    },
  };
}

async function main() {
  const load = [loadavg()[0]];
  const repo = await measure(REPO);
  const direct: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [, s] = await timed(async () => {
      await runStage('spec', REPO, REPO, silentLogger);
      await runStage('data', REPO, REPO, silentLogger);
    });
    direct.push(s);
  }
  const ws = new Workspace('dm-bench-data-');
  let isolated;
  try {
    ws.write('deepmaker.yaml', 'name: model\ndata:\n  dataset: mnist\n');
    ws.write('nx.json', JSON.stringify({ cacheDirectory: '.nx/cache', useDaemonProcess: false, plugins: [{ plugin: 'deepmaker/plugin', include: ['**/deepmaker.yaml'] }] }));
    isolated = await measure(ws.root);
  } finally {
    ws.remove();
  }
  load.push(loadavg()[0]);
  const report = readDataReport(join(REPO, 'dist', 'data'));
  recordBench('data', {
    dataset: report.dataset,
    counts: report.counts,
    shape: report.shape,
    repositoryRootProject: repo,
    isolatedWorkspace: isolated,
    withoutNxSeconds: round(median(direct)),
    withoutNxRuns: direct.map(round),
    loadAverage1m: load.map((l) => Math.round(l * 100) / 100),
    command: 'npm run bench -- data',
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
