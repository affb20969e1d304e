// Publishes config/config.schema.json from the zod contract (`npm run gen:schema`), so editors
// (a `# yaml-language-server: $schema=<relative path to config.schema.json>` line) and CI linters
// can check a YAML config without running the server.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema.ts';

export const JSON_SCHEMA_FILE = fileURLToPath(new URL('./config.schema.json', import.meta.url));

// io 'input': describe what a person writes (fields with defaults are optional), not the parsed result.
// The cross-reference checks (duplicate ids, unknown carrier/target/user carrier) live in superRefine,
// which zod leaves out of JSON Schema: the file checks shape only, the server's load.ts checks the rest.
// unrepresentable stays 'throw' so a future transform/custom type fails here instead of silently becoming {}.
/** The published file's text; a test compares it with the committed file. */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input' });
  const doc = {
    $schema: schema.$schema,
    title: 'ioc-uptime server configuration',
    description: 'Generated from config/schema.ts by `npm run gen:schema`; do not edit by hand. Cross-references (unknown carrier or target ids, duplicate ids) are checked by the server only.',
    ...schema,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(JSON_SCHEMA_FILE, configJsonSchema());
  console.log(`wrote ${JSON_SCHEMA_FILE}`);
}
