// Domain errors: what went wrong, by kind. The engines and books that throw them name the kind, never a status
// code; server/http/errors.ts (app.onError) turns them into HTTP answers.

export type DomainErrorKind = 'not_found' | 'invalid' | 'conflict' | 'too_large' | 'forbidden';

/** The status each kind answers with over HTTP: the one table, read by server/http/errors.ts. */
export const STATUS_OF = { invalid: 400, forbidden: 403, not_found: 404, conflict: 409, too_large: 413 } as const satisfies Record<DomainErrorKind, number>;

export class DomainError extends Error {
  constructor(
    message: string,
    readonly kind: DomainErrorKind,
  ) {
    super(message);
    this.name = new.target.name;
  }
  /** the kind's status (STATUS_OF), for callers that log or compare it; throw sites name the kind only */
  get status(): (typeof STATUS_OF)[DomainErrorKind] {
    return STATUS_OF[this.kind];
  }
}

/** A DomainError class of one kind: `throw new NotFoundError('no incident "x"')`. */
const ofKind = (kind: DomainErrorKind) =>
  class extends DomainError {
    constructor(message: string) {
      super(message, kind);
    }
  };

/** the thing asked for does not exist (or is out of the caller's scope, which must look the same) */
export class NotFoundError extends ofKind('not_found') {}
/** the input is wrong; the message names the field (`text: empty note`) */
export class InvalidError extends ofKind('invalid') {}
/** the input is fine but clashes with what exists (a duplicate id, a window from the config file) */
export class ConflictError extends ofKind('conflict') {}
/** storing it would exceed a size limit */
export class TooLargeError extends ofKind('too_large') {}
/** the caller may not do this */
export class ForbiddenError extends ofKind('forbidden') {}
