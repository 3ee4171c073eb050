// The "Spec reference" section of README.md, generated from schemas/deepmaker.schema.json so the two
// never disagree. Writes between the <!-- spec-reference:start --> and <!-- spec-reference:end --> markers.
// Usage: node scripts/spec-reference.mjs          rewrite README.md
//        node scripts/spec-reference.mjs --check  exit 1 if README.md is out of step with the schema
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const START = '<!-- spec-reference:start -->';
export const END = '<!-- spec-reference:end -->';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Follows a local "$ref": "#/definitions/x", keeping the referring node's own description. */
function deref(schema, node) {
  if (!node || !node.$ref) return node;
  const target = node.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o?.[k], schema);
  if (!target) throw new Error(`unresolved $ref ${node.$ref}`);
  const { $ref, ...rest } = node;
  return { ...deref(schema, target), ...rest };
}

const code = (v) => '`' + (typeof v === 'string' ? v : JSON.stringify(v)) + '`';
const cell = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(schema, node) {
  node = deref(schema, node);
  if (node.const !== undefined) return code(node.const);
  if (node.enum) return node.enum.map(code).join(' | ');
  if (node.oneOf || node.anyOf) return (node.oneOf ?? node.anyOf).map((n) => typeOf(schema, n)).join(' or ');
  const t = Array.isArray(node.type) ? node.type.join(' or ') : node.type ?? 'any';
  if (t === 'array' && node.items) return `list of ${typeOf(schema, node.items)}`;
  const bounds = [];
  if (node.minimum !== undefined) bounds.push(`≥ ${node.minimum}`);
  if (node.exclusiveMinimum !== undefined) bounds.push(`> ${node.exclusiveMinimum}`);
  if (node.maximum !== undefined) bounds.push(`≤ ${node.maximum}`);
  if (node.exclusiveMaximum !== undefined) bounds.push(`< ${node.exclusiveMaximum}`);
  if (node.pattern) bounds.push(`matching ${code(node.pattern)}`);
  return bounds.length ? `${t} (${bounds.join(', ')})` : t;
}

function describe(schema, node) {
  node = deref(schema, node);
  let d = node.description ?? '';
  if (node.required?.length) d += `${d ? ' ' : ''}Required: ${node.required.map(code).join(', ')}.`;
  if (node.examples?.length) d += `${d ? ' ' : ''}Example: ${node.examples.map(code).join(', ')}.`;
  return d;
}

/** Rows for every key under `node`, depth first, with dotted paths. */
function rows(schema, node, path, out) {
  node = deref(schema, node);
  for (const [key, raw] of Object.entries(node.properties ?? {})) {
    const child = deref(schema, raw);
    const p = [...path, key];
    out.push(`| ${code(p.join('.'))} | ${cell(typeOf(schema, child))} | ${child.default !== undefined ? cell(code(child.default)) : ''} | ${cell(describe(schema, child))} |`);
    if (child.type === 'object' && child.properties) rows(schema, child, p, out);
    // A list of objects (e.g. train.architecture's layers): document the item keys as path[].key.
    for (const alt of child.oneOf ?? child.anyOf ?? []) {
      const a = deref(schema, alt);
      if (a.type === 'array' && a.items) {
        const item = deref(schema, a.items);
        if (item.properties) rows(schema, item, [...p.slice(0, -1), `${key}[]`], out);
      }
    }
  }
}

/** The generated Markdown (without the markers). */
export function renderSpecReference(schema) {
  const lines = [
    '_Generated from `schemas/deepmaker.schema.json` by `node scripts/spec-reference.mjs`; do not edit by hand._',
    '',
    'Every key is optional except `name`; an absent key takes the default shown. Paths in the spec are relative to the folder of its `deepmaker.yaml`. Editors that read JSON Schema complete and check the file with the line `# yaml-language-server: $schema=<path to node_modules>/deepmaker/schemas/deepmaker.schema.json`.',
    '',
  ];
  const top = Object.entries(schema.properties).filter(([k]) => k !== '$schema');
  const scalars = top.filter(([, v]) => deref(schema, v).type !== 'object');
  lines.push('### Top level', '', '| key | type | default | description |', '|---|---|---|---|');
  for (const [key, raw] of scalars) {
    const node = deref(schema, raw);
    lines.push(`| ${code(key)} | ${cell(typeOf(schema, node))} | ${node.default !== undefined ? cell(code(node.default)) : ''} | ${cell(describe(schema, node))}${schema.required?.includes(key) ? ' **Required.**' : ''} |`);
  }
  for (const [key, raw] of top.filter(([, v]) => deref(schema, v).type === 'object')) {
    const node = deref(schema, raw);
    lines.push('', `### \`${key}\``, '');
    if (node.description) lines.push(node.description, '');
    const out = [];
    rows(schema, node, [key], out);
    if (out.length) lines.push('| key | type | default | description |', '|---|---|---|---|', ...out);
  }
  return lines.join('\n');
}

/** README text with the section between the markers replaced. */
export function withSpecReference(readme, schema) {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${START} ... ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${renderSpecReference(schema)}\n${readme.slice(b)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const readmeFile = join(ROOT, 'README.md');
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'deepmaker.schema.json'), 'utf8'));
  const readme = readFileSync(readmeFile, 'utf8');
  const next = withSpecReference(readme, schema);
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md "Spec reference" is out of step with schemas/deepmaker.schema.json: run node scripts/spec-reference.mjs');
      process.exit(1);
    }
    console.log('README.md spec reference is up to date');
  } else if (next !== readme) {
    writeFileSync(readmeFile, next);
    console.log('README.md: spec reference updated');
  } else console.log('README.md: spec reference already up to date');
}
