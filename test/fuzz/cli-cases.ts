/**
 * The CLI fuzz cases (run by test/fuzz/cli.fuzz.test.ts in a child process of its own: the cases
 * capture stdout and stderr, which in the test runner's process carry its reports). Generated
 * argv arrays go through the CLI's function entry point, main(argv), in a temporary working folder.
 * Commands whose run is long (calibrate synthesizes, worker waits for jobs, board streams to a
 * device) are replaced by recorders after main has checked their arguments; every other command
 * runs for real (no generated path names a real model or spec, so they fail fast).
 *
 * Every case must return an exit code; a non-zero one comes with a message on stderr and no stack
 * trace; an argument error (exit 2) names the command. env: DM_FUZZ_RUNS, DM_FUZZ_SEED, DM_FUZZ_OUT.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, main } from '../../src/cli/main';
import { COMMAND_ARGS } from '../../src/cli/args';

const RUNS = Number(process.env.DM_FUZZ_RUNS ?? 3000);
const SEED = Number(process.env.DM_FUZZ_SEED ?? 15);

const work = mkdtempSync(join(tmpdir(), 'dm-cli-fuzz-'));
process.chdir(work);

const reached: Record<string, number> = {};
for (const name of ['calibrate', 'worker', 'board']) {
  COMMANDS[name] = async () => {
    reached[name] = (reached[name] ?? 0) + 1;
    return 0;
  };
}

const commands = [...Object.keys(COMMAND_ARGS), 'help', '--help', '-h', '--version', '-V', 'bogus', 'constructor', '__proto__', ''];
const optionNames = [...new Set(Object.values(COMMAND_ARGS).flatMap((c) => Object.keys(c.options)))];
/** Values: the ones options take, broken ones, odd strings; never an absolute path (nothing may land outside the temporary folder). */
const value = fc.oneof(
  fc.constantFrom('', '0', '1', '-1', '8', '2.5', '1e309', 'NaN', 'Infinity', '0x10', ' 7 ', '65', '99999999999999999999', 'fixed<16,6>', 'fixed<1,0>', 'fixed<64,2>', 'ap_fixed<8,3>', 'float', 'arrays', 'files', 'auto', 'native', 'yowasp', '4,6,8', '1,40', ',', 'redis://127.0.0.1:1', 'http://x', 'model.h5', 'm.keras', 'model.json', 'x.npy', 'x.h5#/a/b', 'deepmaker.yaml', 'out', '.', '..', '--', '-', '-x', '--out', 'data', 'spec', 'dtaa'),
  fc.string({ maxLength: 12 }).filter((s) => !s.startsWith('/') && !s.startsWith('~')),
  fc.integer({ min: -3, max: 100000 }).map(String),
);
/** A token for `command`: mostly its own options (so that many argv get past the checks and run), some foreign or broken. */
const token = (command: string) => {
  const own = Object.keys(COMMAND_ARGS[command]?.options ?? {});
  const names = own.length ? own : optionNames;
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...names).chain((o) => value.map((v) => [`--${o}`, v])) },
    { weight: 2, arbitrary: fc.constantFrom(...names).map((o) => [`--${o}`]) },
    { weight: 1, arbitrary: fc.constantFrom(...optionNames).chain((o) => value.map((v) => [`--${o}=${v}`])) },
    { weight: 1, arbitrary: fc.constantFrom('--help', '-h', '--bogus', '-x', '--', '-', '--force', '--simulate', '--no-force').map((t) => [t]) },
    { weight: 2, arbitrary: value.map((v) => [v]) },
  );
};
const argv = fc
  .constantFrom(...commands)
  .chain((c) => fc.array(token(c), { maxLength: 6 }).map((rest) => (c === '' ? rest.flat() : [c, ...rest.flat()])));

let out = '';
let err = '';
const write = (target: 'out' | 'err') => (chunk: any, ...rest: any[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  if (target === 'out') out += text;
  else err += text;
  const done = rest.find((r) => typeof r === 'function');
  if (done) done();
  return true;
};

const codes: Record<string, number> = {};
/** Exit codes per command. */
const perCommand: Record<string, Record<number, number>> = Object.create(null); // a command may be named __proto__
let cases = 0;

async function main_(): Promise<void> {
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const failure = await fc
    .assert(
      fc.asyncProperty(argv, async (args) => {
        out = err = '';
        (process.stdout as any).write = write('out');
        (process.stderr as any).write = write('err');
        let code: number;
        try {
          code = await main(args);
        } catch (e) {
          throw new Error(`main(${JSON.stringify(args)}) threw: ${(e as Error)?.stack ?? e}`);
        } finally {
          process.stdout.write = stdoutWrite;
          process.stderr.write = stderrWrite;
          process.chdir(work);
        }
        cases++;
        codes[code] = (codes[code] ?? 0) + 1;
        const pc = (perCommand[String(args[0])] ??= {});
        pc[code] = (pc[code] ?? 0) + 1;
        const where = `main(${JSON.stringify(args)}) -> ${code}`;
        if (!Number.isInteger(code)) throw new Error(`${where}: not an exit code`);
        if (code !== 0 && !(err.trim() || (code === 1 && args.length === 0))) throw new Error(`${where}: no message on stderr (stdout: ${out.slice(0, 300)})`);
        if (/\n\s+at .+:\d+:\d+\)?/.test(err)) throw new Error(`${where}: a stack trace reached the user:\n${err.slice(0, 1500)}`);
        if (code === 2 && Object.hasOwn(COMMAND_ARGS, args[0]) && !err.includes(`deepmaker ${args[0]}`)) throw new Error(`${where}: the argument error names no command: ${err.slice(0, 500)}`);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    )
    .then(
      () => undefined,
      (e: Error) => `${e.message}${(e as any).cause ? `\ncause: ${(e as any).cause?.stack ?? (e as any).cause}` : ''}`,
    );
  process.chdir(tmpdir());
  rmSync(work, { recursive: true, force: true });
  writeFileSync(process.env.DM_FUZZ_OUT ?? join(tmpdir(), 'dm-cli-fuzz.json'), JSON.stringify({ cases, codes, perCommand, reached, failure }));
}

void main_();
