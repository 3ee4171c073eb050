/**
 * Where the fuzz tests find genuine Keras model files: the repository's fixtures (test/fixtures/location.ts).
 */
import { join } from 'node:path';
import { KERAS_FIXTURES } from '../fixtures/location';

export { KERAS_FIXTURES };

export const fixture = (rel: string) => join(KERAS_FIXTURES, rel);
