/**
 * Where the fuzz tests find genuine Keras model files. The fixtures are moving from the shared folder
 * into the repository (test/fixtures/keras); this is the one place that names their folder.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const CANDIDATES = [resolve(__dirname, '..', 'fixtures', 'keras'), resolve(__dirname, '../../../shared/fixtures/keras')];

export const KERAS_FIXTURES = CANDIDATES.find((d) => existsSync(d)) ?? CANDIDATES[CANDIDATES.length - 1];

export const fixture = (rel: string) => join(KERAS_FIXTURES, rel);
