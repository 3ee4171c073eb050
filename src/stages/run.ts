import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpec } from '../spec/load';
import { specViewFile, specViewPath, stageViews } from './views';
import { DeepMakerError } from '../util/errors';
import { canonicalJson, readJson, writeDirAtomically } from '../util/fs';
import { consoleLogger, Logger } from '../util/log';
import { stageByName } from './registry';

export const SPEC_FILE = 'deepmaker.yaml';

/** The spec stage: validate deepmaker.yaml and write one canonical JSON view per stage to dist/spec. */
export async function runSpecStage(projectRoot: string, log: Logger = consoleLogger('spec')): Promise<void> {
  const file = join(projectRoot, SPEC_FILE);
  const spec = loadSpec(file);
  const views = await stageViews(spec, projectRoot, file);
  await writeDirAtomically(join(projectRoot, 'dist', 'spec'), (tmp) => {
    for (const [stage, view] of Object.entries(views)) writeFileSync(join(tmp, specViewFile(stage)), canonicalJson(view));
    writeFileSync(join(tmp, 'report.json'), canonicalJson({ name: spec.name, stages: Object.keys(views) }));
  });
  log.info(`${file} is valid; wrote dist/spec/{${Object.keys(views).map((s) => specViewFile(s).replace(/\.json$/, '')).join(',')}}.json`);
}

/** Runs one stage over files: reads its spec view, writes dist/<stage> atomically. */
export async function runStage(name: string, projectRoot: string, workspaceRoot: string, log: Logger = consoleLogger(name)): Promise<void> {
  if (name === 'spec') return runSpecStage(projectRoot, log);
  const def = stageByName(name);
  if (!def) throw new DeepMakerError(`unknown stage '${name}'`);
  const viewFile = specViewPath(projectRoot, name);
  if (!existsSync(viewFile)) {
    throw new DeepMakerError(`no spec view for stage '${name}'`, { file: viewFile }, `run the spec stage first (nx run <project>:spec, or deepmaker run spec)`);
  }
  for (const up of def.optionalUpstream ? [] : def.upstream) {
    const rep = join(projectRoot, 'dist', up, 'report.json');
    if (!existsSync(rep)) throw new DeepMakerError(`stage '${name}' needs the output of '${up}', which is missing`, { file: rep }, `run '${up}' first`);
  }
  const run = await def.load();
  const workDir = join(projectRoot, '.deepmaker', name);
  mkdirSync(workDir, { recursive: true });
  const started = Date.now();
  await writeDirAtomically(join(projectRoot, 'dist', name), (outDir) =>
    run({
      stage: name,
      projectRoot,
      workspaceRoot,
      spec: readJson(viewFile),
      outDir,
      workDir,
      inputDir: (s) => join(projectRoot, 'dist', s),
      log,
    }),
  );
  log.info(`done in ${((Date.now() - started) / 1000).toFixed(1)} s -> ${join(projectRoot, 'dist', name)}`);
}

/**
 * Runs a project's data stage from its deepmaker.yaml into `outDir`, leaving the project's dist/
 * alone (queue workers rebuild the tensors a job names into a cache of their own this way).
 */
export async function buildDataInto(projectRoot: string, workspaceRoot: string, outDir: string, log: Logger): Promise<void> {
  const file = join(projectRoot, SPEC_FILE);
  const spec = loadSpec(file);
  const views = await stageViews(spec, projectRoot, file);
  const run = await stageByName('data')!.load();
  const workDir = join(projectRoot, '.deepmaker', 'data');
  mkdirSync(workDir, { recursive: true });
  await run({ stage: 'data', projectRoot, workspaceRoot, spec: views.data, outDir, workDir, inputDir: (s) => join(projectRoot, 'dist', s), log });
}
