/**
 * The `board` target: Nx never caches it (it talks to hardware), it comes after the bitstream, and it
 * carries no spec value (its options are the command line's).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createNodes } from '../../src/plugin/index';

describe('the board target', () => {
  it('is never cached, depends on bitstream, and runs the board executor', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'dm-board-target-'));
    try {
      writeFileSync(join(ws, 'deepmaker.yaml'), 'name: model\n');
      const results = await createNodes[1](['deepmaker.yaml'], {}, { workspaceRoot: ws, nxJsonConfiguration: {} } as never);
      const project = (results[0][1] as any).projects['.'];
      const board = project.targets.board;
      assert.equal(board.executor, 'deepmaker:board');
      assert.equal(board.cache, false);
      assert.deepEqual(board.dependsOn, ['bitstream']);
      assert.deepEqual(board.options, {});
      assert.equal(board.outputs, undefined, 'nothing to restore from a cache');
      assert.equal(project.targets.bitstream.cache, true);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
