// Report renderers, one file per format. Adding a format is one file plus one line here.
import { REPORT_FORMATS, type ReportFormat } from '../../../config/schema.ts';
import type { Report } from '../model.ts';
import { csv } from './csv.ts';
import { layout, type DocContext, type ReportDoc } from './document.ts';
import { docx } from './docx.ts';
import { pdf } from './pdf.ts';
import type { RenderContext, Renderer } from './types.ts';
import { xlsx } from './xlsx.ts';

export type Format = ReportFormat;
export { REPORT_FORMATS as FORMATS };
export type { RenderContext, Renderer };

export const renderers = { csv, xlsx, pdf, docx } satisfies Record<Format, Renderer>;

export interface RenderedFile {
  format: Format;
  /** Vietnamese download name, e.g. "Báo cáo vùng lõm sóng - VNPT - Tháng 10-2026.pdf" */
  name: string;
  /** ASCII name used on disk and as the Content-Disposition fallback */
  asciiName: string;
  contentType: string;
  body: Buffer;
}

export async function renderReport(report: Report, format: Format, ctx: RenderContext & DocContext = {}, doc: ReportDoc = layout(report, ctx)): Promise<RenderedFile> {
  const r = renderers[format];
  return {
    format,
    name: `${doc.fileTitle}.${r.ext}`,
    asciiName: `${doc.fileSlug}.${r.ext}`,
    contentType: r.contentType,
    body: await r.render(doc, ctx),
  };
}
