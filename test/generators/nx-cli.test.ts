import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseSpec } from '../../src/spec/load';
import { REPO, run, Workspace } from '../e2e/workspace';

/**
 * The generators through the real `nx` CLI, the way the README tells a user to run them:
 *  - in this repository (a temporary copy of it, laid out as `npm ci` leaves it: node_modules/deepmaker
 *    is a link to the repository itself, so Nx sees the package as a *local* plugin and looks for its
 *    implementations beside the sources);
 *  - in a fresh workspace with an installed copy of the package (test/e2e/workspace.ts).
 * Nx 24 resolves a factory path without an extension by trying the path, then `.js`, then `.ts`, and
 * for a local plugin first "from source": generators.json naming `./build/generators/init/generator`
 * made it load generators/init/generator.ts, which fails ("Unexpected identifier 'Tree'").
 */

/** Folders of a checkout that are not part of the repository's content. */
const SKIP = new Set(['node_modules', '.git', '.nx', 'dist', '.deepmaker', 'tmp']);

function copyRepository(): string {
  const root = mkdtempSync(join(tmpdir(), 'dm-repo-copy-'));
  cpSync(REPO, root, {
    recursive: true,
    filter: (src) => {
      const rel = relative(REPO, src);
      if (rel === '') return true;
      const top = rel.split(sep)[0];
      return !SKIP.has(top) && !rel.split(sep).includes('dist') && !rel.split(sep).includes('.deepmaker');
    },
  });
  // node_modules as `npm ci` makes it here: every package from this checkout, deepmaker a link to the root.
  const modules = join(root, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(REPO, 'node_modules'))) {
    if (name === 'deepmaker' || name.startsWith('.')) continue;
    symlinkSync(join(REPO, 'node_modules', name), join(modules, name), 'dir');
  }
  symlinkSync('..', join(modules, 'deepmaker'), 'dir');
  return root;
}

const nx = (cwd: string, args: string[]) => run(process.execPath, [join(cwd, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args], cwd, {});

function checkKws(root: string): void {
  const file = 'models/kws/deepmaker.yaml';
  const spec = parseSpec(readFileSync(join(root, file), 'utf8'), file);
  assert.equal(spec.name, 'kws');
  assert.equal(spec.data.dataset, 'csv');
  assert.equal(spec.target.device, 'ice40-hx8k');
}

describe('nx g deepmaker:* through the nx CLI', () => {
  const copy = copyRepository();
  const ws = new Workspace('dm-gen-');
  after(() => {
    rmSync(copy, { recursive: true, force: true });
    ws.remove();
  });

  it('in this repository: init, then the README example `nx g deepmaker:model kws --dataset=csv --device=ice40-hx8k`', async () => {
    const init = await nx(copy, ['g', 'deepmaker:init', '--no-interactive']);
    assert.equal(init.code, 0, init.out);
    assert.doesNotMatch(init.out, /swc-node|ts-node|Unexpected identifier/);
    const model = await nx(copy, ['g', 'deepmaker:model', 'kws', '--dataset=csv', '--device=ice40-hx8k', '--no-interactive']);
    assert.equal(model.code, 0, model.out);
    assert.match(model.out, /CREATE models\/kws\/deepmaker\.yaml/);
    checkKws(copy);
    const projects = await nx(copy, ['show', 'projects']);
    assert.equal(projects.code, 0, projects.out);
    assert.ok(projects.out.split(/\s+/).includes('kws'), projects.out);
  });

  it('in this repository: an executor (executors.json) loads from build/ too', async () => {
    const spec = await nx(copy, ['run', 'model:spec', '--skip-nx-cache', '--output-style=static']);
    assert.equal(spec.code, 0, spec.out);
    assert.doesNotMatch(spec.out, /swc-node|ts-node|Unexpected identifier/);
  });

  it('in a fresh workspace with the package installed: init, then model', async () => {
    const init = await ws.nx(['g', 'deepmaker:init', '--no-interactive']);
    assert.equal(init.code, 0, init.out);
    assert.match(ws.read('nx.json'), /"plugin": "deepmaker\/plugin"/);
    const model = await ws.nx(['g', 'deepmaker:model', 'kws', '--dataset=csv', '--device=ice40-hx8k', '--no-interactive']);
    assert.equal(model.code, 0, model.out);
    checkKws(ws.root);
    const projects = await ws.nx(['show', 'projects']);
    assert.equal(projects.code, 0, projects.out);
    assert.deepEqual(projects.out.trim().split(/\s+/), ['kws']);
  });

  it('every factory and implementation names a .js file under build/', () => {
    for (const [file, key, field] of [['generators.json', 'generators', 'factory'], ['executors.json', 'executors', 'implementation']] as const) {
      const entries = JSON.parse(readFileSync(join(REPO, file), 'utf8'))[key] as Record<string, Record<string, string>>;
      for (const [name, entry] of Object.entries(entries)) {
        assert.match(entry[field], /^\.\/build\/.+\.js$/, `${file}: ${name}.${field} must name the compiled .js (Nx would load the .ts source of a local plugin)`);
      }
    }
  });
});
