/**
 * Dropout (and the other layers that are the identity at inference: GaussianNoise, SpatialDropout,
 * ActivityRegularization, a linear Activation) disappear: their readers read their input.
 */
import type { ImportedModel } from '../types';
import { removeLayer, rewire } from './graph';

export function dropDropout(model: ImportedModel): ImportedModel {
  for (const l of [...model.layers]) {
    const identity = l.type === 'dropout' || (l.type === 'activation' && l.activation.kind === 'linear');
    if (!identity) continue;
    rewire(model, l.name, l.inputs[0]);
    removeLayer(model, l.name);
  }
  return model;
}
