/** One engine module per plan: the recurrent engine (src/rtl/recurrent.ts) or the generic skeleton (src/rtl/engines.ts). */
import { emitEngine, type EngineContext, type EngineModule } from './engines';
import type { EnginePlan } from './plan';
import { emitRecurrentEngine } from './recurrent';

export function emitPlan(p: EnginePlan, ctx: EngineContext): EngineModule {
  return p.kind === 'recurrent' ? emitRecurrentEngine(p, ctx) : emitEngine(p, ctx);
}
