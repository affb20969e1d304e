// The renderer contract: one file per format (csv.ts, xlsx.ts, pdf.ts), registered in index.ts.
import type { ProvinceFile } from '../../../config/schema.ts';
import type { ReportDoc } from './document.ts';

export interface RenderContext {
  /** polygons for the carrier report's map (PDF); names for communes in incidents */
  province?: ProvinceFile;
}

export interface Renderer {
  /** file extension, no dot */
  ext: string;
  contentType: string;
  render(doc: ReportDoc, ctx: RenderContext): Promise<Buffer>;
}
