// Imported first by each page entry. zod decides per object schema, when the schema is built, whether to compile a
// fast parser with `new Function`, probing once whether eval works; the CSP refuses eval, so the probe would be a
// reported violation. Interpreted parsing is all the UI needs. This must run before any module builds a schema.
import { z } from 'zod';

z.config({ jitless: true });
