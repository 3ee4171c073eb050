import { resolve, dirname } from 'node:path';
import { loadSpec, SpecError } from '../spec/load';
import { runStage } from '../stages/run';
import { referencedFilesStamp } from '../stages/views';
import { STAGES, upstreamClosure } from '../stages/registry';
import { DeepMakerError, isDeepMakerError } from '../util/errors';
import { nearest } from '../spec/suggest';
import { checkCommandArgs, COMMAND_ARGS } from './args';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const USAGE = `deepmaker — the DeepMaker flow outside Nx

  deepmaker validate [spec]                  check a deepmaker.yaml (default ./deepmaker.yaml)
  deepmaker run <stage> [--spec path] [--force]
                                             run one stage; missing upstream outputs are built first
  deepmaker stages                           list the stages
  deepmaker --version                        print the version
  deepmaker <command> --help                 explain a command (convert, verify and board list every option)
  deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files]
                                             any Keras/TF.js model to flat C (layer table, knobs, harness)
  deepmaker verify --model M --inputs X [--expected Y] [--labels L] [--out DIR] [--format fixed<W,I>] [--sweep 4,6,8]
                                             compile and run the C on X; compare with Y or TensorFlow.js
  deepmaker board [--spec path] (--port DEV | --simulate) [--baud B] [--samples N] [--program]
                                             stream test samples to the FPGA (or the simulated board) and
                                             check every answer against the C model (deepmaker board --help)
  deepmaker calibrate [--toolchain auto|native|yowasp] [--jobs N] [--work DIR] [--refit]
                                             synthesize the DSE calibration modules, refit src/dse/calibration/ice40.json
  deepmaker worker --queue redis://host:port[/db] [--concurrency N] [--workspace DIR] [--name NAME]
                                             train architecture-search jobs from a BullMQ queue (search.queue);
                                             the password comes from DEEPMAKER_REDIS_PASSWORD; run it in the
                                             workspace (or --workspace DIR); [--lock-duration ms] [--stalled-interval ms]
                                             tune how soon a dead worker's job goes to another (default 30000 each)

Stages: ${['spec', ...STAGES.map((s) => s.name)].join(', ')}`;

/** What the `spec` stage does (it is not in STAGES: the plugin and the runner handle it themselves). */
export const SPEC_STAGE_DESCRIPTION = 'Validate deepmaker.yaml (errors as file:line:column) and write one canonical view per stage to dist/spec/<stage>.json.';

/** Every stage in pipeline order, spec first, with what it does. */
export function stageList(): { name: string; description: string }[] {
  return [{ name: 'spec', description: SPEC_STAGE_DESCRIPTION }, ...STAGES.map((s) => ({ name: s.name, description: s.description }))];
}

/** The version in this package's package.json (found upwards from this file: src/cli or build/src/cli). */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (pkg.name === 'deepmaker' && typeof pkg.version === 'string') return pkg.version;
    }
    if (dirname(dir) === dir) throw new DeepMakerError('cannot find the deepmaker package.json', { where: __dirname });
  }
}

/** Extra commands registered by other concerns (convert, verify...). */
export const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  convert: async (args) => (await import('../cgen/cli.js')).convertCommand(args),
  verify: async (args) => (await import('../verify/cli.js')).verifyCommand(args),
  calibrate: async (args) => (await import('../dse/calibrate.js')).calibrateCommand(args),
  worker: workerCommand,
  board: async (args) => (await import('../board/cli.js')).boardCommand(args),
};

/** Commands that print their own full help for --help. */
const COMMANDS_WITH_HELP = new Set(['convert', 'verify', 'board']);
/** Built-in commands. */
const KNOWN = new Set(['validate', 'run', 'stages', 'version']);
function wholeNumber(args: string[], name: string, min: number): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min) throw new DeepMakerError(`${name} must be a whole number >= ${min}, got '${v}'`, { where: 'deepmaker worker' });
  return n;
}

async function workerCommand(args: string[]): Promise<number> {
  const url = flag(args, '--queue');
  if (!url || url.startsWith('-')) throw new DeepMakerError('no queue given', { where: 'deepmaker worker' }, 'usage: deepmaker worker --queue redis://host:port[/db] [--concurrency N] [--workspace DIR] [--name NAME]');
  const known = ['--queue', '--concurrency', '--workspace', '--name', '--lock-duration', '--stalled-interval'];
  for (let i = 0; i < args.length; i += 2) {
    if (!known.includes(args[i])) throw new DeepMakerError(`unknown option '${args[i]}'`, { where: 'deepmaker worker' }, `options: ${known.join(', ')}`);
  }
  const { runQueueWorker } = await import('../nas/queue-worker.js');
  const { buildDataInto } = await import('../stages/run.js');
  const { consoleLogger } = await import('../util/log.js');
  const workspaceRoot = resolve(flag(args, '--workspace') ?? process.cwd());
  if (!existsSync(workspaceRoot)) throw new DeepMakerError(`the workspace ${workspaceRoot} does not exist`, { where: 'deepmaker worker --workspace' });
  return runQueueWorker({
    url,
    concurrency: wholeNumber(args, '--concurrency', 1) ?? 1,
    workspaceRoot,
    name: flag(args, '--name'),
    rebuildData: buildDataInto,
    log: consoleLogger('worker'),
    lockDuration: wholeNumber(args, '--lock-duration', 1000),
    stalledInterval: wholeNumber(args, '--stalled-interval', 1000),
  });
}

export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const HELP_FLAGS = ['--help', '-h'];

export async function main(argv: string[]): Promise<number> {
  let [cmd, ...args] = argv;
  // `deepmaker help convert` is `deepmaker convert --help`.
  if (cmd === 'help' && args[0]) [cmd, args] = [args[0], ['--help']];
  try {
    // Asked for its help, a command never runs: convert and verify print their own, the rest the usage.
    if (cmd && args.some((a) => HELP_FLAGS.includes(a)) && (KNOWN.has(cmd) || Object.hasOwn(COMMANDS, cmd)) && !COMMANDS_WITH_HELP.has(cmd)) {
      console.log(USAGE);
      return 0;
    }
    // Every command's arguments are checked before it runs (src/cli/args.ts).
    if (cmd && Object.hasOwn(COMMAND_ARGS, cmd)) args = checkCommandArgs(cmd, args);
    switch (cmd) {
      case 'validate': {
        const file = resolve(args[0] ?? 'deepmaker.yaml');
        const spec = loadSpec(file);
        console.log(`${file}: valid (project '${spec.name}')`);
        return 0;
      }
      case 'run': {
        const stage = args[0];
        const known = ['spec', ...STAGES.map((s) => s.name)];
        if (!stage || stage.startsWith('-')) throw new DeepMakerError('no stage given', { where: 'deepmaker run' }, `usage: deepmaker run <stage> [--spec path] [--force]; stages: ${known.join(', ')}`);
        if (!known.includes(stage)) {
          const guess = nearest(stage, known);
          throw new DeepMakerError(`unknown stage '${stage}'${guess ? `; did you mean '${guess}'?` : ''}`, { where: 'deepmaker run' }, `stages: ${known.join(', ')}`);
        }
        const specFile = resolve(flag(args, '--spec') ?? 'deepmaker.yaml');
        const projectRoot = dirname(specFile);
        const force = args.includes('--force');
        await runStage('spec', projectRoot, process.cwd());
        for (const s of upstreamClosure(stage)) {
          const done = existsSync(join(projectRoot, 'dist', s, 'report.json'));
          if (s === stage || force || !done) await runStage(s, projectRoot, process.cwd());
        }
        return 0;
      }
      case 'input-stamp': {
        // Used by the spec target's Nx `runtime` input (see referencedFilesStamp); not for people.
        console.log(await referencedFilesStamp(resolve(args[0] ?? '.'), loadSpec));
        return 0;
      }
      case 'stages':
        for (const s of stageList()) console.log(`${s.name.padEnd(10)} ${s.description}`);
        return 0;
      case '--version':
      case '-V':
      case 'version':
        console.log(packageVersion());
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return cmd ? 0 : 1;
      default:
        if (Object.hasOwn(COMMANDS, cmd)) return await COMMANDS[cmd](args);
        console.error(`unknown command '${cmd}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof SpecError || isDeepMakerError(e)) {
      console.error((e as Error).message);
      // A bad command line (src/cli/args.ts) exits 2, as a usage error; a failed command 1.
      return (e as { exitCode?: number }).exitCode ?? 1;
    }
    throw e;
  }
}
