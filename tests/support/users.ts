/**
 * Acting as other local users, for the tests of hostile directories: as root on Linux, `setpriv`
 * runs a command as uid 1000 or 1001 (no account needed). Elsewhere the tests that need it are
 * ignored with {@linkcode OTHER_USERS_SKIP} as the stated reason.
 *
 * @module
 */

/** Two uids that are not ours: the attacker and, where a test needs one, a second victim. */
export const OTHER_UIDS = [1000, 1001] as const;

function probe(): string | undefined {
  if (Deno.build.os !== "linux") return `needs Linux (setpriv), not ${Deno.build.os}`;
  if (Deno.uid() !== 0) return "needs root to act as two other users (setpriv)";
  try {
    const out = new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    if (!out.success) return "setpriv does not run";
  } catch {
    return "setpriv is not installed (util-linux)";
  }
  return undefined;
}

/** Why the tests cannot act as other users here, or `undefined` when they can. */
export const OTHER_USERS_SKIP: string | undefined = probe();

/**
 * Runs `program args…` as `uid` (gid the same unless `gid` is given, no supplementary groups);
 * returns its output.
 */
export async function runAs(
  uid: number,
  program: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; gid?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const gid = options.gid ?? uid;
  const out = await new Deno.Command("setpriv", {
    args: [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", program, ...args],
    env: options.env,
    cwd: options.cwd,
    clearEnv: options.env !== undefined,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs a shell command line as `uid` (the attacker planting files). Throws if it fails. */
export async function shAs(uid: number, script: string): Promise<void> {
  const out = await runAs(uid, "sh", ["-c", script]);
  if (out.code !== 0) throw new Error(`sh as uid ${uid} failed (${out.code}): ${out.stderr}`);
}
