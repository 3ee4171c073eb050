/**
 * Every command's arguments are checked before it runs (src/cli/args.ts): what the CLI fuzz test
 * (test/fuzz/cli.fuzz.test.ts) relies on. Before, an unknown option was ignored (`deepmaker
 * calibrate --job 2` synthesized for minutes), a number was not checked (`--samples abc` became
 * NaN), and an option's missing value took the next option as its value.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMMANDS, main } from '../../src/cli/main';

async function quiet(args: string[]): Promise<{ code: number; err: string }> {
  const orig = console.error;
  let err = '';
  console.error = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  try {
    return { code: await main(args), err };
  } finally {
    console.error = orig;
  }
}

describe('command-line arguments', () => {
  const reached: string[][] = [];
  const saved: Record<string, (typeof COMMANDS)[string]> = {};
  let dir: string;
  let cwd: string;
  before(() => {
    for (const name of ['calibrate', 'board', 'worker']) {
      saved[name] = COMMANDS[name];
      COMMANDS[name] = async (args) => {
        reached.push([name, ...args]);
        return 0;
      };
    }
    cwd = process.cwd();
    dir = mkdtempSync(join(tmpdir(), 'dm-args-'));
    process.chdir(dir);
  });
  after(() => {
    Object.assign(COMMANDS, saved);
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [args, re] of [
    [['calibrate', '--job', '2'], /deepmaker calibrate: Unknown option '--job'/],
    [['calibrate', '--jobs', 'many'], /--jobs must be a whole number 1\.\.64, got 'many'/],
    [['calibrate', '--toolchain', 'vivado'], /--toolchain must be one of auto, native, yowasp, got 'vivado'/],
    [['board', '--simulate', '--samples', '0'], /--samples must be a whole number/],
    [['board', '--port'], /deepmaker board: Option '--port <value>' argument missing/],
    [['worker', '--queue', 'localhost:6379'], /--queue 'localhost:6379' is not a redis:\/\/ or rediss:\/\/ URL/],
    [['worker', '--queue', 'redis://h:1', '--concurrency', '-3'], /deepmaker worker/],
    [['verify', '--model', 'm.h5', '--inputs', 'x.npy', '--samples', 'abc'], /--samples must be a whole number/],
    [['verify', '--model', 'm.h5', '--inputs', 'x.npy', '--format', 'float'], /verify always checks float and a fixed-point format/],
    [['verify', '--model', '--inputs', 'x.npy'], /deepmaker verify: Option '--model' argument is ambiguous/],
    [['convert', 'm.h5', '--out'], /deepmaker convert: Option '--out <value>' argument missing/],
    [['convert', 'm.h5', 'n.h5', '--out', 'o'], /unexpected argument 'n\.h5'/],
    [['stages', 'extra'], /deepmaker stages: unexpected argument 'extra'/],
  ] as [string[], RegExp][]) {
    it(`${args.join(' ')}: exit 2 with what is wrong and the usage; nothing runs`, async () => {
      const n = reached.length;
      const r = await quiet(args);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, re);
      assert.match(r.err, /hint: usage: deepmaker /);
      assert.equal(reached.length, n, 'the command did not run');
    });
  }

  it('accepted arguments reach the command in one spelling (--x=v and -h normalised)', async () => {
    const r = await quiet(['calibrate', '--jobs=2', '--cached']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(reached.at(-1), ['calibrate', '--jobs', '2', '--cached']);
  });
});
