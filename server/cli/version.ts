// The release the commands write into manifests and version files (package.json's version, like the server).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function serverVersion(): string {
  return (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}
