import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';

// npm test runs dependency-cruiser with .dependency-cruiser.cjs over src/ (scripts/test.mjs). These
// cases prove the rules fire: each fixture tree breaks one rule, and the check must fail naming it.
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cruise(files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dm-deps-'));
  dirs.push(dir);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  const r = spawnSync(process.execPath, [CLI, 'src', '--config', CONFIG], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('import rules (.dependency-cruiser.cjs)', () => {
  it('pass a tree that flows one way', () => {
    const r = cruise({
      'src/util/a.ts': 'export const a = 1;\n',
      'src/rtl/b.ts': "import { a } from '../util/a';\nexport const b = a;\n",
      'src/stages/c.ts': "import { b } from '../rtl/b';\nexport const c = b;\n",
      'src/plugin/d.ts': "import { c } from '../stages/c';\nexport const d = c;\n",
      'src/cli/e.ts': "import { d } from '../plugin/d';\nexport const e = d;\n",
    });
    assert.equal(r.status, 0, r.out);
  });

  it('fail on a cycle between two folders, though no module cycle exists', () => {
    const r = cruise({
      'src/rtl/a.ts': "import { c } from '../fpga/c';\nexport const a = c;\n",
      'src/rtl/b.ts': 'export const b = 2;\n',
      'src/fpga/c.ts': 'export const c = 3;\n',
      'src/fpga/d.ts': "import { b } from '../rtl/b';\nexport const d = b;\n",
    });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /no-folder-cycle/);
  });

  it('fail on a cycle through a lazy import', () => {
    const r = cruise({
      'src/nas/a.ts': "export async function a() { return (await import('./b.js')).b; }\n",
      'src/nas/b.ts': "import { a } from './a';\nexport const b = a;\n",
    });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /no-module-cycle/);
  });

  it('fail when an integer consumer resolves formats itself instead of reading the quantized-model view', () => {
    const precision = "export interface NumberKnobs { bits: number }\nexport function resolveFormats(k: NumberKnobs) { return k.bits; }\n";
    const lower = "import { resolveFormats, type NumberKnobs } from './precision';\nexport const lowerModel = (k: NumberKnobs) => resolveFormats(k);\n";
    // src/quant/reference.ts as it was: its own resolution of the formats.
    const own = cruise({
      'src/qmodel/precision.ts': precision,
      'src/qmodel/lower.ts': lower,
      'src/quant/reference.ts': "import { resolveFormats, type NumberKnobs } from '../qmodel/precision';\nexport const run = (k: NumberKnobs) => resolveFormats(k);\n",
    });
    assert.notEqual(own.status, 0, own.out);
    assert.match(own.out, /integer-consumers-read-the-quantized-model-view/);
    assert.match(own.out, /src\/quant\/reference\.ts → src\/qmodel\/precision\.ts/);
    // The knobs' type may still come from precision.ts; the integers and formats come from the view.
    const view = cruise({
      'src/qmodel/precision.ts': precision,
      'src/qmodel/lower.ts': lower,
      'src/quant/reference.ts': "import type { NumberKnobs } from '../qmodel/precision';\nimport { lowerModel } from '../qmodel/lower';\nexport const run = (k: NumberKnobs) => lowerModel(k);\n",
      'src/rtl/lower.ts': "import type { NumberKnobs } from '../qmodel/precision';\nimport { lowerModel } from '../qmodel/lower';\nexport const lowerForRtl = (k: NumberKnobs) => lowerModel(k);\n",
    });
    assert.equal(view.status, 0, view.out);
  });

  it('fail when a library imports the Nx layer', () => {
    const r = cruise({
      'src/plugin/context.ts': 'export interface Ctx { x: number }\n',
      'src/dse/stage.ts': "import type { Ctx } from '../plugin/context';\nexport const f = (c: Ctx) => c.x;\n",
    });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /libraries-never-import-the-plugin/);
  });
});
