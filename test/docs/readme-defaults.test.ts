/**
 * The README's annotated `quantize:` example states defaults in its comments; they must be the ones
 * the code applies (src/quant/config.ts resolveQuantization, src/quant/qat.ts for the learning rate).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_WEIGHTS, resolveQuantization } from '../../src/quant/config';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const NUMERICS = { rounding: 'half-even', overflow: 'saturate' } as const;

/** The line of the README's `quantize:` YAML example that sets `key`. */
function exampleLine(key: string): string {
  const block = README.split('```yaml').map((b) => b.split('```')[0]).find((b) => /^quantize:/m.test(b) && /fineTune:/.test(b));
  assert.ok(block, 'the README has an annotated quantize: example');
  const line = block.split('\n').find((l) => l.trimStart().startsWith(`${key}:`));
  assert.ok(line, `the example sets ${key}`);
  return line;
}

describe('README quantize example: the defaults in its comments are the code\'s', () => {
  it('fineTune: epochs (fixed, ternary) and the learning rate', () => {
    const fixed = resolveQuantization({ mode: 'fixed' }, NUMERICS).fineTune.epochs;
    const ternary = resolveQuantization({ mode: 'ternary' }, NUMERICS).fineTune.epochs;
    const line = exampleLine('fineTune');
    const m = /default (\d+) \(fixed\) or (\d+) \(ternary\)/.exec(line);
    assert.ok(m, line);
    assert.deepEqual([Number(m[1]), Number(m[2])], [fixed, ternary], `${line.trim()}\n  the code: ${fixed} (fixed), ${ternary} (ternary)`);
    // src/quant/qat.ts: plan.fineTune.learningRate ?? (fixed ? train.learningRate / 10 : train.learningRate)
    assert.match(line, /learningRate defaults to train\.learningRate \/ 10 \(fixed\) or train\.learningRate \(ternary\)/, line);
    // And the prose says the same.
    assert.match(README, new RegExp(`\`fineTune\\.epochs\` \\(default ${fixed} fixed, ${ternary} ternary\\)`));
  });

  it('weights: the default format has its integer bits fitted per layer', () => {
    assert.equal(DEFAULT_WEIGHTS.integer, undefined);
    assert.equal(resolveQuantization({ mode: 'fixed' }, NUMERICS).weightIntegerAuto, true);
    const line = exampleLine('weights');
    assert.doesNotMatch(line, /default fixed<8,1>/, `${line.trim()}: the default is { bits: ${DEFAULT_WEIGHTS.bits} } with per-layer integer bits`);
    assert.match(line, new RegExp(`default \\{ bits: ${DEFAULT_WEIGHTS.bits} \\}`), line);
  });
});
