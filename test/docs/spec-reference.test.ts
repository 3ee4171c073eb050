import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..');
const readme = () => readFileSync(join(ROOT, 'README.md'), 'utf8');
const schema = () => JSON.parse(readFileSync(join(ROOT, 'schemas', 'deepmaker.schema.json'), 'utf8'));

interface SpecReferenceModule {
  withSpecReference(readme: string, schema: unknown): string;
  renderSpecReference(schema: unknown): string;
}
const load = () => import(join(ROOT, 'scripts', 'spec-reference.mjs')) as Promise<SpecReferenceModule>;

describe('README spec reference', () => {
  it('is in step with schemas/deepmaker.schema.json (run `node scripts/spec-reference.mjs` after editing the schema)', async () => {
    const { withSpecReference } = await load();
    assert.equal(readme(), withSpecReference(readme(), schema()));
  });

  it('documents every key of every section, and notices a new one', async () => {
    const { renderSpecReference } = await load();
    const s = schema();
    const text = renderSpecReference(s);
    for (const [section, node] of Object.entries(s.properties as Record<string, { properties?: object }>)) {
      for (const key of Object.keys(node.properties ?? {})) assert.ok(text.includes(`\`${section}.${key}\``), `${section}.${key} is documented`);
    }
    s.properties.data.properties.shuffleBuffer = { type: 'integer', description: 'a key added to the schema' };
    assert.ok(renderSpecReference(s).includes('`data.shuffleBuffer`'));
    const { withSpecReference } = await load();
    assert.notEqual(withSpecReference(readme(), s), readme(), 'a schema change makes the README out of step');
  });
});
