import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { STAGES } from '../../src/stages/registry';
import { IDX_YAML, put, tempProject, writeIdxDataset } from '../data/helpers';

/** The `deepmaker` command as installed (bin/deepmaker.js over build/), run in a child process. */
const BIN = resolve(__dirname, '..', '..', 'bin', 'deepmaker.js');

function deepmaker(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    ),
  );
}

describe('deepmaker CLI', () => {
  it('validate accepts a valid spec and names the project', async () => {
    const p = tempProject('name: kws\ndata:\n  dataset: mnist\n');
    try {
      const r = await deepmaker(['validate'], p.dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deepmaker\.yaml: valid \(project 'kws'\)/);
    } finally {
      p.cleanup();
    }
  });

  it('validate reports every problem with file:line:column, the key and a suggestion, exit 1, no stack trace', async () => {
    const p = tempProject('name: kws\ndata:\n  dataset: mnsit\n  normalise: scale\n');
    try {
      const r = await deepmaker(['validate', join(p.dir, 'deepmaker.yaml')], '/');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /deepmaker\.yaml:4:3: 'data\.normalise': unknown key 'normalise'; did you mean 'normalize'\?/);
      assert.match(r.stderr, /deepmaker\.yaml:3:12: 'data\.dataset': .*did you mean 'mnist'\?/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      p.cleanup();
    }
  });

  it('validate names a spec that does not exist', async () => {
    const p = tempProject('name: x\n');
    try {
      const r = await deepmaker(['validate', 'nope.yaml'], p.dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /nope\.yaml: cannot read the spec/);
    } finally {
      p.cleanup();
    }
  });

  it('run data --spec builds spec then data beside that spec, from any folder', async () => {
    const p = tempProject(IDX_YAML());
    try {
      writeIdxDataset(p.dir, 'train', 30);
      writeIdxDataset(p.dir, 'test', 5);
      const elsewhere = join(p.dir, 'elsewhere');
      mkdirSync(elsewhere);
      const r = await deepmaker(['run', 'data', '--spec', join(p.dir, 'deepmaker.yaml')], elsewhere);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\[spec\] .* is valid/);
      assert.match(r.stdout, /\[data\] 27 train \/ 3 validation \/ 5 test/);
      assert.ok(existsSync(join(p.dir, 'dist', 'spec', 'data.json')));
      assert.equal(JSON.parse(readFileSync(join(p.dir, 'dist', 'data', 'report.json'), 'utf8')).counts.test, 5);
      assert.equal(existsSync(join(elsewhere, 'dist')), false);
    } finally {
      p.cleanup();
    }
  });

  it('run fails on bad data with the stage error and exit 1, and on an unknown stage with a suggestion', async () => {
    const p = tempProject(IDX_YAML());
    try {
      writeIdxDataset(p.dir, 'train', 30);
      put(p.dir, 'test-images.idx', Buffer.from([0, 0, 8, 3, 0, 0]));
      put(p.dir, 'test-labels.idx', Buffer.from([0, 0, 8, 1, 0, 0, 0, 0]));
      const bad = await deepmaker(['run', 'data'], p.dir);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /test-images\.idx: truncated IDX header/);
      assert.equal(existsSync(join(p.dir, 'dist', 'data')), false);
      const unknown = await deepmaker(['run', 'dtaa'], p.dir);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /unknown stage 'dtaa'; did you mean 'data'\?/);
      const none = await deepmaker(['run'], p.dir);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /no stage given/);
    } finally {
      p.cleanup();
    }
  });

  it('stages lists the stages, spec first; no command prints the usage', async () => {
    const r = await deepmaker(['stages'], '/');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^data\s+Read the dataset/m);
    const listed = r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(listed, ['spec', ...STAGES.map((s) => s.name)], 'every stage `deepmaker run` accepts, in order');
    assert.match(r.stdout, /^spec\s+Validate deepmaker\.yaml/m);
    const u = await deepmaker([], '/');
    assert.equal(u.code, 1);
    assert.match(u.stdout, /deepmaker validate \[spec\]/);
  });

  it('convert --help and verify --help give the full help on stdout, exit 0, naming every option', async () => {
    for (const cmd of ['convert', 'verify']) {
      for (const args of [[cmd, '--help'], [cmd, '-h'], ['help', cmd]]) {
        const r = await deepmaker(args, '/');
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, '', args.join(' '));
        assert.match(r.stdout, new RegExp(`^usage: deepmaker ${cmd} `));
        const usage = r.stdout.split('\n')[0];
        const options = [...usage.matchAll(/--[a-z]+/g)].map((m) => m[0]);
        assert.ok(options.length >= 4, usage);
        for (const o of options) assert.match(r.stdout, new RegExp(`^${o} `, 'm'), `${args.join(' ')} explains ${o} on a line of its own`);
      }
    }
    const v = await deepmaker(['verify', '--help'], '/');
    // How golden vectors are read, and the defaults (src/verify/vectors.ts, src/verify/cli.ts).
    for (const text of ['.dat', '.npy', '.json', '.h5', 'file.h5#/group/dataset', '/inputs', '/predictions', 'fixed<16,6>', '4,6,8,10,12,16', '(default 0.01)', './deepmaker-verify']) {
      assert.ok(v.stdout.includes(text), `verify --help mentions ${text}`);
    }
    const c = await deepmaker(['convert', '--help'], '/');
    for (const text of ['.keras', 'model.json', 'float (default)', 'arrays (default)', 'KNOBS=']) assert.ok(c.stdout.includes(text), `convert --help mentions ${text}`);
  });

  it('board --help (and help board) give the board\'s own help on stdout, exit 0: every option, the iCEBreaker\'s port naming, the timeouts', async () => {
    for (const args of [['board', '--help'], ['board', '-h'], ['help', 'board']]) {
      const r = await deepmaker(args, '/');
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^deepmaker board \[--spec path\] \(--port DEV \| --simulate\)/);
      for (const o of ['--port', '--simulate', '--baud', '--samples', '--program', '--timeout']) assert.match(r.stdout, new RegExp(`^  ${o} `, 'm'), `${args.join(' ')} explains ${o}`);
      assert.match(r.stdout, /\/dev\/ttyUSB1/);
      assert.match(r.stdout, /with --simulate, a sample's clocks on the/);
    }
  });

  it('convert and verify without their required options still say how to use them, on stderr with exit 2', async () => {
    for (const cmd of ['convert', 'verify']) {
      const r = await deepmaker([cmd], '/');
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`usage: deepmaker ${cmd} [^]*deepmaker ${cmd} --help`));
    }
  });

  it('--help never runs a command (calibrate would synthesize for minutes); other commands print the usage', async () => {
    for (const args of [['calibrate', '--help'], ['run', 'data', '--help'], ['validate', '-h'], ['help', 'stages']]) {
      const p = tempProject('name: x\n');
      try {
        const r = await deepmaker(args, p.dir);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout, /deepmaker validate \[spec\]/);
        assert.equal(existsSync(join(p.dir, 'dist')), false, `${args.join(' ')} ran nothing`);
      } finally {
        p.cleanup();
      }
    }
  });

  it('--version prints the package version', async () => {
    const version = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'package.json'), 'utf8')).version;
    for (const flag of ['--version', '-V', 'version']) {
      const r = await deepmaker([flag], '/');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });

  it('a command named like an Object property (constructor, toString) is an unknown command, not a crash', async () => {
    for (const cmd of ['constructor', 'toString', '__proto__']) {
      const r = await deepmaker([cmd], '/');
      assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`unknown command '${cmd}'`));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
