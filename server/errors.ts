// Domain errors: what went wrong, by kind. The engines and books that throw them name the kind, never a status
// code; server/http/errors.ts (app.onError) turns them into HTTP answers.

export type DomainErrorKind = 'not_found' | 'invalid' | 'conflict' | 'too_large' | 'forbidden';

/** The status each kind answers with over HTTP: the one table, read by server/http/errors.ts. */
export const STATUS_OF = { invalid: 400, forbidden: 403, not_found: 404, conflict: 409, too_large: 413 } as const satisfies Record<DomainErrorKind, number>;

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /** the kind's status (STATUS_OF), for callers that log or compare it; throw sites name the kind only */
  get status(): (typeof STATUS_OF)[DomainErrorKind] {
    return STATUS_OF[this.kind];
  }
}

/** the thing asked for does not exist (or is out of the caller's scope, which must look the same) */
export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  override name = 'NotFoundError';
}
/** the input is wrong; the message names the field (`text: empty note`) */
export class InvalidError extends DomainError {
  readonly kind = 'invalid';
  override name = 'InvalidError';
}
/** the input is fine but clashes with what exists (a duplicate id, a window from the config file) */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
  override name = 'ConflictError';
}
/** storing it would exceed a size limit */
export class TooLargeError extends DomainError {
  readonly kind = 'too_large';
  override name = 'TooLargeError';
}
/** the caller may not do this */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
  override name = 'ForbiddenError';
}
