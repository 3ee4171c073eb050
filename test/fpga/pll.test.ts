/**
 * The PLL divider search (src/fpga/pll.ts) against icestorm's own icepll (the WebAssembly build in
 * @yowasp/nextpnr-ice40): for many requested frequencies, both pick the same DIVR, DIVF, DIVQ,
 * FILTER_RANGE and achieved frequency.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closestPll, fastestPllAtMost, filterRange, pllConfigs, pllParameters, PLL_LIMITS } from '../../src/fpga/pll';

interface IcepllAnswer {
  achieved: number;
  divr: number;
  divf: number;
  divq: number;
  filter: number;
}

async function icepll(refMHz: number, outMHz: number): Promise<IcepllAnswer> {
  const { runIcepll } = (await import('@yowasp/nextpnr-ice40')) as { runIcepll: (args: string[], files: object, opts: object) => Promise<unknown> };
  let text = '';
  const take = (b: Uint8Array | string | null) => {
    if (b) text += typeof b === 'string' ? b : new TextDecoder().decode(b);
  };
  await runIcepll(['-i', String(refMHz), '-o', String(outMHz)], {}, { stdout: take, stderr: take });
  const num = (re: RegExp) => {
    const m = re.exec(text);
    assert.ok(m, `icepll -i ${refMHz} -o ${outMHz} printed no ${re}: ${text}`);
    return Number(m[1]);
  };
  return {
    achieved: num(/F_PLLOUT:\s*([\d.]+) MHz \(achieved\)/),
    divr: num(/DIVR:\s*(\d+)/),
    divf: num(/DIVF:\s*(\d+)/),
    divq: num(/DIVQ:\s*(\d+)/),
    filter: num(/FILTER_RANGE:\s*(\d+)/),
  };
}

describe('iCE40 PLL dividers', () => {
  it('choose what icepll chooses, for 12, 25 and 100 MHz references', async () => {
    let compared = 0;
    for (const ref of [12, 25, 100]) {
      // 17..275 MHz in uneven steps (requests near 16 MHz may get icepll's 15.75, below the data sheet's floor, which we refuse), so the requests fall between achievable frequencies as well as on them.
      for (let want = 17; want <= 275; want += 7.3) {
        const w = Math.round(want * 1000) / 1000;
        const ours = closestPll(ref, w);
        const theirs = await icepll(ref, w);
        const where = `ref ${ref} MHz, requested ${w} MHz`;
        assert.deepEqual([ours.divr, ours.divf, ours.divq, ours.filterRange], [theirs.divr, theirs.divf, theirs.divq, theirs.filter], where);
        // icepll prints %.3f (glibc rounds an exact tie like 45.3125 to even).
        assert.ok(Math.abs(ours.outMHz - theirs.achieved) <= 0.0005 + 1e-9, `${where}: ${ours.outMHz} vs ${theirs.achieved}`);
        compared++;
      }
    }
    assert.ok(compared >= 100, `${compared} comparisons`);
  });

  it('keeps every setting within the sysCLOCK limits', () => {
    const all = pllConfigs(12);
    assert.ok(all.length > 100);
    for (const c of all) {
      assert.ok(c.pfdMHz >= 10 && c.pfdMHz <= 133);
      assert.ok(c.vcoMHz >= 533 && c.vcoMHz <= 1066, `vco ${c.vcoMHz}`);
      assert.ok(c.divq >= 1 && c.divq <= 6 && c.divf <= 127 && c.divr <= 15);
      assert.equal(c.outMHz, (12 / (c.divr + 1)) * (c.divf + 1) / 2 ** c.divq);
    }
    // 12 MHz: F_PFD can only be 12 (DIVR 0; 6 MHz is below the 10 MHz floor).
    assert.deepEqual([...new Set(all.map((c) => c.divr))], [0]);
    assert.deepEqual(pllConfigs(5), [], 'a reference below 10 MHz has no setting');
    assert.equal(PLL_LIMITS.outMHz[0], 16);
  });

  it('finds the fastest output at or below a timing limit', () => {
    // From 12 MHz with DIVQ = 5 the outputs are 12 * (DIVF + 1) / 32 = 0.375 MHz steps above 16.875 (VCO >= 533).
    const c = fastestPllAtMost(12, 30.2)!;
    assert.equal(c.outMHz, 30);
    assert.equal(fastestPllAtMost(12, 30)!.outMHz, 30, 'the limit itself is allowed');
    assert.equal(fastestPllAtMost(12, 29.99)!.outMHz, 29.625);
    assert.equal(fastestPllAtMost(12, 15.9), undefined, 'below the 16 MHz output floor there is no PLL clock');
    for (const limit of [17.3, 22, 41.7, 63]) {
      const best = fastestPllAtMost(12, limit)!;
      assert.ok(best.outMHz <= limit);
      assert.ok(pllConfigs(12).every((x) => x.outMHz <= best.outMHz || x.outMHz > limit), `nothing faster under ${limit}`);
    }
  });

  it('writes the parameters in the binary form the primitives take', () => {
    const c = closestPll(12, 30);
    assert.equal(filterRange(c.pfdMHz), 1);
    assert.equal(pllParameters(c), `.FEEDBACK_PATH("SIMPLE"),\n    .DIVR(4'b0000),\n    .DIVF(7'b1001111),\n    .DIVQ(3'b101),\n    .FILTER_RANGE(3'b001)`);
  });
});
