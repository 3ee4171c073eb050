/**
 * The project page as HTML (the browser test, browser.test.ts, loads it in Chromium): every section
 * and figure from a real run's reports, strings from reports escaped, and skipped, missing or
 * unreadable stages named in their sections instead of failing; the report stage through runStage.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runStage } from '../../src/stages/run';
import { PAGE_STAGES, reportPage } from '../../src/report/page';
import { readFlow } from '../../src/stages/report';
import { silentLogger } from '../../src/util/log';
import { FIGURES, FLOW, SECTIONS } from './expected';


const sectionOf = (html: string, id: string) => {
  const m = new RegExp(`<section id="${id}"[^]*?</section>`).exec(html);
  assert.ok(m, `section ${id}`);
  return m[0];
};

describe('the project page', () => {
  it('shows every section and figure of a whole flow, with a link to every report.json', () => {
    const html = reportPage({ project: 'quadrants', stages: readFlow((s) => join(FLOW, s)) });
    for (const s of SECTIONS) assert.match(html, new RegExp(`<section id="${s}" data-section="${s}">`), s);
    for (const f of FIGURES) assert.match(html, new RegExp(`<figure data-figure="${f}">`), f);
    for (const s of PAGE_STAGES) assert.ok(html.includes(`href="../${s}/report.json"`), s);
    // The figures the page reads from the reports: the search's selection, the DSE's choice, the counts.
    const nas = JSON.parse(readFileSync(join(FLOW, 'nas', 'report.json'), 'utf8'));
    assert.ok(sectionOf(html, 'search').includes(nas.selected.id));
    const dse = JSON.parse(readFileSync(join(FLOW, 'dse', 'report.json'), 'utf8'));
    assert.ok(sectionOf(html, 'dse').includes(`#${dse.chosen.id} by ${dse.chosen.rule}`));
    const sim = JSON.parse(readFileSync(join(FLOW, 'sim', 'report.json'), 'utf8'));
    assert.ok(sectionOf(html, 'bit-exact').includes(`${sim.bitExact} / ${sim.samples}`));
    const bit = JSON.parse(readFileSync(join(FLOW, 'bitstream', 'report.json'), 'utf8'));
    assert.ok(sectionOf(html, 'hardware').includes(`${bit.fmaxMHz} MHz`));
    // Nothing from outside: no script, no remote address, and a policy that forbids both.
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"/);
    // Deterministic: the same reports give the same bytes (Nx early cut-off downstream of nothing, and a stable cache).
    assert.equal(reportPage({ project: 'quadrants', stages: readFlow((s) => join(FLOW, s)) }), html);
  });

  it('escapes every string it takes from a report', () => {
    const stages = readFlow((s) => join(FLOW, s));
    const evil = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    stages.data!.report = { ...stages.data!.report, dataset: evil, classNames: [evil, 'b', 'c', 'd'] };
    stages.nas!.report = { ...stages.nas!.report, selected: { ...(stages.nas!.report!.selected as object), description: evil, id: `"><b>x` } };
    stages.train!.report = { ...stages.train!.report, layers: [{ name: evil, type: 'Dense', outputShape: [4], params: 1, macs: 1, weights: 1 }] };
    const html = reportPage({ project: `</title>${evil}`, stages });
    assert.ok(!html.includes('<script'), 'no script element');
    assert.ok(!html.includes('<img src=x'), 'no injected element');
    assert.ok(!html.includes('"><b>x'), 'no attribute break-out');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    assert.ok(html.includes('<title>&lt;/title&gt;'));
  });

  it('says so, section by section, when stages were skipped, did not run or left an unreadable report', () => {
    const stages = readFlow((s) => join(FLOW, s));
    // A project that starts from a model: nas and train skipped; the flow stopped after verify.
    const reason = 'the spec starts from an existing model (lenet.h5); there is nothing to search';
    stages.nas = { report: { skipped: true, reason }, figures: {} };
    stages.train = { report: { skipped: true, reason: 'the spec starts from an existing model (lenet.h5); convert reads it directly' }, figures: {} };
    for (const s of ['dse', 'rtl', 'sim', 'synth', 'bitstream'] as const) delete stages[s];
    stages.verify = { problem: 'not valid JSON (Unexpected end of JSON input)', figures: {} };
    const html = reportPage({ project: 'from-a-model', stages });
    for (const s of SECTIONS) assert.match(html, new RegExp(`<section id="${s}"`), s);
    assert.ok(sectionOf(html, 'search').includes(`The nas stage was skipped: ${reason}.`));
    assert.match(sectionOf(html, 'training'), /The train stage was skipped: the spec starts from an existing model/);
    assert.match(sectionOf(html, 'quantization'), /dist\/verify\/report.json could not be read: not valid JSON/);
    assert.match(sectionOf(html, 'dse'), /The dse stage has not run: there is no dist\/dse\/report.json/);
    for (const s of ['synth', 'sim', 'bitstream']) assert.match(sectionOf(html, 'hardware'), new RegExp(`The ${s} stage has not run`));
    assert.match(html, /data-stage="dse" data-status="missing"/);
    assert.match(html, /data-stage="nas" data-status="skipped"/);
    assert.match(sectionOf(html, 'data'), /samples per split and per class/);
  });

  it('runs as the report stage: dist/report/index.html and report.json, whatever upstream is missing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'dm-report-stage-'));
    try {
      writeFileSync(join(root, 'deepmaker.yaml'), 'name: quadrants\ndata:\n  dataset: mnist\n');
      await runStage('spec', root, root, silentLogger);
      // The stage's view does not take the spec stage's own report.json.
      assert.deepEqual(JSON.parse(readFileSync(join(root, 'dist', 'spec', 'report-page.json'), 'utf8')), { name: 'quadrants', files: {} });
      assert.ok(JSON.parse(readFileSync(join(root, 'dist', 'spec', 'report.json'), 'utf8')).stages.includes('report'));
      for (const s of ['data', 'nas', 'verify']) cpSync(join(FLOW, s), join(root, 'dist', s), { recursive: true });
      await runStage('report', root, root, silentLogger);
      const html = readFileSync(join(root, 'dist', 'report', 'index.html'), 'utf8');
      assert.match(html, /<h1>quadrants<\/h1>/);
      assert.match(html, /data-figure="nas-pareto"/);
      assert.match(html, /The bitstream stage has not run/);
      const rep = JSON.parse(readFileSync(join(root, 'dist', 'report', 'report.json'), 'utf8'));
      assert.equal(rep.stages.nas, 'done');
      assert.equal(rep.stages.train, 'missing');
      assert.deepEqual(rep.files, ['index.html', 'report.json']);
      // An unreadable report is named, not fatal.
      mkdirSync(join(root, 'dist', 'sim'), { recursive: true });
      writeFileSync(join(root, 'dist', 'sim', 'report.json'), '{"samples": 3,');
      await runStage('report', root, root, silentLogger);
      assert.match(readFileSync(join(root, 'dist', 'report', 'index.html'), 'utf8'), /dist\/sim\/report.json could not be read: not valid JSON/);
      assert.equal(JSON.parse(readFileSync(join(root, 'dist', 'report', 'report.json'), 'utf8')).stages.sim, 'unreadable');
      assert.deepEqual(readdirSync(join(root, 'dist')).filter((f) => f.startsWith('.')), [], 'no temporary left');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
