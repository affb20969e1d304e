// Where the agent keeps results until the server has stored them.
export type { Outbox, OutboxBatch } from './outbox.ts';
export { MemoryOutbox } from './memory.ts';
export { Spool, type SpoolOptions, type SpoolStats } from './spool.ts';
export { RangeSet, type Run } from './ranges.ts';
export { encodeRecord } from './record.ts';
