/**
 * A real Linux Secret Service for tests: a private D-Bus session (`dbus-daemon --session`) and
 * GNOME Keyring's secrets component in it, unlocked with a throwaway password, keeping its
 * keyrings under the test's own HOME. Programs started with {@linkcode SecretService.env} talk to
 * it, and {@linkcode SecretService.search} looks inside from outside with `secret-tool`.
 *
 * It needs `dbus-daemon` (Debian `dbus`), `gnome-keyring-daemon` (`gnome-keyring`) and
 * `secret-tool` (`libsecret-tools`); {@linkcode secretServiceTool} says which one is missing.
 *
 * @module
 */

import { findTool, type SystemTool } from "./system_tool.ts";

/** Whether the three programs are there (and, if not, the reason a test is ignored). */
export async function secretServiceTool(): Promise<SystemTool> {
  if (Deno.build.os !== "linux") {
    return { found: false, reason: "the Secret Service tests run on Linux only" };
  }
  for (
    const [program, pkg] of [
      ["dbus-daemon", "dbus"],
      ["gnome-keyring-daemon", "gnome-keyring"],
      ["secret-tool", "libsecret-tools"],
    ]
  ) {
    const tool = program === "secret-tool" ? await hasSecretTool() : await findTool(program, pkg);
    if (!tool.found) return tool;
  }
  return { found: true, reason: "" };
}

async function hasSecretTool(): Promise<SystemTool> {
  try {
    // secret-tool has no --version; with no argument it prints its usage and exits 2.
    await new Deno.Command("secret-tool", { stdout: "null", stderr: "null" }).output();
    return { found: true, reason: "" };
  } catch {
    return {
      found: false,
      reason: "secret-tool is not on PATH (.ci/run installs libsecret-tools)",
    };
  }
}

/** A running private Secret Service; dispose of it to stop both daemons. */
export interface SecretService extends AsyncDisposable {
  /** `DBUS_SESSION_BUS_ADDRESS` and `HOME` for a program that should use it. */
  env: Record<string, string>;
  /** The secrets stored under `service`, as `secret-tool search --all` shows them. */
  search(service: string): Promise<string>;
}

/** Starts a private D-Bus session and an unlocked GNOME Keyring in it, keyrings under `home`. */
export async function startSecretService(home: string): Promise<SecretService> {
  const base = {
    HOME: home,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    XDG_DATA_HOME: `${home}/.local/share`,
  };
  const dbus = new Deno.Command("dbus-daemon", {
    args: ["--session", "--nofork", "--print-address=1"],
    env: base,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = dbus.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let address = "";
  while (!address.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    address += value;
  }
  reader.releaseLock();
  dbus.stdout.cancel().catch(() => {});
  const env = { ...base, DBUS_SESSION_BUS_ADDRESS: address.trim() };
  const keyring = new Deno.Command("gnome-keyring-daemon", {
    args: ["--unlock", "--components=secrets", "--foreground"],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = keyring.stdin.getWriter();
  await writer.write(new TextEncoder().encode("test-keyring-password"));
  await writer.close();
  // It prints GNOME_KEYRING_CONTROL=… once the secrets component serves.
  const out = keyring.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  while (!printed.includes("\n")) {
    const { value, done } = await out.read();
    if (done) break;
    printed += value;
  }
  out.releaseLock();
  keyring.stdout.cancel().catch(() => {});
  return {
    env: { DBUS_SESSION_BUS_ADDRESS: env.DBUS_SESSION_BUS_ADDRESS, HOME: home },
    async search(service) {
      const result = await new Deno.Command("secret-tool", {
        args: ["search", "--all", "--unlock", "service", service],
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      return decode(result.stdout) + decode(result.stderr);
    },
    async [Symbol.asyncDispose]() {
      for (const child of [keyring, dbus]) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        await child.status;
      }
    },
  };
}
