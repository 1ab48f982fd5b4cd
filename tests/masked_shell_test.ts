// shell --masked in a pseudo-terminal: stand-ins inside, the AWS CLI through the proxy, refresh
// behind them after the session's end: a waiting test, in a file of its own
// (docs/development.md); the real CLI against the local endpoint (tests/support/masked.ts).
import assert from "node:assert/strict";
import { cliCommand, installShim } from "./support/cli.ts";
import { cli, ignore, maskedRig, note, posix } from "./support/masked.ts";
import { PtySession, shQuote } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

const hasScript = posix && await canRun("script") && await canRun("bash");

Deno.test({
  name:
    `shell --masked: stand-ins inside, aws through the proxy, refresh renews behind them${note}`,
  ignore: ignore || !hasScript,
  async fn() {
    await using rig = await maskedRig({ sessionSeconds: 10 });
    const bin = `${rig.home}/bin`;
    await installShim(bin);
    // The shell's aws is the one that honours AWS_ENDPOINT_URL.
    await Deno.symlink(cli.path!, `${bin}/aws`);
    await Deno.writeTextFile(`${rig.home}/.bashrc`, "PS1='user$ '\n");
    const env = {
      ...rig.childEnv,
      TERM: "xterm-256color",
      PATH: `${bin}:${Deno.env.get("PATH")}`,
    };
    const [deno, args] = cliCommand(
      ["shell", "--masked", "-s", "sts:ro", "-t", "15m", "--no-confirm", "--shell", "bash"],
    );
    let code: number;
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    // `env` skips the shell's renewing aws function, and without AWS_CREDENTIAL_EXPIRATION the
    // AWS CLI calls even after the expiry, so the proxy answers (see masked_expiry_test.ts).
    const arn = "env -u AWS_CREDENTIAL_EXPIRATION aws sts get-caller-identity --query Arn " +
      "--output text; echo code:$?\n";
    try {
      let at = (await pty.waitFor(/\[sts:ro \d+s\] user/)).end;
      await pty.type(
        'echo "key:$AWS_ACCESS_KEY_ID url:${AWS_ENDPOINT_URL%%:*} until:$AWS_CREDENTIAL_EXPIRATION"\n',
      );
      const first = await pty.waitFor(/key:(ASIA\w+) url:http until:(\S+)\r?\n/, { from: at });
      at = first.end;
      await pty.type(arn);
      at = (await pty.waitFor(/assumed-role\/timebound-iam-broker\/\S+\s+code:0/, { from: at }))
        .end;
      // The session behind the stand-ins ends.
      const left = Date.parse(first.match[2]) - Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, left) + 500));
      await pty.type(arn);
      at = (await pty.waitFor(/\(ExpiredToken\)[^\n]*\n[^]*?code:255/, { from: at })).end;
      await pty.type("timebound-iam refresh; echo refreshed:$?\n");
      at = (await pty.waitFor(/refreshed:0/, { from: at })).end;
      await pty.type('echo "key:$AWS_ACCESS_KEY_ID"\n');
      const second = await pty.waitFor(/key:(ASIA\w+)\r?\n/, { from: at });
      assert.equal(second.match[1], first.match[1], "the same stand-ins after refresh");
      at = second.end;
      await pty.type(arn);
      at = (await pty.waitFor(/assumed-role\/timebound-iam-broker\/\S+\s+code:0/, { from: at }))
        .end;
      await pty.type("exit\n");
    } finally {
      code = await pty.close();
    }
    assert.equal(code, 0, pty.text);
    assert.equal(rig.aws.requests.filter((r) => r.action === "AssumeRole").length, 2);
    for (const secret of rig.secrets()) {
      assert.ok(!pty.text.includes(secret), "a real secret reached the terminal");
    }
  },
});
