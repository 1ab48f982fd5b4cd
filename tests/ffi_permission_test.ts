// Deno's FFI permission (the OS keychain's native addon needs it) is dropped by every command
// that cannot reach the keychain, and by the vault as soon as it is known not to be the keychain.
// Each case runs in a fresh process granted FFI, as the `cli` permission set grants it.
import assert from "node:assert/strict";
import { tempDir } from "./support/fixture.ts";

const FFI_MODULE = new URL("../lib/cli/ffi_permission.ts", import.meta.url).href;

/** Runs `body` in a fresh process granted FFI; what it printed. */
async function inFreshProcess(body: string): Promise<string> {
  const script = `import { narrowFfiPermission } from "${FFI_MODULE}";\n` +
    `const ffi = () => Deno.permissions.querySync({ name: "ffi" }).state;\n${body}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "-q", "--allow-ffi", "--allow-read", "--allow-env", "--no-prompt", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** A HOME whose vault directory says a vault is in use (the keychain's index). */
async function homeWithVault(): Promise<Awaited<ReturnType<typeof tempDir>>> {
  const home = await tempDir();
  const vaultDir = `${home.path}/.local/share/timebound-iam`;
  await Deno.mkdir(vaultDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${vaultDir}/keychain-profiles`, '["dev"]\n');
  return home;
}

Deno.test("commands that never open the vault drop FFI, even while a vault is in use", async () => {
  await using home = await homeWithVault();
  const env = JSON.stringify({ HOME: home.path });
  for (const [command, kept] of [["policy", false], ["services", false], ["exec", true]] as const) {
    const state = await inFreshProcess(
      `await narrowFfiPermission("${command}", ${env}); console.log(ffi());`,
    );
    assert.equal(state === "granted", kept, `${command}: ${state}`);
  }
});

Deno.test("a vault chosen to be the encrypted file drops FFI; --vault-backend keychain keeps it", async () => {
  await using home = await homeWithVault();
  const env = JSON.stringify({ HOME: home.path, TIMEBOUND_IAM_VAULT_BACKEND: "file" });
  const cases = [
    ["exec", "undefined", false],
    ["keys", "undefined", false],
    ["keys", '"keychain"', true],
    ["serve", '"file"', false],
  ] as const;
  for (const [command, flag, kept] of cases) {
    const state = await inFreshProcess(
      `await narrowFfiPermission("${command}", ${env}, { vaultBackend: ${flag} }); console.log(ffi());`,
    );
    assert.equal(state === "granted", kept, `${command} ${flag}: ${state}`);
  }
});
