// The PDF font: embedded (subset) so Vietnamese diacritics show on any reader. PDF's 14 standard fonts only
// cover Latin-1, so "ơ", "ư", "Đ", "ặ" would be lost without one.
// Search order:
//   1. IOC_REPORT_FONT (+ IOC_REPORT_FONT_BOLD): any TTF/OTF with Vietnamese glyphs;
//   2. Be Vietnam Pro, shipped by the npm dependency @expo-google-fonts/be-vietnam-pro (SIL OFL 1.1 font,
//      designed for Vietnamese): present after `npm install`, so `npm start` works on a fresh machine;
//   3. DejaVu Sans from Debian's fonts-dejavu-core (free licence, full Vietnamese coverage).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface ReportFonts {
  name: string;
  regular: Buffer;
  bold: Buffer;
}

interface Candidate {
  name: string;
  regular: (env: NodeJS.ProcessEnv) => string | null;
  bold: (env: NodeJS.ProcessEnv) => string | null;
}

const require = createRequire(import.meta.url);
const resolveOrNull = (id: string) => {
  try {
    return require.resolve(id);
  } catch {
    return null;
  }
};
const file = (p: string) => () => (existsSync(p) ? p : null);

const CANDIDATES: Candidate[] = [
  {
    name: 'IOC_REPORT_FONT',
    regular: (env) => env.IOC_REPORT_FONT || null,
    bold: (env) => env.IOC_REPORT_FONT_BOLD || env.IOC_REPORT_FONT || null,
  },
  {
    name: 'Be Vietnam Pro',
    regular: () => resolveOrNull('@expo-google-fonts/be-vietnam-pro/400Regular/BeVietnamPro_400Regular.ttf'),
    bold: () => resolveOrNull('@expo-google-fonts/be-vietnam-pro/600SemiBold/BeVietnamPro_600SemiBold.ttf'),
  },
  {
    name: 'DejaVu Sans',
    regular: file('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'),
    bold: file('/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'),
  },
];

export class FontError extends Error {}

const cache = new Map<string, ReportFonts>();

export function reportFonts(env: NodeJS.ProcessEnv = process.env): ReportFonts {
  for (const c of CANDIDATES) {
    const regular = c.regular(env);
    if (!regular) continue;
    if (!existsSync(regular)) throw new FontError(`${c.name}: font file ${regular} does not exist`);
    const bold = c.bold(env);
    const key = `${regular}\0${bold}`;
    let f = cache.get(key);
    if (!f) {
      f = { name: c.name, regular: readFileSync(regular), bold: bold && existsSync(bold) ? readFileSync(bold) : readFileSync(regular) };
      cache.set(key, f);
    }
    return f;
  }
  throw new FontError(
    'PDF reports need a font with Vietnamese glyphs and none was found: run `npm install` (dependency @expo-google-fonts/be-vietnam-pro), ' +
      'or `apt-get install fonts-dejavu-core`, or set IOC_REPORT_FONT=/path/to/font.ttf',
  );
}
