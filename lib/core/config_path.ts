/**
 * Where the config file is (`lib/grant/config_file.ts` reads and writes it): kept here, below
 * every folder, so that a module that needs one setting of it (the vault's backend) finds it
 * without importing the grant stage.
 *
 * @module
 */

import { posix, win32 } from "node:path";
import { RuntimeError } from "./errors.ts";

/**
 * The config file's path: `TIMEBOUND_IAM_CONFIG`, else `$XDG_CONFIG_HOME/timebound-iam/
 * config.json`, else `%APPDATA%\timebound-iam\config.json` on Windows, else
 * `~/.config/timebound-iam/config.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configPath } from "./config_path.ts";
 * const path = configPath({ XDG_CONFIG_HOME: "/x" }, { os: "linux" });
 * assert.equal(path, "/x/timebound-iam/config.json");
 * ```
 */
export function configPath(
  env: Readonly<Record<string, string>>,
  options: { os?: string } = {},
): string {
  if (env.TIMEBOUND_IAM_CONFIG) return env.TIMEBOUND_IAM_CONFIG;
  const os = options.os ?? Deno.build.os;
  const { join } = os === "windows" ? win32 : posix;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "timebound-iam", "config.json");
  if (os === "windows" && env.APPDATA) return join(env.APPDATA, "timebound-iam", "config.json");
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) {
    throw new RuntimeError("Cannot find the config file: neither HOME nor XDG_CONFIG_HOME is set", {
      hint: "set TIMEBOUND_IAM_CONFIG to the path of the config file",
    });
  }
  return join(home, ".config", "timebound-iam", "config.json");
}
