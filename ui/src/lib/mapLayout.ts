// Pure layout helpers for the map: which labels fit without overlapping, and which corner of the map
// is emptiest for the legend (provinces have different shapes; a fixed corner would hide communes).

export interface LabelCandidate {
  code: string;
  text: string;
  /** label anchor (centre), SVG user units */
  x: number;
  y: number;
  /** lower is placed first */
  priority: number;
}

export interface PlacedLabel extends LabelCandidate {
  w: number;
  h: number;
}

/** Rough width of a text in the system sans font: good enough to avoid overlaps, no DOM measuring. */
export function estimateTextWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.56;
}

/** Greedy: place by priority, skip a label whose box would overlap one already placed. */
export function placeLabels(candidates: readonly LabelCandidate[], fontSize: number, gap = 2): PlacedLabel[] {
  const sorted = [...candidates].sort((a, b) => a.priority - b.priority || a.code.localeCompare(b.code));
  const placed: PlacedLabel[] = [];
  const h = fontSize * 1.2;
  for (const c of sorted) {
    const w = estimateTextWidth(c.text, fontSize);
    const overlaps = placed.some(
      (p) => Math.abs(p.x - c.x) * 2 < p.w + w + gap * 2 && Math.abs(p.y - c.y) * 2 < p.h + h + gap * 2,
    );
    if (!overlaps) placed.push({ ...c, w, h });
  }
  return placed;
}

export type Corner = 'bottom-left' | 'top-left' | 'bottom-right' | 'top-right';
/** Preference order when corners are equally empty. */
export const CORNERS: readonly Corner[] = ['bottom-left', 'top-left', 'bottom-right', 'top-right'];

/** A coarse raster of the map: `cells[row * cols + col]` is 1 where some commune is drawn. */
export interface Occupancy {
  cols: number;
  rows: number;
  cells: Uint8Array;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where a viewBox of aspect `vbW:vbH` lands inside a `boxW x boxH` element with preserveAspectRatio xMidYMid meet. */
export function meetRect(vbW: number, vbH: number, boxW: number, boxH: number): Rect {
  const s = Math.min(boxW / vbW, boxH / vbH);
  const w = vbW * s;
  const h = vbH * s;
  return { x: (boxW - w) / 2, y: (boxH - h) / 2, w, h };
}

/** Occupied cells covered by `r` (element pixels), given where the map is drawn (`map`, element pixels). */
export function coveredCells(occ: Occupancy, map: Rect, r: Rect): number {
  if (map.w <= 0 || map.h <= 0) return 0;
  const c0 = Math.max(0, Math.floor(((r.x - map.x) / map.w) * occ.cols));
  const c1 = Math.min(occ.cols - 1, Math.floor(((r.x + r.w - map.x) / map.w) * occ.cols));
  const r0 = Math.max(0, Math.floor(((r.y - map.y) / map.h) * occ.rows));
  const r1 = Math.min(occ.rows - 1, Math.floor(((r.y + r.h - map.y) / map.h) * occ.rows));
  let n = 0;
  for (let row = r0; row <= r1; row++) for (let col = c0; col <= c1; col++) n += occ.cells[row * occ.cols + col] ?? 0;
  return n;
}

/** The corner where a `legendW x legendH` box (with `margin`) hides the fewest drawn cells. */
export function pickCorner(occ: Occupancy, map: Rect, boxW: number, boxH: number, legendW: number, legendH: number, margin = 12): Corner {
  let best: Corner = 'bottom-left';
  let bestN = Infinity;
  for (const corner of CORNERS) {
    const x = corner.endsWith('left') ? margin : boxW - margin - legendW;
    const y = corner.startsWith('top') ? margin : boxH - margin - legendH;
    const n = coveredCells(occ, map, { x, y, w: legendW, h: legendH });
    if (n < bestN) {
      bestN = n;
      best = corner;
    }
  }
  return best;
}
