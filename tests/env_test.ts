// env end to end: the statements it prints, evaluated by real shells.
import assert from "node:assert/strict";
import { installShim, runCli, windowsSystemEnv, writeProfile } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { canRun, findTool, ignoredBecause, type SystemTool } from "./support/system_tool.ts";

const VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "TIMEBOUND_IAM_SESSION",
  // Other ways to find credentials, which --unset clears too.
  "AWS_SECURITY_TOKEN",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_ROLE_SESSION_NAME",
];

const windows = Deno.build.os === "windows";

async function inShell(shell: string, script: string, env: Record<string, string>) {
  const output = await new Deno.Command(shell, {
    args: ["-c", script],
    env,
    clearEnv: true,
    stdin: "null",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("env --unset prints unset statements with no scope and no AWS call", async (t) => {
  for (
    const [shell, expected] of [
      ["bash", `unset ${VARIABLES.join(" ")}\n`],
      ["fish", VARIABLES.map((v) => `set -e ${v};\n`).join("")],
      [
        "powershell",
        VARIABLES.map((v) => `Remove-Item Env:${v} -ErrorAction SilentlyContinue\n`).join(""),
      ],
    ]
  ) {
    await t.step(shell, async () => {
      // No endpoint and no credentials: any AWS call would fail.
      const result = await runCli(["env", "--unset", "--shell", shell]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.equal(result.stdout, expected);
    });
  }
  await t.step("--unset refuses scopes", async () => {
    const result = await runCli(["env", "--unset", "-s", "s3:ro"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: --unset takes no scope or TTL/);
  });
  await t.step("an unknown shell", async () => {
    const result = await runCli(["env", "--unset", "--shell", "tcsh"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: Invalid value "tcsh" for --shell: use bash, zsh/);
  });
});

// POSIX shells only off Windows: there the shim is a #!/bin/sh script, `env` defaults to
// PowerShell, and a Git Bash that may be on PATH mangles PATH; PowerShell is tested below.
const POSIX_SHELLS = ["bash", "zsh", "fish"] as const;
const SHELL_TOOLS: Record<string, SystemTool> = {};
for (const shell of POSIX_SHELLS) {
  SHELL_TOOLS[shell] = windows
    ? { found: false, reason: "POSIX shells are tested on Linux and macOS" }
    : await findTool(shell);
}

for (const shell of POSIX_SHELLS) {
  Deno.test({
    name: `eval of env sets the variables in ${shell}, and env --unset clears them${
      ignoredBecause(SHELL_TOOLS[shell])
    }`,
    ignore: !SHELL_TOOLS[shell].found,
    fn: async () => {
      await using fx = await startFixture({ prefix: "tbi-env-" });
      const { aws, home } = fx;
      await installShim(`${home}/bin`);
      const env = {
        ...fx.childEnv,
        AWS_PROFILE: "ignored",
        PATH: `${home}/bin:${Deno.env.get("PATH")}`,
      };
      await writeProfile(home, "ignored", aws.defaultUser);
      const show = VARIABLES.map((v) => `echo "${v}=$${v}"`).join("; ");
      const script = shell === "fish"
        ? `timebound-iam env -s s3:ro -t 15m --no-confirm --shell fish | source; or exit 9
           ${show}; echo "AWS_PROFILE=$AWS_PROFILE"; echo ---
           timebound-iam env --unset --shell fish | source
           ${show}`
        : `eval "$(timebound-iam env -s s3:ro -t 15m --no-confirm)" || exit 9
           ${show}; echo "AWS_PROFILE=$AWS_PROFILE"; echo ---
           eval "$(timebound-iam env --unset)"
           ${show}`;
      const result = await inShell(shell, script, env);
      assert.equal(result.code, 0, result.stderr);
      const [set, unset] = result.stdout.split("---\n");
      const session = aws.sessions().at(-1)!;
      assert.match(set, new RegExp(`^AWS_ACCESS_KEY_ID=${session.accessKeyId}$`, "m"));
      assert.match(set, /^AWS_SESSION_TOKEN=.{40,}$/m);
      assert.match(set, /^AWS_REGION=us-east-1$/m);
      assert.match(set, new RegExp(`^TIMEBOUND_IAM_SESSION=${session.sessionName}$`, "m"));
      assert.match(set, /^AWS_PROFILE=$/m, "AWS_PROFILE would shadow the keys");
      assert.match(result.stderr, /note: also unsetting AWS_PROFILE/);
      assert.equal(unset, VARIABLES.map((v) => `${v}=\n`).join(""));
      for (const secret of aws.issuedSecrets()) assert.ok(!result.stderr.includes(secret));
    },
  });
}

// Real secrets are base64, but the statements must not depend on that: a value with quotes,
// spaces, `$`, backticks, backslashes and a newline is read back byte for byte.
const NASTY = `a'b"c $(touch "$HOME/pwned")\`x\` \\ $HOME;\nline two 'q'`;

for (const shell of POSIX_SHELLS) {
  Deno.test({
    name: `env values with quotes, spaces, $ and newlines reach ${shell} literally${
      ignoredBecause(SHELL_TOOLS[shell])
    }`,
    ignore: !SHELL_TOOLS[shell].found,
    fn: async () => {
      await using fx = await startFixture({ aws: { sessionSecret: NASTY }, prefix: "tbi-env-" });
      const { home } = fx;
      await installShim(`${home}/bin`);
      const env = {
        ...fx.childEnv,
        PATH: `${home}/bin:${Deno.env.get("PATH")}`,
      };
      const script = shell === "fish"
        ? `timebound-iam env -s s3:ro -t 15m --no-confirm --shell fish | source; or exit 9
           printf '%s' "$AWS_SECRET_ACCESS_KEY"`
        : `eval "$(timebound-iam env -s s3:ro -t 15m --no-confirm)" || exit 9
           printf '%s' "$AWS_SECRET_ACCESS_KEY"`;
      const result = await inShell(shell, script, env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, NASTY);
      await assert.rejects(() => Deno.stat(`${home}/pwned`), Deno.errors.NotFound);
    },
  });
}

// PowerShell is how `env` is used on Windows (its default shell there). pwsh is on every GitHub
// runner (Windows, macOS, Ubuntu), so CI runs these everywhere; Debian's apt has no pwsh
// package, so on the project's Debian machine they are ignored.
const hasPwsh = await canRun("pwsh");
const noPwsh = hasPwsh ? "" : " (ignored: pwsh is not on PATH; Debian's apt has no package)";

/** Runs `script` in `pwsh -Command -` (read from stdin), with `env` added to this environment. */
async function inPwsh(script: string, env: Record<string, string>) {
  const child = new Deno.Command("pwsh", {
    args: ["-NoProfile", "-NonInteractive", "-Command", "-"],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replaceAll("\r\n", "\n");
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test({
  name: `env --shell powershell sets the variables in pwsh, and env --unset clears them${noPwsh}`,
  ignore: !hasPwsh,
  fn: async () => {
    await using fx = await startFixture({ prefix: "tbi-env-" });
    const { aws, home } = fx;
    await writeProfile(home, "ignored", aws.defaultUser);
    const env = { ...aws.env(), HOME: home, AWS_PROFILE: "ignored" };
    const set = await runCli(
      ["env", "-s", "s3:ro", "-t", "15m", "--no-confirm", "--shell", "powershell"],
      { env },
    );
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stderr, /note: also unsetting AWS_PROFILE/);
    const unset = await fx.run(["env", "--unset", "--shell", "powershell"]);
    assert.equal(unset.code, 0, unset.stderr);
    const show = [...VARIABLES, "AWS_PROFILE"].map((v) => `Write-Output "${v}=$Env:${v}"\n`)
      .join("");
    const shellEnv = { ...windowsSystemEnv(), AWS_PROFILE: "ignored" };

    const afterSet = await inPwsh(`${set.stdout}${show}`, shellEnv);
    assert.equal(afterSet.code, 0, afterSet.stderr);
    const session = aws.sessions().at(-1)!;
    const lines = afterSet.stdout;
    assert.match(lines, new RegExp(`^AWS_ACCESS_KEY_ID=${session.accessKeyId}$`, "m"));
    assert.match(lines, /^AWS_SESSION_TOKEN=.{40,}$/m);
    assert.ok(lines.includes(`\nAWS_SESSION_TOKEN=${session.sessionToken}\n`));
    assert.match(lines, /^AWS_REGION=us-east-1$/m);
    assert.match(lines, new RegExp(`^TIMEBOUND_IAM_SESSION=${session.sessionName}$`, "m"));
    assert.match(lines, /^AWS_PROFILE=$/m, "AWS_PROFILE would shadow the keys");

    const afterUnset = await inPwsh(`${set.stdout}${unset.stdout}${show}`, shellEnv);
    assert.equal(afterUnset.code, 0, afterUnset.stderr);
    for (const v of VARIABLES) assert.match(afterUnset.stdout, new RegExp(`^${v}=$`, "m"));
    for (const secret of aws.issuedSecrets()) {
      assert.ok(!set.stderr.includes(secret) && !afterSet.stderr.includes(secret));
    }
  },
});

Deno.test({
  name: `values are quoted so Invoke-Expression reads them literally in pwsh${noPwsh}`,
  ignore: !hasPwsh,
  fn: async () => {
    const { renderExports } = await import("../lib/delivery/shell_env.ts");
    const nasty = `a'b"c$(Set-Content pwned 1)\`x\` \\ $HOME; @{}`;
    const statements = renderExports({ NASTY: nasty }, "powershell");
    const result = await inPwsh(`${statements}[Console]::Out.Write($Env:NASTY)\n`, {
      ...windowsSystemEnv(),
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, nasty, result.stderr);
  },
});
