/**
 * The errors that timebound-iam expects to meet. Each carries the exit code and an optional hint,
 * so the entry point can print one line (plus the hint) and exit without a stack trace.
 *
 * @module
 */

/** Options shared by the expected errors. */
export interface ErrorOptions {
  /** A second line that tells the user what to do next. */
  hint?: string;
  /** The underlying error, shown only with `--debug`. */
  cause?: unknown;
  /** Extra detail shown only with `--debug` (an AWS request id, say). */
  detail?: string;
  /**
   * What an MCP client is told instead of the message and hint, when they name parts of the
   * human's setup that an agent must not learn (other profiles, their roles and accounts); the
   * server's log keeps the whole message for the human.
   */
  forAgents?: AgentText;
}

/** A message (and hint) for an agent, in place of one that the human alone should read. */
export interface AgentText {
  /** The one line. */
  message: string;
  /** What the agent can do. */
  hint?: string;
}

/**
 * An error the user can act on. `main.ts` prints `error: <message>` and the hint, and exits with
 * {@linkcode UserError.exitCode}.
 */
export class UserError extends Error {
  /** The process exit code: `2` for bad input, `1` for a runtime failure. */
  readonly exitCode: number;
  /** A second line that tells the user what to do next. */
  readonly hint?: string;
  /** Extra detail shown only with `--debug`. */
  readonly detail?: string;
  /** What an MCP client is told instead, when the message names the human's setup. */
  readonly forAgents?: AgentText;

  /** Creates an error with its exit code. */
  constructor(message: string, exitCode: number, options: ErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.detail = options.detail;
    this.forAgents = options.forAgents;
  }
}

/**
 * Bad input: an unknown scope, a TTL out of bounds, a missing flag. Exit code 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./errors.ts";
 * const error = new UsageError('Invalid TTL "soon"', { hint: "use a duration like 15m" });
 * assert.equal(error.exitCode, 2);
 * ```
 */
export class UsageError extends UserError {
  /** Creates a usage error (exit code 2). */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, 2, options);
  }
}

/**
 * A failure at run time: AWS refused, the network failed, the user declined. Exit code 1.
 */
export class RuntimeError extends UserError {
  /** Creates a runtime error (exit code 1). */
  constructor(message: string, options: ErrorOptions = {}) {
    super(message, 1, options);
  }
}

/**
 * The human said no (at `Proceed?`, `Apply these changes?` or an MCP approval): nothing was
 * done. A runtime error (exit code 1) that callers can tell apart from a failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeclinedError, RuntimeError } from "./errors.ts";
 * const error = new DeclinedError("Declined: nothing was changed");
 * assert.ok(error instanceof RuntimeError);
 * assert.equal(error.exitCode, 1);
 * ```
 */
export class DeclinedError extends RuntimeError {}

/**
 * `error` as it was, for the human, with `text` for an agent instead (see
 * {@linkcode ErrorOptions.forAgents}); `cause` when the error has none of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RuntimeError, withAgentText } from "./errors.ts";
 * const told = withAgentText(new RuntimeError("Role arn:aws:iam::1:role/x refused"), {
 *   message: "The grant was refused",
 * });
 * assert.equal(told.message, "Role arn:aws:iam::1:role/x refused");
 * assert.equal(told.forAgents?.message, "The grant was refused");
 * assert.equal(told.exitCode, 1);
 * ```
 */
export function withAgentText(error: UserError, text: AgentText, cause?: unknown): UserError {
  const Kind = error.exitCode === 2 ? UsageError : RuntimeError;
  return new Kind(error.message, {
    hint: error.hint,
    cause: error.cause ?? cause,
    detail: error.detail,
    forAgents: text,
  });
}
