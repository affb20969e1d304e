// Publishes config/config.schema.json from the zod contract (`npm run gen:schema`), so editors
// (a `# yaml-language-server: $schema=<relative path to config.schema.json>` line) and CI linters
// can check a YAML config without running the server.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema.ts';

const out = fileURLToPath(new URL('./config.schema.json', import.meta.url));

// io 'input': describe what a person writes (fields with defaults are optional), not the parsed result.
// The cross-reference checks (duplicate ids, unknown carrier/target/user carrier) live in superRefine,
// which zod leaves out of JSON Schema: the file checks shape only, the server's load.ts checks the rest.
// unrepresentable stays 'throw' so a future transform/custom type fails here instead of silently becoming {}.
const schema = z.toJSONSchema(configSchema, { io: 'input' });
const doc = {
  $schema: schema.$schema,
  title: 'ioc-uptime server configuration',
  description: 'Generated from config/schema.ts by `npm run gen:schema`; do not edit by hand. Cross-references (unknown carrier or target ids, duplicate ids) are checked by the server only.',
  ...schema,
};
writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
console.log(`wrote ${out}`);
