/**
 * The error that the local AWS endpoint answers with: an AWS error code, its message and the
 * HTTP status, rendered by the server into AWS's `<ErrorResponse>` body.
 *
 * @module
 */

/**
 * An AWS error response to send back, e.g.
 * `new AwsError("AccessDenied", "User: … is not authorized …", 403)`.
 */
export class AwsError extends Error {
  /** The AWS error code, e.g. `ValidationError`. */
  readonly code: string;
  /** The HTTP status of the response. */
  readonly status: number;

  /** Make an error with the code, the message and the HTTP status (400 unless told). */
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = "AwsError";
    this.code = code;
    this.status = status;
  }
}

/**
 * AWS's `ValidationError` for one or more constraint violations, worded as AWS words them:
 * `1 validation error detected: Value '600' at 'durationSeconds' failed to satisfy constraint: …`.
 */
export function validationError(violations: string[]): AwsError {
  const count = violations.length;
  const noun = count === 1 ? "validation error" : "validation errors";
  return new AwsError("ValidationError", `${count} ${noun} detected: ${violations.join("; ")}`);
}

/**
 * One violation for {@linkcode validationError}: `Value 'x' at 'field' failed to satisfy
 * constraint: Member must …` (`Value null` when the value is missing).
 */
export function violation(field: string, value: string | undefined, constraint: string): string {
  const shown = value === undefined ? "null" : `'${value}'`;
  return `Value ${shown} at '${field}' failed to satisfy constraint: Member must ${constraint}`;
}

/**
 * Checks `DurationSeconds` as STS does: an integer (`MalformedInput` otherwise) from 900 to
 * `max` (a violation otherwise). AssumeRole's `max` is 43200, GetSessionToken's 129600.
 */
export function checkDurationSeconds(
  duration: string | undefined,
  max: number,
  violations: string[],
): void {
  if (duration === undefined) return;
  const seconds = Number(duration);
  if (!Number.isInteger(seconds)) {
    throw new AwsError("MalformedInput", `Invalid value for DurationSeconds: ${duration}`);
  }
  if (seconds < 900) {
    violations.push(
      violation("durationSeconds", duration, "have value greater than or equal to 900"),
    );
  }
  if (seconds > max) {
    violations.push(
      violation("durationSeconds", duration, `have value less than or equal to ${max}`),
    );
  }
}
