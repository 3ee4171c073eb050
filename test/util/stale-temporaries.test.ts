/**
 * Temporaries of killed writers are removed by the next run (issue 15: 15 `.data.tmp-<pid>-*`
 * folders, up to 145 MB each, after 24 kills of the data stage). The mechanism is the shared one,
 * writeDirAtomically (every stage, `deepmaker convert --out`) and writeFileAtomically: entries whose
 * process is gone are removed; those of a live process (a run writing now) and of this one are kept.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processAlive, writeDirAtomically, writeFileAtomically } from '../../src/util/fs';
import { IDX_YAML, tempProject, writeIdxDataset } from '../data/helpers';

const BIN = resolve(__dirname, '..', '..', 'bin', 'deepmaker.js');
const KILL = resolve(__dirname, '..', 'cli', 'kill-on-write.cjs');
/** Above Linux's largest pid_max (2^22): no process has it. */
const DEAD = 4_194_305;

function deepmaker(args: string[], cwd: string, killOn?: string): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const pre = killOn ? ['--require', KILL] : [];
  return new Promise((done) =>
    execFile(process.execPath, [...pre, BIN, ...args], { cwd, timeout: 120_000, env: { ...process.env, DM_KILL_ON_WRITE: killOn ?? '' } }, (err, _out, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: (err as any)?.signal ?? null, stderr }),
    ),
  );
}

function staleFolder(parent: string, name: string): string {
  const d = join(parent, name);
  mkdirSync(join(d, 'sub'), { recursive: true });
  writeFileSync(join(d, 'sub', 'x.npy'), Buffer.alloc(1024));
  return d;
}

describe('stale temporaries of killed writers', () => {
  let dir: string;
  let live: ReturnType<typeof spawn>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dm-stale-'));
    live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  });
  after(() => {
    live.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('processAlive: this process, a live child, and no process', () => {
    assert.equal(processAlive(process.pid), true);
    assert.equal(processAlive(live.pid!), true);
    assert.equal(processAlive(DEAD), false);
  });

  it('writeDirAtomically removes .<name>.tmp/.old-<dead pid>-* and keeps the rest', async () => {
    const parent = join(dir, 'dist');
    mkdirSync(parent);
    staleFolder(parent, `.data.tmp-${DEAD}-0a1b2c3d`);
    staleFolder(parent, `.data.old-${DEAD}-deadbeef`);
    staleFolder(parent, `.data.tmp-${live.pid}-01234567`); // a run writing now
    staleFolder(parent, `.data.tmp-${process.pid}-89abcdef`); // this process
    staleFolder(parent, `.database.tmp-${DEAD}-01234567`); // another output's
    staleFolder(parent, 'nas');
    await writeDirAtomically(join(parent, 'data'), (tmp) => writeFileSync(join(tmp, 'report.json'), '{}'));
    assert.deepEqual(readdirSync(parent).sort(), [`.data.tmp-${live.pid}-01234567`, `.data.tmp-${process.pid}-89abcdef`, `.database.tmp-${DEAD}-01234567`, 'data', 'nas'].sort());
  });

  it('writeFileAtomically removes <file>.tmp-<dead pid>-* files in its folder', () => {
    const d = join(dir, 'store');
    mkdirSync(d);
    writeFileSync(join(d, `a.json.tmp-${DEAD}-0badf00d`), 'half');
    writeFileSync(join(d, `b.json.tmp-${live.pid}-0badf00d`), 'being written');
    writeFileSync(join(d, 'c.json'), 'kept');
    writeFileAtomically(join(d, 'a.json'), 'whole');
    assert.deepEqual(readdirSync(d).sort(), ['a.json', `b.json.tmp-${live.pid}-0badf00d`, 'c.json']);
  });

  it('a data stage killed mid-write leaves .data.tmp-<pid>-*; the next run removes it', async () => {
    const p = tempProject(IDX_YAML());
    try {
      writeIdxDataset(p.dir, 'train', 30);
      writeIdxDataset(p.dir, 'test', 5);
      const spec = join(p.dir, 'deepmaker.yaml');
      // The data stage's report.json is its last file: the process dies with the stage's output complete but not renamed.
      for (let i = 0; i < 2; i++) {
        const killed = await deepmaker(['run', 'data', '--spec', spec], p.dir, '/\\.data\\.tmp-\\d+-[0-9a-f]+/report\\.json$');
        assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      }
      const left = () => readdirSync(join(p.dir, 'dist')).filter((n) => n.startsWith('.data.'));
      assert.equal(left().length, 1, 'the second killed run removed the first one\'s temporary; its own is left');
      assert.ok(!existsSync(join(p.dir, 'dist', 'data')));
      const r = await deepmaker(['run', 'data', '--spec', spec], p.dir);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(left(), [], 'the rerun removed them');
      assert.ok(existsSync(join(p.dir, 'dist', 'data', 'report.json')));
    } finally {
      p.cleanup();
    }
  });
});
