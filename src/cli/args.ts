/**
 * Every command's arguments, checked before the command runs: node's own parser (util.parseArgs,
 * strict: an unknown option, a missing value or a value that looks like an option is an error),
 * then each value against what the command accepts. A bad command line gives a DeepMakerError
 * naming the command and the option, with the command's usage as the hint; it never reaches the
 * command (which, for calibrate or board, would otherwise start minutes of work on a typo).
 */
import { parseArgs } from 'node:util';
import { parseFormatFlag } from '../cgen/convert';
import { DeepMakerError } from '../util/errors';

/** A bad command line: a DeepMakerError whose command exits with 2, the usage-error status. */
export class ArgumentError extends DeepMakerError {
  readonly exitCode = 2;
}

type Check = (v: string, option: string) => void;
interface OptionSpec {
  /** A boolean flag (no value) when absent. */
  value?: Check;
}
interface CommandArgs {
  usage: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments the command takes: [min, max]. */
  positionals: [number, number];
  /** Options that must be given (checked after --help). */
  required?: string[];
}

const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v, o) => {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${o} must be a whole number ${min}..${max}, got '${v}'`);
};
const positive: Check = (v, o) => {
  if (!/^\s*[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v) || !(Number(v) > 0) || !Number.isFinite(Number(v))) throw new Error(`${o} must be a positive number, got '${v}'`);
};
const nonNegative: Check = (v, o) => {
  if (!/^\s*[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(v) || !Number.isFinite(Number(v))) throw new Error(`${o} must be a number >= 0, got '${v}'`);
};
const oneOf = (...choices: string[]): Check => (v, o) => {
  if (!choices.includes(v)) throw new Error(`${o} must be one of ${choices.join(', ')}, got '${v}'`);
};
const text: Check = (v, o) => {
  if (v === '') throw new Error(`${o} needs a value, got an empty one`);
};
const format: Check = (v) => void parseFormatFlag(v);
const fixedFormat: Check = (v, o) => {
  if (parseFormatFlag(v).format !== 'fixed') throw new Error(`${o} ${v}: verify always checks float and a fixed-point format; give fixed<W,I>`);
};
const widths: Check = (v, o) => {
  const parts = v.split(',');
  if (!parts.every((p) => /^\d+$/.test(p.trim()) && Number(p) >= 2 && Number(p) <= 32)) throw new Error(`${o} '${v}': give widths 2..32, comma-separated`);
};
const url: Check = (v, o) => {
  if (!/^rediss?:\/\/./.test(v)) throw new Error(`${o} '${v}' is not a redis:// or rediss:// URL`);
};


export const COMMAND_ARGS: Record<string, CommandArgs> = {
  validate: { usage: 'deepmaker validate [spec]', options: {}, positionals: [0, 1] },
  // The stage itself is checked by the command (it suggests the nearest name).
  run: { usage: 'deepmaker run <stage> [--spec path] [--force]', options: { spec: { value: text }, force: {} }, positionals: [0, 1] },
  stages: { usage: 'deepmaker stages', options: {}, positionals: [0, 0] },
  version: { usage: 'deepmaker version', options: {}, positionals: [0, 0] },
  'input-stamp': { usage: 'deepmaker input-stamp [dir]', options: {}, positionals: [0, 1] },
  convert: {
    usage: 'deepmaker convert <model> --out DIR [--weights W.h5] [--format float|fixed<W,I>] [--storage arrays|files] [--force] (deepmaker convert --help)',
    options: { out: { value: text }, weights: { value: text }, format: { value: format }, storage: { value: oneOf('arrays', 'files') }, force: {} },
    positionals: [1, 1],
    required: ['out'],
  },
  verify: {
    usage: 'deepmaker verify --model M --inputs X [--expected Y] [--labels L] [--out DIR] [--force] [--format fixed<W,I>] [--sweep 4,6,8] (deepmaker verify --help)',
    options: {
      model: { value: text },
      weights: { value: text },
      inputs: { value: text },
      expected: { value: text },
      labels: { value: text },
      samples: { value: wholeNumber(1) },
      format: { value: fixedFormat },
      sweep: { value: widths },
      tolerance: { value: nonNegative },
      sanitize: { value: wholeNumber(0) },
      out: { value: text },
      force: {},
    },
    positionals: [0, 0],
    required: ['model', 'inputs'],
  },
  calibrate: {
    usage: 'deepmaker calibrate [--toolchain auto|native|yowasp] [--jobs N] [--work DIR] [--out FILE] [--cached] [--refit]',
    options: { toolchain: { value: oneOf('auto', 'native', 'yowasp') }, jobs: { value: wholeNumber(1, 64) }, work: { value: text }, out: { value: text }, cached: {}, refit: {} },
    positionals: [0, 0],
  },
  worker: {
    usage: 'deepmaker worker --queue redis://host:port[/db] [--concurrency N] [--workspace DIR] [--name NAME] [--lock-duration ms] [--stalled-interval ms]',
    options: { queue: { value: url }, concurrency: { value: wholeNumber(1, 1024) }, workspace: { value: text }, name: { value: text }, 'lock-duration': { value: wholeNumber(1000) }, 'stalled-interval': { value: wholeNumber(1000) } },
    positionals: [0, 0],
    required: ['queue'],
  },
  board: {
    usage: 'deepmaker board [--spec path] (--port DEV | --simulate) [--baud B] [--samples N] [--program] [--timeout MS] (deepmaker board --help)',
    options: { spec: { value: text }, port: { value: text }, simulate: {}, baud: { value: wholeNumber(1, 100_000_000) }, samples: { value: wholeNumber(1) }, program: {}, timeout: { value: positive } },
    positionals: [0, 0],
  },
};

/**
 * Checks `args` of `command` (a key of COMMAND_ARGS); throws a DeepMakerError saying what is wrong.
 * Returns the arguments in the one spelling the commands read: the positionals, then each option
 * as `--name value` or `--name` (`--out=DIR` becomes `--out DIR`, `-h` becomes `--help`).
 * --help is the caller's business (it is accepted here).
 */
export function checkCommandArgs(command: string, args: string[]): string[] {
  const spec = COMMAND_ARGS[command];
  const where = { where: `deepmaker ${command}` };
  const options = {
    ...Object.fromEntries(Object.entries(spec.options).map(([k, o]) => [k, { type: o.value ? ('string' as const) : ('boolean' as const) }])),
    help: { type: 'boolean' as const, short: 'h' },
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    // node's messages name the option and say what is wrong ("Unknown option '--x'", "Option '--out <value>' argument missing").
    const message = String((e as Error)?.message ?? e).replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
    throw new ArgumentError(message, where, `usage: ${spec.usage}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const normalized = [...parsed.positionals, ...Object.entries(values).flatMap(([k, v]) => (typeof v === 'string' ? [`--${k}`, v] : v ? [`--${k}`] : []))];
  if (values.help) return normalized;
  for (const [k, o] of Object.entries(spec.options)) {
    const v = values[k];
    if (o.value && typeof v === 'string') {
      try {
        o.value(v, `--${k}`);
      } catch (e) {
        throw new ArgumentError(e instanceof DeepMakerError ? e.problem : (e as Error).message, where, `usage: ${spec.usage}`);
      }
    }
  }
  const [min, max] = spec.positionals;
  const pos = parsed.positionals;
  if (pos.length < min) throw new ArgumentError(`missing ${min - pos.length === 1 && min === 1 ? 'an argument' : `${min - pos.length} arguments`}`, where, `usage: ${spec.usage}`);
  if (pos.length > max) throw new ArgumentError(`unexpected argument${pos.length - max > 1 ? 's' : ''} ${pos.slice(max).map((p) => `'${p}'`).join(' ')}`, where, `usage: ${spec.usage}`);
  for (const r of spec.required ?? []) if (values[r] === undefined) throw new ArgumentError(`--${r} is required`, where, `usage: ${spec.usage}`);
  return normalized;
}
