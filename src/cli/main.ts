import { resolve, dirname } from 'node:path';
import { loadSpec, SpecError } from '../spec/load';
import { runStage } from '../plugin/runner';
import { referencedFilesStamp } from '../spec/views';
import { STAGES, upstreamClosure } from '../plugin/stages';
import { DeepMakerError, isDeepMakerError } from '../util/errors';
import { nearest } from '../spec/suggest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const USAGE = `deepmaker — the DeepMaker flow outside Nx

  deepmaker validate [spec]                  check a deepmaker.yaml (default ./deepmaker.yaml)
  deepmaker run <stage> [--spec path] [--force]
                                             run one stage; missing upstream outputs are built first
  deepmaker stages                           list the stages
  deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files]
                                             any Keras/TF.js model to flat C (layer table, knobs, harness)
  deepmaker verify --model M --inputs X [--expected Y] [--labels L] [--out DIR] [--format fixed<W,I>] [--sweep 4,6,8]
                                             compile and run the C on X; compare with Y or TensorFlow.js
  deepmaker board [--spec path] (--port DEV | --simulate) [--baud B] [--samples N] [--program]
                                             stream test samples to the FPGA (or the simulated board) and
                                             check every answer against the C model (deepmaker board --help)
  deepmaker calibrate [--toolchain auto|native|yowasp] [--jobs N] [--work DIR] [--refit]
                                             synthesize the DSE calibration modules, refit src/dse/calibration/ice40.json

Stages: spec, ${STAGES.map((s) => s.name).join(', ')}`;

/** Extra commands registered by other concerns (convert, verify...). */
export const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  convert: async (args) => (await import('../cgen/cli.js')).convertCommand(args),
  verify: async (args) => (await import('../verify/cli.js')).verifyCommand(args),
  calibrate: async (args) => (await import('../dse/calibrate.js')).calibrateCommand(args),
  board: async (args) => (await import('../board/cli.js')).boardCommand(args),
};

export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  try {
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
        for (const s of STAGES) console.log(`${s.name.padEnd(10)} ${s.description}`);
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return cmd ? 0 : 1;
      default:
        if (COMMANDS[cmd]) return await COMMANDS[cmd](args);
        console.error(`unknown command '${cmd}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof SpecError || isDeepMakerError(e)) {
      console.error((e as Error).message);
      return 1;
    }
    throw e;
  }
}
