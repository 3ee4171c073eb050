/**
 * --simulate's default timeout follows the design: a sample's clocks on the simulated line at the slowest
 * simulator rate allowed for. A fixed 120 s made `deepmaker board --simulate` on the default network at
 * 115200 baud (1.3 M clocks a sample, about 8 K clocks/s) give up on the first sample.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { SIMULATOR_SLOWEST_CLOCKS_PER_SECOND, simulatedTimeoutMs } from '../../src/board/run';

it('the simulated board\'s default timeout is a sample\'s line clocks at the slowest simulator rate, at least 120 s', () => {
  const root = mkdtempSync(join(tmpdir(), 'deepmaker-board-timeout-'));
  try {
    // No sim report: the line alone. The 64-byte test top at 104 clocks a bit: 68,640 clocks -> the 120 s floor.
    assert.equal(simulatedTimeoutMs(root, 64, 104), 120_000);
    mkdirSync(join(root, 'dist', 'sim'), { recursive: true });
    writeFileSync(join(root, 'dist', 'sim', 'report.json'), JSON.stringify({ cycles: 62047 }));
    // The default network at 115200 baud from an 18.75 MHz clock: ('S' + 784 bytes + the answer) x 10 bits x 163 clocks + 62,047 cycles.
    const clocks = 786 * 10 * 163 + 62047;
    assert.equal(simulatedTimeoutMs(root, 784, 163), Math.ceil((clocks / SIMULATOR_SLOWEST_CLOCKS_PER_SECOND) * 1000));
    assert.ok(simulatedTimeoutMs(root, 784, 163) > 600_000, 'more than ten minutes for a sample of the default network at 115200 baud');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
