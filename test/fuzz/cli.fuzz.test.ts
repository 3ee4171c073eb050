/**
 * Property-based fuzzing of the CLI's argument handling (issue 15): 5,000 generated argv arrays
 * over every command, through main(argv) in a child process (test/fuzz/cli-cases.ts). Every case
 * returns an exit code; a failure comes with a message and no stack trace; an argument error exits
 * 2 naming the command. DM_FUZZ_SEED changes the seed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';

const RUNS = 5000;

it(`fuzz: the CLI's arguments (${RUNS} generated argv arrays through main)`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dm-cli-fuzz-out-'));
  try {
    const out = join(dir, 'result.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'cli-cases.ts')], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
      env: { ...process.env, DM_FUZZ_RUNS: String(RUNS), DM_FUZZ_OUT: out },
    });
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(s.failure, undefined, s.failure);
    assert.equal(s.cases, RUNS);
    // The generator reaches both sides: commands that run (and fail or succeed) and argument errors.
    assert.ok(s.codes['0'] > 0 && s.codes['1'] > 0 && s.codes['2'] > 0, JSON.stringify(s.codes));
    console.log(`fuzz cli: ${s.cases} argv, exit codes ${JSON.stringify(s.codes)}; long commands reached with valid arguments: ${JSON.stringify(s.reached)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
