/**
 * When a grant needs the human's approval: `never`, only for `full` access, or `always`. The
 * `serve` flag `--approve`, the config file's `serve.approve` and the MCP server all take these.
 *
 * @module
 */

import type { Scope } from "./scope.ts";

/** The approval modes, in the order `--help` lists them. */
export const APPROVE_MODES = ["never", "full", "always"] as const;

/** When a grant needs the human's approval. */
export type ApproveMode = (typeof APPROVE_MODES)[number];

/**
 * Whether a grant of `scopes` needs the human's approval under `mode`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { needsApproval } from "./approval.ts";
 * assert.equal(needsApproval("full", [{ service: "s3", level: "ro" }]), false);
 * assert.equal(needsApproval("full", [{ service: "s3", level: "full" }]), true);
 * ```
 */
export function needsApproval(mode: ApproveMode, scopes: readonly Scope[]): boolean {
  return mode === "always" || (mode === "full" && scopes.some((scope) => scope.level === "full"));
}
