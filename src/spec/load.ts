import Ajv, { ErrorObject } from 'ajv';
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Node as YamlNode } from 'yaml';
import { DeepMakerError } from '../util/errors';
import { loadSchema } from './schema';
import { nearest } from './suggest';
import type { Spec } from './types';

/** YAML aliases expanded at most this many times: a "billion laughs" file is an error, not an out-of-memory. */
export const MAX_ALIAS_COUNT = 100;

export interface SpecProblem {
  file: string;
  line?: number;
  column?: number;
  key?: string;
  message: string;
  hint?: string;
}

export class SpecError extends DeepMakerError {
  readonly problems: SpecProblem[];
  constructor(problems: SpecProblem[]) {
    const first = problems[0];
    super(
      problems.map(formatProblem).join('\n'),
      {},
      undefined,
    );
    this.problems = problems;
    void first;
  }
}

export function formatProblem(p: SpecProblem): string {
  const pos = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  return `${pos}: ${p.key ? `'${p.key}': ` : ''}${p.message}${p.hint ? ` (${p.hint})` : ''}`;
}

let validator: ReturnType<Ajv['compile']> | undefined;
function getValidator() {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
    validator = ajv.compile(loadSchema());
  }
  return validator;
}

/** Reads and validates a deepmaker.yaml. Throws SpecError whose problems name file:line:column and the key. */
export function loadSpec(file: string): Spec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SpecError([{ file, message: `cannot read the spec: ${(e as Error).message}` }]);
  }
  return parseSpec(text, file);
}

export function parseSpec(text: string, file: string): Spec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: SpecProblem[] = [];
  for (const err of doc.errors) {
    const pos = lineCounter.linePos(err.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, message: `malformed YAML: ${err.message.split('\n')[0]}` });
  }
  if (problems.length) throw new SpecError(problems);

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    throw new SpecError([{ file, message: `${(e as Error).message}`, hint: `aliases may expand at most ${MAX_ALIAS_COUNT} times` }]);
  }
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    throw new SpecError([{ file, line: 1, column: 1, message: 'the spec must be a YAML mapping with at least `name:`' }]);
  }
  // Create absent sections so that ajv fills their defaults: the per-stage views then hold every
  // value a stage uses, and writing a default explicitly does not change any hash.
  const spec = value as Record<string, unknown>;
  for (const section of ['data', 'search', 'train', 'quantize', 'convert', 'verify', 'dse', 'rtl', 'sim', 'target']) {
    if (spec[section] === undefined || spec[section] === null) spec[section] = {};
  }
  const validate = getValidator();
  if (!validate(spec)) {
    const errors = pruneErrors(validate.errors ?? []);
    throw new SpecError(errors.map((e) => toProblem(e, doc.contents as YamlNode, lineCounter, file)));
  }
  return spec as unknown as Spec;
}

/**
 * ajv reports every branch of a oneOf (and an if/then's "must match then"); keep the most specific
 * errors. A branch that failed only on the value's kind (type, enum, const: e.g. the string branch
 * of `select`, given a mapping) is dropped when another branch says what is wrong inside the value.
 */
function pruneErrors(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  const out: ErrorObject[] = [];
  const umbrella = (k: string) => k === 'oneOf' || k === 'anyOf' || k === 'if';
  const kindOnly = (e: ErrorObject) => (e.keyword === 'type' || e.keyword === 'enum' || e.keyword === 'const') && /\/(oneOf|anyOf)\//.test(e.schemaPath);
  const hasSpecific = new Set(errors.filter((e) => !umbrella(e.keyword)).map((e) => e.instancePath));
  const explainedInside = (path: string) => errors.some((o) => !umbrella(o.keyword) && !kindOnly(o) && (o.instancePath === path || o.instancePath.startsWith(`${path}/`)));
  for (const e of errors) {
    if (umbrella(e.keyword) && (hasSpecific.has(e.instancePath) || e.keyword === 'if')) continue;
    if (kindOnly(e) && explainedInside(e.instancePath)) continue;
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

function toProblem(e: ErrorObject, root: YamlNode, lc: LineCounter, file: string): SpecProblem {
  const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const dotted = (p: string[]) => p.join('.') || '(top level)';
  if (e.keyword === 'additionalProperties') {
    const bad = (e.params as { additionalProperty: string }).additionalProperty;
    const allowed = Object.keys(((e.parentSchema as any)?.properties ?? {}) as object);
    const suggestion = nearest(bad, allowed);
    const keyNode = findKeyNode(root, path, bad);
    const pos = keyNode?.range ? lc.linePos(keyNode.range[0]) : undefined;
    return {
      file,
      line: pos?.line,
      column: pos?.col,
      key: dotted([...path, bad]),
      message: `unknown key '${bad}'` + (suggestion ? `; did you mean '${suggestion}'?` : ''),
      hint: `valid keys here: ${allowed.join(', ')}`,
    };
  }
  const node = findValueNode(root, path);
  const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
  // A schema node may carry its own `errorMessage` (ignored by ajv, strict: false): what is wrong and what to do, in words.
  const custom = (e.parentSchema as { errorMessage?: unknown } | undefined)?.errorMessage;
  let message = typeof custom === 'string' ? custom : e.message ?? 'invalid value';
  if (e.keyword === 'enum') message += `: ${((e.params as any).allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'enum' && node && isScalar(node)) {
    const s = nearest(String(node.value), ((e.params as any).allowedValues as unknown[]).map(String));
    if (s) message += `; did you mean '${s}'?`;
  }
  if (e.keyword === 'required') message = `missing required key '${(e.params as any).missingProperty}'`;
  return { file, line: pos?.line, column: pos?.col, key: dotted(path), message };
}

function findValueNode(root: YamlNode | null, path: string[]): YamlNode | undefined {
  let node: unknown = root;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
      node = pair?.value;
    } else if (isSeq(node)) {
      node = node.items[Number(seg)];
    } else return (node as YamlNode) ?? undefined;
    if (!node) return undefined;
  }
  return node as YamlNode;
}

function findKeyNode(root: YamlNode | null, path: string[], key: string): YamlNode | undefined {
  const parent = findValueNode(root, path);
  if (!isMap(parent)) return parent;
  const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
  return (pair?.key as YamlNode) ?? parent;
}
