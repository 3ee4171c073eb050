import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The JSON Schema of deepmaker.yaml (schemas/deepmaker.schema.json), the one description of the spec. */
export const SCHEMA_PATH = join(__dirname, '..', '..', '..', 'schemas', 'deepmaker.schema.json');

let cached: Record<string, any> | undefined;
export function loadSchema(): Record<string, any> {
  if (!cached) cached = JSON.parse(readFileSync(resolveSchemaPath(), 'utf8'));
  return cached!;
}

function resolveSchemaPath(): string {
  // build/src/spec -> repo root; src/spec (tsx) -> repo root is two levels up.
  for (const p of [SCHEMA_PATH, join(__dirname, '..', '..', 'schemas', 'deepmaker.schema.json')]) {
    try {
      readFileSync(p);
      return p;
    } catch {
      /* try the next layout */
    }
  }
  return SCHEMA_PATH;
}
