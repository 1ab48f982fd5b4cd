// A reader that stops reading early (`timebound-iam services --json | head -1`) is no failure:
// the CLI stops without a word and exits 141 (128 + SIGPIPE), as `yes | head` does.
import assert from "node:assert/strict";
import { cliCommand } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";

/** Starts `timebound-iam ARGS` with its standard output on a pipe that this test reads. */
function spawnPiped(args: readonly string[], env: Record<string, string>): Deno.ChildProcess {
  const [command, fullArgs] = cliCommand(args);
  return new Deno.Command(command, {
    args: fullArgs,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("services --json | head -1: the reader closes after one line, the CLI stops quietly with 141", async () => {
  await using fx = await startFixture({ aws: false, prefix: "tbi-pipe-" });
  const child = spawnPiped(["services", "--json"], fx.childEnv);
  // Small reads, so the pipe still holds most of the output when it closes (as head's does).
  const reader = child.stdout.getReader({ mode: "byob" });
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read(new Uint8Array(16));
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  const stderr = await new Response(child.stderr).text();
  const { code } = await child.status;
  assert.equal(text.split("\n")[0], "[");
  assert.equal(stderr, "");
  assert.equal(code, 141);
});

Deno.test("a reader that closes before any output: each command stops quietly with 141", async (t) => {
  const commands = [
    ["services"],
    ["services", "--json"],
    ["policy", "-s", "s3:ro"],
    ["completions", "bash"],
    ["--help"],
    ["--version"],
  ];
  await using fx = await startFixture({ aws: false, prefix: "tbi-pipe-" });
  for (const args of commands) {
    await t.step(args.join(" "), async () => {
      const child = spawnPiped(args, fx.childEnv);
      await child.stdout.cancel();
      const stderr = await new Response(child.stderr).text();
      const { code } = await child.status;
      assert.equal(stderr, "");
      assert.equal(code, 141);
    });
  }
});
