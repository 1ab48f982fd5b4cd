/**
 * Loads a CommonJS npm package (the AWS SDK) with `require` rather than `import`.
 *
 * Deno gives every CommonJS package that an ES module imports a generated ES module wrapper,
 * built on every start; `require` loads the same files without one. The wrappers a grant used
 * (`@aws-sdk/client-sts`, `@aws-sdk/credential-providers`, `@smithy/core/config`, and commander
 * before it became an ES module) cost `exec --no-confirm -- true` about 10 ms on the local
 * endpoint (`deno task bench`). An ES module package is imported instead: `require` of one goes
 * through Deno's require(esm), which costs more than the import.
 *
 * `require` resolves a bare name through `deno.json`'s imports, as `import` does, and loads the
 * same module instances: a class required here is the class an `import` of the package gives.
 * Every caller keeps an `import()` of the same package as its fallback, which also keeps the
 * package in the module graph, so `deno compile` embeds it: `require` calls are not part of that
 * graph.
 *
 * @module
 */

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * The package `specifier` names (a bare name from `deno.json`'s imports, which must be
 * CommonJS), loaded with `require`; `undefined` when it cannot be, for the caller to `import` it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requireCommonJs } from "./common_js.ts";
 * const config = requireCommonJs<typeof import("@smithy/core/config")>("@smithy/core/config");
 * assert.equal(typeof config?.loadSharedConfigFiles, "function");
 * assert.equal(requireCommonJs("no-such-package-here"), undefined);
 * ```
 */
export function requireCommonJs<T>(specifier: string): T | undefined {
  try {
    return require(specifier) as T;
  } catch {
    return undefined;
  }
}
