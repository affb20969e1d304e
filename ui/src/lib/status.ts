// Status colours, chosen for a dark background: distinct in lightness and hue (teal / amber / crimson / grey)
// so deuteranopes can still tell up from down; the map also labels down/degraded communes by name.
import { STATUSES, STATUS_RANK, type Status } from '../../../config/vocabulary.ts';

export const STATUS_COLORS: Record<Status, string> = {
  up: '#1fa67a',
  degraded: '#f2b01e',
  down: '#e5383b',
  unknown: '#6b7683',
};

/** Worst first: the order the legend, header and problem list use. */
export const STATUS_ORDER: readonly Status[] = [...STATUSES].sort((a, b) => STATUS_RANK[b] - STATUS_RANK[a]);

export const STATUS_KEYS = {
  up: 'status.up',
  degraded: 'status.degraded',
  down: 'status.down',
  unknown: 'status.unknown',
} as const satisfies Record<Status, string>;
