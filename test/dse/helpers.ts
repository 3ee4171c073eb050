/**
 * Test helpers: small synthetic models (src/dse/synthetic.ts) and a stand-in calibration with the
 * measured iCE40 memory rules and simple coefficients, for tests whose assertions do not depend on
 * the fitted coefficients (cycles, block counts, legality, search mechanics).
 */
import type { Calibration } from '../../src/dse/calibration';
import { ICE40_EBR_MODES } from '../../src/dse/features';
import { fixedKnobs, SyntheticModel } from '../../src/dse/synthetic';
import type { ModelIR } from '../../src/ir/types';

export const TEST_CALIBRATION: Calibration = {
  format: 'deepmaker-dse-calibration',
  version: 1,
  family: 'ice40',
  toolchain: 'test',
  memory: { romLogicMaxBits: 1024, ramLogicMaxBits: 64, ebrModes: ICE40_EBR_MODES },
  coefficients: { luts: { engine: 60, regBits: 0.5, lutMulBits: 1, accBits: 1, design: 100, memPortBits: 1 }, ffs: { regBits: 1, design: 40 }, carry: { accBits: 1 } },
  fit: { designs: {}, engines: {} },
  samples: [],
};

export const KNOBS8 = fixedKnobs(8, 3);

/** conv 3x3 (4 filters) -> max pool -> dense 5: a few hundred points, quick to simulate. */
export function tinyCnn(seed = 1): ModelIR {
  return new SyntheticModel('tiny_cnn', [6, 6, 2], seed).conv2d('conv', 4, 3).pool('pool', 'maxpool2d', 2).flatten().dense('fc', 5).build();
}

/** A model with every engine kind the DSE sees: conv (same padding), depthwise, average pool (divider), global pool, dense. */
export function mixedModel(seed = 1): ModelIR {
  return new SyntheticModel('mixed', [7, 7, 4], seed)
    .conv2d('conv', 8, 3, { padding: 'same' })
    .depthwise('dw', 3)
    .pool('apool', 'avgpool2d', 2, { padding: 'same' })
    .globalAvgPool('gap')
    .dense('fc', 6)
    .build();
}
