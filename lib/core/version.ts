/**
 * The version of timebound-iam, read from `deno.json` so that it is written in one place.
 *
 * @module
 */

import config from "../../deno.json" with { type: "json" };

/** The package version, e.g. `0.1.0`. */
export const VERSION: string = config.version;

/** The runtime a version line names (this process's unless given, for tests). */
export interface Runtime {
  /** Deno's version, e.g. `2.9.6`. */
  deno: string;
  /** `linux`, `darwin`, `windows`… */
  os: string;
  /** `x86_64` or `aarch64`. */
  arch: string;
}

/**
 * What `--version` prints: the version, and the Deno runtime and platform it runs on (in a
 * compiled binary, the runtime embedded in it), e.g.
 * `timebound-iam 0.1.0 (deno 2.9.6, linux-x86_64)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { versionLine } from "./version.ts";
 * const line = versionLine({ deno: "2.9.6", os: "darwin", arch: "aarch64" });
 * assert.match(line, /^timebound-iam \d+\.\d+\.\d+\S* \(deno 2\.9\.6, darwin-aarch64\)$/);
 * ```
 */
export function versionLine(
  runtime: Runtime = { deno: Deno.version.deno, os: Deno.build.os, arch: Deno.build.arch },
): string {
  return `timebound-iam ${VERSION} (deno ${runtime.deno}, ${runtime.os}-${runtime.arch})`;
}
