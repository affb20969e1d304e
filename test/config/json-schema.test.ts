// config/config.schema.json is generated from config/schema.ts; editors and CI linters read the committed file, so a
// config field added without `npm run gen:schema` must fail here.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { configJsonSchema, JSON_SCHEMA_FILE } from '../../config/generate-json-schema.ts';

it('the committed config.schema.json is what npm run gen:schema writes', () => {
  expect(readFileSync(JSON_SCHEMA_FILE, 'utf8')).toBe(configJsonSchema());
});
