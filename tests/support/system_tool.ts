/**
 * Finds a program that a test drives (a shell, Ruby). Tests install nothing: `.ci/run` installs
 * what they need, and a test whose program is missing is ignored with the reason in its name
 * (`.ci/run` fails when a test other than a PowerShell one was ignored on Linux).
 *
 * @module
 */

/** Whether a program is on PATH, and why not when it is not. */
export interface SystemTool {
  /** Whether the program can be run. */
  found: boolean;
  /** Why it is missing (for the test's ignore message). */
  reason: string;
}

/** Whether `program --version` runs and succeeds (probed without `sh`, which Windows lacks). */
export async function canRun(program: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(program, {
      args: ["--version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Whether `program` can be run, and if not, which Debian package `.ci/run` installs for it. */
export async function findTool(program: string, aptPackage = program): Promise<SystemTool> {
  if (await canRun(program)) return { found: true, reason: "" };
  return { found: false, reason: `${program} is not on PATH (.ci/run installs ${aptPackage})` };
}

/** The suffix a test's name gets when it is ignored, so the summary says why. */
export function ignoredBecause(tool: SystemTool): string {
  return tool.found ? "" : ` (ignored: ${tool.reason})`;
}
