import type { CreateNodesContextV2, CreateNodesResultV2, CreateNodesV2, TargetConfiguration } from '@nx/devkit';
import { basename, dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { MAX_SPEC_BYTES } from '../spec/limits';
import { readRegularFile } from '../util/read';
import { PACKAGE_ROOT } from './build-freshness';
import { specViewFile } from '../stages/views';
import { STAGES, StageDef } from '../stages/registry';

export interface DeepMakerPluginOptions {
  /** Prefix of target names (default none: spec, data, nas, ...). */
  targetPrefix?: string;
}


/**
 * One Nx project per deepmaker.yaml with a fixed set of targets: `spec` and one per implemented stage.
 * No value of the spec goes into a target (Nx hashes the whole project configuration into every task,
 * so one section's value in any target would rerun every stage). Stages read dist/spec/<stage>.json.
 */
export const createNodes: CreateNodesV2<DeepMakerPluginOptions> = [
  '**/deepmaker.yaml',
  async (files, options, context) => files.map((file) => [file, nodesFor(file, options ?? {}, context)] as const) as CreateNodesResultV2,
];

/** Nx ≥ 22 calls it createNodes; createNodesV2 is kept as the alias older Nx versions look for. */
export const createNodesV2 = createNodes;

function nodesFor(file: string, options: DeepMakerPluginOptions, context: CreateNodesContextV2) {
  const root = dirname(file);
  const name = projectName(join(context.workspaceRoot, file), root);
  const inRepo = resolve(context.workspaceRoot) === PACKAGE_ROOT;
  const p = options.targetPrefix ?? '';
  const targets: Record<string, TargetConfiguration> = {
    [`${p}spec`]: {
      executor: 'deepmaker:spec',
      options: {},
      cache: true,
      // The spec stage is cheap; it reads the YAML and the files it names, and its outputs cut off the rest.
      inputs: [
        '{projectRoot}/**/*',
        '!{projectRoot}/dist/**/*',
        '!{projectRoot}/.deepmaker/**/*',
        ...(inRepo ? ['{workspaceRoot}/src/spec/**/*', '{workspaceRoot}/schemas/**/*'] : []),
        // Data files may be gitignored or outside the project, where Nx does not hash them: stamp them.
        { runtime: `node node_modules/deepmaker/bin/deepmaker.js input-stamp ${root}` },
        { externalDependencies: inRepo ? ['yaml', 'ajv'] : ['deepmaker', 'yaml', 'ajv'] },
      ],
      outputs: ['{projectRoot}/dist/spec'],
      metadata: { description: 'Validate deepmaker.yaml and write one canonical JSON view per stage.' },
    },
  };
  for (const stage of STAGES) targets[`${p}${stage.name}`] = stageTarget(stage, root, inRepo, p);
  // Talks to a board (or the simulated one): never cached, after the bitstream.
  targets[`${p}board`] = {
    executor: 'deepmaker:board',
    options: {},
    cache: false,
    dependsOn: [`${p}bitstream`],
    metadata: { description: 'Stream test samples to the FPGA over its serial port (--port, or --simulate: the synthesized board top behind a pseudo-terminal) and check every answer against the C model; writes dist/board/report.json.' },
  };
  return {
    projects: {
      [root]: {
        name,
        root,
        tags: ['deepmaker'],
        targets,
      },
    },
  };
}

function stageTarget(stage: StageDef, root: string, inRepo: boolean, prefix: string): TargetConfiguration {
  // `{projectRoot}` is not interpolated inside dependentTasksOutputFiles: use workspace-relative paths.
  const rel = root === '.' ? '' : `${root}/`;
  return {
    executor: `deepmaker:${stage.name}`,
    options: {},
    cache: true,
    dependsOn: [`${prefix}spec`, ...stage.upstream.map((u) => `${prefix}${u}`)],
    inputs: [
      { dependentTasksOutputFiles: `${rel}dist/spec/${specViewFile(stage.name)}` },
      ...stage.upstream.flatMap((u) => (stage.reads?.[u] ?? ['**/*']).map((glob) => ({ dependentTasksOutputFiles: `${rel}dist/${u}/${glob}` }))),
      ...(inRepo ? stage.sources.map((s) => (s.endsWith('.ts') ? `{workspaceRoot}/src/${s}` : `{workspaceRoot}/src/${s}/**/*`)) : []),
      { externalDependencies: inRepo ? stage.externalDependencies : ['deepmaker', ...stage.externalDependencies] },
    ],
    outputs: [`{projectRoot}/dist/${stage.name}`],
    metadata: { description: stage.description },
  };
}

/** Specs up to this size are parsed for their name in createNodes (a real one is a few KiB); larger ones are scanned. */
const PARSE_FOR_NAME_BYTES = 64 * 1024;

/**
 * The project name is the spec's `name`. A malformed YAML must not break createNodes for the whole
 * workspace, nor may a hostile one hang it: a file that is not a regular file (a FIFO, a device) or
 * is above the spec size limit is not read; a large one is not parsed, only scanned for a top-level
 * `name:` line. Otherwise, or when there is no usable name, the folder's name; the `spec` target
 * reports the error.
 */
function projectName(absFile: string, root: string): string {
  const fallback = root === '.' ? basename(resolve(absFile, '..')) : basename(root);
  const valid = (n: unknown): n is string => typeof n === 'string' && /^[a-z][a-z0-9-]*$/.test(n);
  try {
    const r = readRegularFile(absFile, MAX_SPEC_BYTES);
    if (r.problem !== undefined) return fallback;
    const text = r.bytes.toString('utf8');
    if (text.length > PARSE_FOR_NAME_BYTES) {
      const m = /^name:[ \t]*(["']?)([a-z][a-z0-9-]*)\1[ \t]*(?:#.*)?$/m.exec(text);
      return m ? m[2] : fallback;
    }
    const doc = parseDocument(text);
    const name = doc.errors.length ? undefined : doc.get('name');
    if (valid(name)) return name;
  } catch {
    /* fall through */
  }
  return fallback;
}
