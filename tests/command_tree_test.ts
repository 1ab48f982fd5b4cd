// Every command of the tree, at any depth (`mfa status`, `setup aws` as much as `exec`), through
// the real CLI: an unknown flag is a usage error (`error:` and `hint:`, exit code 2), and `--debug`
// is accepted, as the README says of every command.
import assert from "node:assert/strict";
import type { CommandUnknownOpts } from "../lib/cli/commander.ts";
import type { Cli } from "../lib/cli/options.ts";
import { buildProgram } from "../lib/commands/mod.ts";
import { runCli } from "./support/cli.ts";

/** The words that name each command under `command`, parents before their subcommands. */
function commandPaths(command: CommandUnknownOpts, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

async function everyCommand(): Promise<string[][]> {
  const cli: Cli = {
    io: {
      stdout: () => {},
      stderr: () => {},
      env: {},
      stdinIsTerminal: false,
      stderrIsTerminal: false,
    },
    exitCode: 0,
    now: () => new Date(),
    confirm: () => Promise.resolve(false),
  };
  // With no command named, the program loads every command's definition.
  return commandPaths(await buildProgram(cli, []));
}

Deno.test("the command tree holds the nested commands", async () => {
  const names = (await everyCommand()).map((path) => path.join(" "));
  for (const name of ["exec", "mfa", "mfa login", "mfa status", "mfa provision", "setup aws"]) {
    assert.ok(names.includes(name), `${name} is missing from ${names.join(", ")}`);
  }
});

Deno.test("every command refuses an unknown flag with an error line, a hint and exit code 2", async (t) => {
  for (const path of await everyCommand()) {
    await t.step(`${path.join(" ")} --bogus`, async () => {
      const result = await runCli([...path, "--bogus"]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.equal(
        result.stderr,
        `error: Unknown option "--bogus" for timebound-iam ${path.join(" ")}\n` +
          `hint: timebound-iam ${path.join(" ")} --help lists its options\n`,
      );
    });
  }
});

Deno.test("every command accepts --debug", async (t) => {
  for (const path of await everyCommand()) {
    await t.step(`${path.join(" ")} --help --debug`, async () => {
      const result = await runCli([...path, "--help", "--debug"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, /^Usage: timebound-iam /);
      assert.match(result.stdout, /--debug +show AWS request ids/);
    });
  }
});

Deno.test("mfa status --debug runs (it needs no AWS)", async () => {
  const result = await runCli(["mfa", "status", "--debug"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "No cached MFA sessions\n");
});
