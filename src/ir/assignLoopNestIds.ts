/**
 * Gives every layer that moves data its loop nest id, `L<index>_<c identifier>`: the name of its C
 * function (dm_<id>) and the prefix of its loop labels, which the DSE attaches directives to.
 * Flatten and Reshape only reinterpret a channels_last buffer and get none. Ids follow the final
 * layer order, so the same model always gets the same ids.
 */
import type { ModelIR } from './types';

export function cIdentifier(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

export function assignLoopNestIds(model: ModelIR): ModelIR {
  const width = String(model.layers.length - 1).length < 2 ? 2 : String(model.layers.length - 1).length;
  model.layers.forEach((l, i) => {
    if (l.type === 'flatten' || l.type === 'reshape') delete l.loopNest;
    else l.loopNest = `L${String(i).padStart(width, '0')}_${cIdentifier(l.name)}`;
  });
  return model;
}
