import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageContext } from '../plugin/stage-context';
export async function runDataStage(ctx: StageContext): Promise<void> {
  writeFileSync(join(ctx.outDir, 'report.json'), JSON.stringify({ tmp: true }));
}
