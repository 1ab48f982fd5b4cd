/**
 * The version of timebound-iam, read from `deno.json` so that it is written in one place.
 *
 * @module
 */

import config from "../../deno.json" with { type: "json" };

/** The package version, e.g. `0.1.0`. */
export const VERSION: string = config.version;
