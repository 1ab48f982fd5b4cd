// timebound-iam shell under a pseudo-terminal: --refresh, a scope's resource name in the prompt,
// the shells it refuses, and exit while a refresh waits. The countdown prompt of each shell is in
// tests/shell_bash_test.ts, shell_zsh_test.ts and shell_fish_test.ts.
import assert from "node:assert/strict";
import { cliCommand, installShim, runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { PtySession, shQuote } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

const hasScript = Deno.build.os !== "windows" && await canRun("script");
const hasAws = await canRun("aws");
const hasCurl = await canRun("curl");

Deno.test({
  name: "shell --refresh: no keys inside, aws through the renewing endpoint, refresh says so",
  ignore: !hasScript || !hasAws,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-shell-refresh-" });
    const { aws, home } = fx;
    const env = {
      ...fx.childEnv,
      TERM: "xterm-256color",
      PATH: `${home}/bin:${Deno.env.get("PATH")}`,
    };
    await installShim(`${home}/bin`);
    await Deno.writeTextFile(`${home}/.bashrc`, "PS1='user$ '\n");
    const [deno, args] = cliCommand(
      ["shell", "-s", "s3:ro", "-t", "15m", "--no-confirm", "--shell", "bash", "--refresh=2h"],
    );
    let code: number;
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    try {
      const first = await pty.waitFor(/\[s3:ro (1h59m|2h00m)\] user/);
      await pty.type(
        'echo "keys:${AWS_ACCESS_KEY_ID:-none} uri:${AWS_CONTAINER_CREDENTIALS_FULL_URI%%:*}"\n',
      );
      let at = (await pty.waitFor(/keys:none uri:http\n/, { from: first.end })).end;
      await pty.type(
        `aws --endpoint-url ${aws.url} sts get-caller-identity --query Arn --output text\n`,
      );
      at = (await pty.waitFor(/assumed-role\/timebound-iam-broker\//, { from: at })).end;
      await pty.type("timebound-iam refresh; echo refreshed:$?\n");
      at = (await pty.waitFor(/refreshed:0/, { from: at })).end;
      assert.match(pty.text, /note: the credentials of this shell renew by themselves/);
      await pty.type("exit\n");
    } finally {
      code = await pty.close();
    }
    assert.equal(code, 0, pty.text);
    assert.equal(aws.requests.filter((r) => r.action === "AssumeRole").length, 1);
  },
});

for (const shell of ["zsh", "bash"]) {
  const found = await canRun(shell);
  Deno.test({
    name: `shell --shell ${shell}: a scope's resource name is shown in the prompt, never run ` +
      "(zsh with prompt_subst)",
    ignore: !hasScript || !found,
    async fn() {
      await using fx = await startFixture({ prefix: `tbi-shell-label-${shell}-` });
      const { home } = fx;
      const env = {
        ...fx.childEnv,
        TERM: "xterm-256color",
        PATH: `${home}/bin:${Deno.env.get("PATH")}`,
      };
      await installShim(`${home}/bin`);
      // prompt_subst, as oh-my-zsh and many themes set it: zsh expands $(…) in PROMPT.
      await Deno.writeTextFile(`${home}/.zshrc`, "setopt prompt_subst\nPROMPT='user%# '\n");
      await Deno.writeTextFile(`${home}/.bashrc`, "PS1='user$ '\n");
      const scope = `s3:ro@my-bucket/$(id>${home}/pwned)\`id>${home}/pwned2\``;
      const [deno, args] = cliCommand(
        ["shell", "-s", scope, "-t", "15m", "--no-confirm", "--shell", shell],
      );
      let code: number;
      const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
      try {
        const shown = await pty.waitFor(/\[(s3:ro@my-bucket\/\S+) \d+m\] user/);
        assert.equal(shown.match[1], "s3:ro@my-bucket/??id?" + home.slice(0, 57 - 21) + "...");
        await pty.type("echo tick\n");
        await pty.waitFor(/tick\n(.|\n)*\] user/, { from: shown.end });
        await pty.type("exit\n");
      } finally {
        code = await pty.close();
      }
      assert.equal(code, 0, pty.text);
      for (const name of ["pwned", "pwned2"]) {
        assert.equal(await Deno.stat(`${home}/${name}`).catch(() => undefined), undefined, name);
      }
    },
  });
}

Deno.test("shell refuses a shell it cannot drive, and refresh outside a shell", async () => {
  const tcsh = await runCli(["shell", "-s", "s3:ro", "-t", "15m"], {
    env: { SHELL: "/usr/bin/tcsh" },
  });
  assert.equal(tcsh.code, 2);
  assert.equal(
    tcsh.stderr,
    'error: Cannot start shell "tcsh" (from SHELL): use bash, zsh, fish, powershell\n' +
      "hint: pass --shell bash (or zsh, fish, powershell)\n",
  );
  const refresh = await runCli(["refresh"]);
  assert.equal(refresh.code, 2);
  assert.equal(
    refresh.stderr,
    "error: Nothing to refresh: not inside timebound-iam shell\n" +
      "hint: start one with: timebound-iam shell -s SCOPES -t TTL\n",
  );
});

Deno.test({
  name: "shell exits at once while a refresh waits on an STS that never answers; refresh says why",
  ignore: !hasScript,
  async fn() {
    // Sessions of 2 seconds: fresh credentials are served again, expired ones are renewed.
    await using fx = await startFixture({ prefix: "tbi-shell-close-", aws: { sessionSeconds: 2 } });
    const { aws, home } = fx;
    const env = {
      ...fx.childEnv,
      TERM: "xterm-256color",
      PATH: `${home}/bin:${Deno.env.get("PATH")}`,
      // The SDK would wait 5 minutes for each try: only close() not waiting ends the shell soon.
      TIMEBOUND_IAM_TIMEOUT: "300",
    };
    await installShim(`${home}/bin`);
    await Deno.writeTextFile(`${home}/.bashrc`, "PS1='user$ '\n");
    const [deno, args] = cliCommand(
      ["shell", "-s", "s3:ro", "-t", "15m", "--no-confirm", "--shell", "bash"],
    );
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    let code: number;
    let released = false;
    let release = () => {};
    let guard: ReturnType<typeof setTimeout> | undefined;
    try {
      const first = await pty.waitFor(/\[s3:ro \d+m?\d*s?\] user/);
      const wait = new Date(aws.sessions().at(-1)!.expiration).getTime() - Date.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait) + 500));
      release = aws.neverAnswer();
      // Only bounds the behaviour before the fix (waiting for STS until it answers).
      guard = setTimeout(() => {
        released = true;
        release();
      }, 60_000);
      await pty.type(`timebound-iam refresh 2>"$HOME/refresh.err" &\n`);
      while (aws.waiting === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      await pty.waitFor(/user\$ $/, { from: first.end });
      await pty.type("exit 0\n");
    } finally {
      code = await pty.close(120_000);
    }
    const stillWaiting = aws.waiting;
    clearTimeout(guard);
    release();
    assert.equal(code, 0, pty.text);
    assert.equal(released, false, "the shell ended only once STS answered");
    assert.equal(stillWaiting, 1, "the AssumeRole was answered before the shell ended");
    // The refresh in flight got an answer, not a hang: one line saying why.
    let said = "";
    for (let i = 0; i < 600 && !said.endsWith("\n"); i++) {
      said = await Deno.readTextFile(`${home}/refresh.err`).catch(() => "");
      if (!said.endsWith("\n")) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(
      said,
      "error: Could not refresh: the endpoint has closed: its shell or command has ended\n",
    );
    for (const secret of aws.issuedSecrets()) {
      assert.ok(!pty.text.includes(secret) && !said.includes(secret));
    }
  },
});

Deno.test({
  name: "50 refresh POSTs within a minute make at most 2 AssumeRoles; refresh says it kept them",
  ignore: !hasScript || !hasCurl,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-shell-posts-" });
    const { aws, home } = fx;
    const env = {
      ...fx.childEnv,
      TERM: "xterm-256color",
      PATH: `${home}/bin:${Deno.env.get("PATH")}`,
    };
    await installShim(`${home}/bin`);
    await Deno.writeTextFile(`${home}/.bashrc`, "PS1='user$ '\n");
    const [deno, args] = cliCommand(
      ["shell", "-s", "s3:ro", "-t", "15m", "--no-confirm", "--shell", "bash"],
    );
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    let code: number;
    try {
      const first = await pty.waitFor(/\[s3:ro \d+m?\d*s?\] user/);
      // A client in a loop, as a script gone wrong would be: 50 POSTs to the refresh endpoint.
      await pty.type(
        'for i in $(seq 50); do curl -s -o /dev/null -w "%{http_code}," -X POST ' +
          '-H "Authorization: $TIMEBOUND_IAM_REFRESH_TOKEN" "$TIMEBOUND_IAM_REFRESH_URI"; ' +
          "done; echo posted\n",
      );
      let at = (await pty.waitFor(/((?:\d{3},){50})posted/, { from: first.end })).end;
      assert.match(pty.text, /(200,){50}posted/);
      await pty.type("timebound-iam refresh; echo refreshed:$?\n");
      at = (await pty.waitFor(/refreshed:0/, { from: at })).end;
      assert.match(
        pty.text,
        /credentials kept: renewed less than a minute ago, they last until \d{4}-/,
      );
      await pty.type("exit\n");
    } finally {
      code = await pty.close();
    }
    assert.equal(code, 0, pty.text);
    const assumed = aws.requests.filter((r) => r.action === "AssumeRole").length;
    assert.ok(assumed <= 2, `${assumed} AssumeRoles`);
    for (const secret of aws.issuedSecrets()) assert.ok(!pty.text.includes(secret));
  },
});
