/**
 * The project page in a real browser (Debian's chromium, headless, through playwright-core): built
 * by the report stage from a real run's reports, loaded from file:// with every network feature
 * off, it must load with no console error, no page error and no request beyond file: and data:,
 * and show every section and every figure (each image decoded, each drawn SVG laid out). A flow
 * that started from a model and stopped before the hardware gives a page that says so, also
 * without an error.
 *
 * Chromium is required: without it this test fails (CI installs it, see .ci/run). Set
 * DEEPMAKER_CHROMIUM to use another Chromium binary.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { runStage } from '../../src/stages/run';
import { PAGE_STAGES } from '../../src/report/page';
import { silentLogger } from '../../src/util/log';
import { FIGURES, FLOW, SECTIONS } from './expected';

function findChromium(): string {
  const given = process.env.DEEPMAKER_CHROMIUM;
  if (given) return given;
  for (const name of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  assert.fail('Chromium is not installed: the project page is tested in a real browser. Install it (Debian: apt-get install chromium) or set DEEPMAKER_CHROMIUM to a Chromium binary.');
}

/** A project folder holding the given stages' outputs from the fixture run, then the report stage run on it. */
async function projectWith(roots: string[], stages: readonly string[], edit?: (root: string) => void): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'dm-report-browser-'));
  roots.push(root);
  writeFileSync(join(root, 'deepmaker.yaml'), 'name: quadrants\ndata:\n  dataset: mnist\n');
  await runStage('spec', root, root, silentLogger);
  for (const s of stages) cpSync(join(FLOW, s), join(root, 'dist', s), { recursive: true });
  edit?.(root);
  await runStage('report', root, root, silentLogger);
  return root;
}

interface Loaded {
  problems: string[];
  sections: { id: string; height: number; text: string }[];
  figures: { id: string; kind: string; ok: boolean; width: number }[];
  reportLinks: string[];
}

/**
 * What the test reads in the page (browser-side JavaScript; a string because this project's
 * TypeScript has no DOM types): the sections, each figure drawn or not, the links to reports.
 */
const IN_PAGE = `(() => ({
  sections: Array.from(document.querySelectorAll('section[data-section]')).map((s) => ({ id: s.getAttribute('data-section'), height: s.getBoundingClientRect().height, text: s.innerText })),
  figures: Array.from(document.querySelectorAll('figure[data-figure]')).map((f) => {
    const img = f.querySelector('img');
    const svg = f.querySelector('svg');
    const el = img || svg;
    const ok = img ? img.complete && img.naturalWidth > 0 && img.naturalHeight > 0 : !!svg && svg.getBBox().width > 0 && svg.querySelectorAll('polyline, rect').length > 1;
    return { id: f.getAttribute('data-figure'), kind: img ? 'img' : 'svg', ok, width: el ? el.getBoundingClientRect().width : 0 };
  }),
  reportLinks: Array.from(document.querySelectorAll('a.rep')).map((a) => a.href),
}))()`;

async function load(context: BrowserContext, file: string): Promise<Loaded> {
  const problems: string[] = [];
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text().slice(0, 300)}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!/^(file|data):/.test(r.url())) problems.push(`request to ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.waitForFunction('Array.from(document.images).every((i) => i.complete)');
  const result = (await page.evaluate(IN_PAGE)) as Omit<Loaded, 'problems'>;
  await page.close();
  return { problems, ...result };
}

describe('the project page in Chromium', () => {
  let context: BrowserContext;
  let profile: string;
  const roots: string[] = [];

  before(async () => {
    profile = mkdtempSync(join(tmpdir(), 'dm-chromium-profile-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: findChromium(),
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
  });
  after(async () => {
    await context?.close();
    for (const r of [profile, ...roots]) if (r) rmSync(r, { recursive: true, force: true });
  });

  it('a whole flow: no console error, every section and every figure shown, every report linked', async () => {
    const root = await projectWith(roots, PAGE_STAGES);
    const page = await load(context, join(root, 'dist', 'report', 'index.html'));
    assert.deepEqual(page.problems, []);
    assert.deepEqual(page.sections.map((s) => s.id), SECTIONS);
    for (const s of page.sections) assert.ok(s.height > 50, `section ${s.id} is laid out (${s.height} px)`);
    for (const s of page.sections) assert.doesNotMatch(s.text, /has not run|could not be read|was skipped/, s.id);
    assert.deepEqual(page.figures.map((f) => f.id).sort(), [...FIGURES].sort());
    for (const f of page.figures) {
      assert.ok(f.ok, `figure ${f.id} (${f.kind}) is drawn`);
      assert.ok(f.width > 300, `figure ${f.id} is ${f.width} px wide`);
    }
    // One link per stage section to its report, and each leads to a file that exists.
    for (const s of PAGE_STAGES) assert.ok(page.reportLinks.some((h) => h.endsWith(`/dist/${s}/report.json`)), s);
    for (const h of page.reportLinks) assert.ok(existsSync(fileURLToPath(h)), h);
  });

  it('a flow that started from a model and stopped before the hardware: each section says so, without an error', async () => {
    const root = await projectWith(roots, ['data', 'convert', 'verify'], (r) => {
      const skipped = (reason: string) => JSON.stringify({ skipped: true, reason });
      for (const s of ['nas', 'train']) {
        mkdirSync(join(r, 'dist', s), { recursive: true });
        writeFileSync(join(r, 'dist', s, 'report.json'), skipped('the spec starts from an existing model (lenet.h5)'));
      }
    });
    const page = await load(context, join(root, 'dist', 'report', 'index.html'));
    assert.deepEqual(page.problems, []);
    assert.deepEqual(page.sections.map((s) => s.id), SECTIONS);
    const text = Object.fromEntries(page.sections.map((s) => [s.id, s.text]));
    assert.match(text.search, /The nas stage was skipped: the spec starts from an existing model \(lenet\.h5\)/);
    assert.match(text.training, /The train stage was skipped/);
    assert.match(text.dse, /The dse stage has not run/);
    assert.match(text.hardware, /The synth stage has not run/);
    assert.match(text.hardware, /The bitstream stage has not run/);
    assert.deepEqual(page.figures.map((f) => f.id), ['verify-sweep']);
    assert.ok(page.figures[0].ok);
  });
});
