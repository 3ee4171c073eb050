import Ajv, { ErrorObject } from 'ajv';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, Node as YamlNode } from 'yaml';
import { DeepMakerError } from '../util/errors';
import { readRegularFile } from '../util/read';
import { MAX_SPEC_BYTES } from './limits';

export { MAX_SPEC_BYTES };
import { loadSchema } from './schema';
import { nearest } from './suggest';
import type { Spec } from './types';

/**
 * The most values (mappings, lists, keys and scalars) a spec may hold with its aliases expanded: a
 * real one holds a few hundred; a "billion laughs" file is an error, not an out-of-memory.
 */
export const MAX_SPEC_VALUES = 100_000;

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
  return parseSpec(readSpecText(file), file);
}

/** The text of a spec file: a regular file of at most MAX_SPEC_BYTES (not /dev/zero, not a FIFO), else a SpecError. */
export function readSpecText(file: string): string {
  const r = readRegularFile(file, MAX_SPEC_BYTES);
  if (r.problem !== undefined) {
    throw new SpecError([{ file, message: `cannot read the spec: ${r.problem}`, hint: r.hint ?? (/limit/.test(r.problem) ? 'a deepmaker.yaml is a few KiB; give the spec file, not a data file' : undefined) }]);
  }
  return r.bytes.toString('utf8');
}

export function parseSpec(text: string, file: string): Spec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: SpecProblem[] = [];
  for (const err of doc.errors) {
    const pos = lineCounter.linePos(err.pos[0]);
    if (err.code === 'MULTIPLE_DOCS') {
      problems.push({ file, line: pos.line, column: pos.col, message: 'a second YAML document starts here; a deepmaker.yaml is one document', hint: 'remove this `---` line and what follows it, or merge it into the first part' });
      continue;
    }
    const text = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    problems.push({ file, line: pos.line, column: pos.col, message: `malformed YAML: ${text}` });
  }
  if (problems.length) throw new SpecError(problems);

  const aliases = aliasProblems(doc, lineCounter, file);
  if (aliases.length) throw new SpecError(aliases);
  const nonFinite = nonFiniteNumbers(doc, lineCounter, file);
  if (nonFinite.length) throw new SpecError(nonFinite);

  let value: unknown;
  try {
    // aliasProblems bounded what the aliases expand to, more tightly than yaml's own alias count.
    value = doc.toJS({ maxAliasCount: -1 });
  } catch (e) {
    throw new SpecError([{ file, message: `malformed YAML: ${(e as Error).message.split('\n')[0]}` }]);
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
    // Branches of a oneOf that carry the same errorMessage say the same thing once.
    const said = new Set<string>();
    const unique = errors.map((e) => toProblem(e, doc.contents as YamlNode, lineCounter, file)).filter((p) => {
      const text = formatProblem(p);
      return !said.has(text) && !!said.add(text);
    });
    throw new SpecError(unique);
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
  const shown = node && isScalar(node) ? (node.source ?? String(node.value)) : JSON.stringify(e.data);
  if (e.keyword === 'maximum' || e.keyword === 'exclusiveMaximum') message = `${shown} is too large: the maximum is ${(e.params as any).limit}${e.keyword === 'exclusiveMaximum' ? ' (excluded)' : ''}`;
  if (e.keyword === 'minimum' || e.keyword === 'exclusiveMinimum') message = `${shown} is too small: the minimum is ${(e.params as any).limit}${e.keyword === 'exclusiveMinimum' ? ' (excluded)' : ''}`;
  if (e.keyword === 'maxLength') message = `is ${String(e.data).length} characters long; at most ${(e.params as any).limit} are allowed`;
  if (e.keyword === 'maxItems') message = `has ${(e.data as unknown[]).length} items; at most ${(e.params as any).limit} are allowed`;
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

/**
 * YAML's `.inf`, `.nan` and numbers beyond a double's range (`1e400`) are numbers to the parser and
 * to the schema, but no setting means them (they become `null` in the JSON views): each is a problem
 * with its position and key.
 */
function nonFiniteNumbers(doc: ReturnType<typeof parseDocument>, lc: LineCounter, file: string): SpecProblem[] {
  const out: SpecProblem[] = [];
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'number' || Number.isFinite(node.value)) return;
      const keys: string[] = [];
      let child: unknown = node;
      for (let i = path.length - 1; i >= 0; i--) {
        const a = path[i];
        if (isPair(a)) {
          if (a.value === child && isScalar(a.key)) keys.unshift(String(a.key.value));
        } else if (isSeq(a)) keys.unshift(String(a.items.indexOf(child as never)));
        child = a;
      }
      const pos = node.range ? lc.linePos(node.range[0]) : undefined;
      out.push({
        file,
        line: pos?.line,
        column: pos?.col,
        key: keys.join('.') || undefined,
        message: `${node.source ?? String(node.value)} is not a finite number`,
        hint: '.inf, .nan and numbers beyond about 1.8e308 mean no setting; give a number in the range the key allows',
      });
    },
  });
  return out;
}

/**
 * Aliases, each at its line and column: one that names no anchor defined before it, one inside the
 * value it names (an endless value), and the one where the spec, aliases expanded, grows past
 * MAX_SPEC_VALUES (an alias bomb: nine aliases of nine aliases of ... take a few lines).
 */
function aliasProblems(doc: ReturnType<typeof parseDocument>, lc: LineCounter, file: string): SpecProblem[] {
  const out: SpecProblem[] = [];
  const at = (n: { range?: [number, number, number] | null }) => {
    const pos = n.range ? lc.linePos(n.range[0]) : undefined;
    return { file, line: pos?.line, column: pos?.col };
  };
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  /** Values in `node` with aliases expanded (memoised; exponential counts become huge numbers, not work). */
  const sizeOf = (node: unknown): number => {
    if (isAlias(node)) {
      const target = node.resolve(doc);
      return !target || open.has(target) ? 1 : sizeOf(target);
    }
    if (node === null || node === undefined) return 0;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    open.add(node);
    let n = 1;
    if (isMap(node)) for (const p of node.items) n += sizeOf(p.key) + sizeOf(p.value);
    else if (isSeq(node)) for (const item of node.items) n += sizeOf(item);
    open.delete(node);
    sizes.set(node, n);
    return n;
  };
  const total = sizeOf(doc.contents);
  const big = total > MAX_SPEC_VALUES;
  const figure = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en-US') : 'astronomically many');
  let running = 0;
  let reported = !big;
  let anyAlias = false;
  visit(doc, {
    Alias(_key, node) {
      anyAlias = true;
      const name = node.source;
      const target = node.resolve(doc);
      if (!target) {
        out.push({ ...at(node), message: `the alias *${name} names no anchor`, hint: `an alias repeats a value marked &${name} earlier in the file; define the anchor before this line, or write the value here` });
        return;
      }
      if (target.range && node.range && node.range[0] >= target.range[0] && node.range[0] < target.range[2]) {
        out.push({ ...at(node), message: `the alias *${name} is inside the value it repeats (&${name}): an endless value`, hint: 'an alias can only repeat a value that is complete before it' });
        return;
      }
      running += sizeOf(target);
      if (!reported && running > MAX_SPEC_VALUES) {
        // Where the expansion passes the limit: the line a person looks at.
        reported = true;
        out.push({
          ...at(node),
          message: `with its aliases expanded the spec holds ${figure(total)} values, more than the ${figure(MAX_SPEC_VALUES)} allowed; here *${name} repeats ${figure(sizeOf(target))}`,
          hint: 'a spec holds a few hundred values; nested aliases multiply: an alias bomb?',
        });
      }
    },
  });
  if (!reported) {
    out.push({ file, line: 1, column: 1, message: `the spec holds ${figure(total)} values${anyAlias ? ' with its aliases expanded' : ''}; at most ${figure(MAX_SPEC_VALUES)} are allowed`, hint: 'a spec holds a few hundred values' });
  }
  return out;
}
