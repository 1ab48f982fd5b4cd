/**
 * The countdown-prompt test of `timebound-iam shell` for one shell, under a pseudo-terminal
 * (util-linux `script`, so Linux only): the prompt counts down, `aws` inside is the broker role,
 * the `aws` function renews expired credentials, the exit code is the shell's, the user's rc file
 * is read and left alone, and nesting is refused. Each shell's test waits about 20 s for its
 * session to expire, so each has its own test file (`tests/shell_bash_test.ts`, …) and
 * `deno test --parallel` runs the three side by side.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cliCommand, installShim } from "./cli.ts";
import { startFixture } from "./fixture.ts";
import { PtySession, shQuote } from "./pty.ts";
import { canRun } from "./system_tool.ts";

/** Each shell's rc file: it marks that it was read and sets a plain prompt. */
const RC_FILES: Record<string, [string, string]> = {
  bash: [".bashrc", "export RC_READ=bash-rc\nPS1='user$ '\n"],
  zsh: [".zshrc", "export RC_READ=zsh-rc\nPROMPT='user%# '\n"],
  fish: [
    ".config/fish/config.fish",
    "set -gx RC_READ fish-rc\nfunction fish_prompt\n    echo -n 'user> '\nend\n",
  ],
};

/** The escape character that starts a colour. */
const ESC = "\x1b";

/** Credentials that the local endpoint ends after this many seconds, to see them expire. */
const SESSION_SECONDS = 20;

/** Registers the countdown-prompt test of `shell --shell SHELL` (ignored without the programs). */
export async function testShellSession(shell: "bash" | "zsh" | "fish"): Promise<void> {
  const hasScript = Deno.build.os !== "windows" && await canRun("script");
  const hasAws = await canRun("aws");
  const found = await canRun(shell);
  Deno.test({
    name: `shell --shell ${shell}: countdown prompt, aws as the broker role, renewal, exit code`,
    ignore: !hasScript || !hasAws || !found,
    async fn() {
      await using fx = await startFixture({
        aws: { sessionSeconds: SESSION_SECONDS },
        prefix: `tbi-shell-${shell}-`,
      });
      const { aws, home } = fx;
      const env = {
        ...fx.childEnv,
        TERM: "xterm-256color",
        // bash's prompt is coloured on request; zsh and fish follow NO_COLOR (from baseEnv).
        ...(shell === "bash" ? { TIMEBOUND_IAM_COLORS: "1" } : {}),
        SHELL: "/bin/sh",
        PATH: `${home}/bin:${Deno.env.get("PATH")}`,
      };
      await installShim(`${home}/bin`);
      const [rcName, rcText] = RC_FILES[shell];
      await Deno.mkdir(`${home}/${rcName}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${home}/${rcName}`, rcText);
      // Without this directory fish starts generating completions from the man pages in the
      // background: a process that outlives the shell and writes into HOME.
      await Deno.mkdir(`${home}/.local/share/fish/generated_completions`, { recursive: true });
      const rcBefore = await Deno.stat(`${home}/${rcName}`);
      const [deno, args] = cliCommand([
        "shell",
        "-s",
        "s3:ro",
        "-t",
        "15m",
        "--no-confirm",
        "--shell",
        shell,
      ]);
      let code: number;
      const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
      const arnCommand = `aws --endpoint-url ${aws.url} sts get-caller-identity ` +
        "--query Arn --output text\n";
      try {
        const first = await pty.waitFor(/\[s3:ro (\d+)s\] user/);
        const firstLeft = Number(first.match[1]);
        assert.ok(firstLeft <= SESSION_SECONDS && firstLeft > 0, first.match[0]);

        await pty.type("echo rc:$RC_READ\n");
        let at = (await pty.waitFor(new RegExp(`rc:${shell}-rc`), { from: first.end })).end;

        await pty.type(arnCommand);
        const arn = /(arn:aws:sts::123456789012:assumed-role\/timebound-iam-broker\/\S+)/;
        const firstArn = await pty.waitFor(arn, { from: at });
        at = firstArn.end;
        assert.equal(aws.requests.filter((r) => r.action === "AssumeRole").length, 1);

        // The prompt counts down, then says expired. The prompt shows whole seconds: a fresh
        // one more than a second after the first must show fewer (the aws call alone may
        // take less than one).
        const afterAws = await pty.waitFor(/\[s3:ro (\d+)s\] user/, { from: at });
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await pty.type("\n");
        const later = await pty.waitFor(/\[s3:ro (\d+)s\] user/, { from: afterAws.end });
        assert.ok(Number(later.match[1]) < firstLeft, `${later.match[0]} after ${firstLeft}s`);
        const wait = new Date(aws.sessions().at(-1)!.expiration).getTime() - Date.now();
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait) + 1500));
        await pty.type("echo tick\n");
        at = (await pty.waitFor(/\[s3:ro expired\] user/, { from: later.end })).end;

        if (shell === "bash") {
          assert.match(pty.raw, new RegExp(`${ESC}\\[36m\\[s3:ro \\d+s\\]${ESC}\\[0m user\\$`));
          assert.match(pty.raw, new RegExp(`${ESC}\\[31m\\[s3:ro expired\\]${ESC}\\[0m user`));
        } else {
          assert.doesNotMatch(pty.raw, new RegExp(`${ESC}\\[3[136]m\\[s3:ro`));
        }

        // The aws function renews first: a second AssumeRole, a new session.
        await pty.type(arnCommand);
        const secondArn = await pty.waitFor(arn, { from: at });
        at = secondArn.end;
        assert.notEqual(secondArn.match[1], firstArn.match[1]);
        assert.equal(aws.requests.filter((r) => r.action === "AssumeRole").length, 2);
        assert.deepEqual(
          aws.requests.filter((r) => r.status !== 200).map((r) => r.errorCode),
          [],
        );

        // Nesting is refused, naming the outer session.
        const status = shell === "fish" ? "$status" : "$?";
        await pty.type(
          `timebound-iam shell -s s3:ro -t 15m --no-confirm; echo nested:${status}\n`,
        );
        const nested = await pty.waitFor(/nested:(\d+)/, { from: at });
        assert.equal(nested.match[1], "2");
        assert.match(
          pty.text.slice(at),
          /error: Already inside timebound-iam session "timebound-iam-[0-9a-f-]{36}"/,
        );

        await pty.type("exit 7\n");
      } finally {
        code = await pty.close();
      }
      assert.equal(code, 7, pty.text);
      const rcAfter = await Deno.stat(`${home}/${rcName}`);
      assert.equal(await Deno.readTextFile(`${home}/${rcName}`), rcText);
      assert.deepEqual(rcAfter.mtime, rcBefore.mtime);
      for (const secret of aws.issuedSecrets()) assert.ok(!pty.text.includes(secret));
    },
  });
}
