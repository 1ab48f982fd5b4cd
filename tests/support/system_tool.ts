/**
 * Finds a program that a test drives (a shell, Ruby), installing it from Debian's apt when it is
 * missing and the test runs as root on Debian (as `.ci/run` does). Elsewhere a missing program
 * is reported, and the test that needs it is ignored with that reason.
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

let aptUpdated = false;

/**
 * Makes sure `program` can be run, installing the Debian `aptPackage` (its name by default) when
 * that is possible.
 */
export async function ensureTool(program: string, aptPackage = program): Promise<SystemTool> {
  if (await canRun(program)) return { found: true, reason: "" };
  const isRoot = Deno.build.os === "linux" && Deno.uid() === 0;
  if (!isRoot || !(await canRun("apt-get"))) {
    return { found: false, reason: `${program} is not installed (apt-get install ${aptPackage})` };
  }
  const apt = (args: string[]) =>
    new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
  if (!aptUpdated) {
    await apt(["update", "-qq"]);
    aptUpdated = true;
  }
  const install = await apt(["install", "-y", "-qq", aptPackage]);
  if (install.success && await canRun(program)) return { found: true, reason: "" };
  const detail = new TextDecoder().decode(install.stderr).trim().split("\n").at(-1);
  return { found: false, reason: `${program} could not be installed: ${detail}` };
}
