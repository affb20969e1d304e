// The fleet records its changes (enrolments, revocations, agent edits, reloads) in the one audit trail.
export { AuditLog, type AuditEntry } from '../audit/log.ts';
