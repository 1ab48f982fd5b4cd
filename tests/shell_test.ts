// timebound-iam shell under a pseudo-terminal for bash, zsh and fish: the prompt counts down,
// aws inside is the broker role, the aws function renews expired credentials, the exit code is
// the shell's, the user's rc files are read and left alone, and nesting is refused.
import assert from "node:assert/strict";
import { baseEnv, cliCommand, installShim, runCli } from "./support/cli.ts";
import { LocalAws } from "./support/local_aws.ts";
import { PtySession } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

const hasScript = Deno.build.os !== "windows" && await canRun("script");
const hasAws = await canRun("aws");

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

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

for (const shell of ["bash", "zsh", "fish"]) {
  const found = await canRun(shell);
  Deno.test({
    name: `shell --shell ${shell}: countdown prompt, aws as the broker role, renewal, exit code`,
    ignore: !hasScript || !hasAws || !found,
    async fn() {
      await using aws = await LocalAws.start({ sessionSeconds: SESSION_SECONDS });
      const home = await Deno.makeTempDir({ prefix: `tbi-shell-${shell}-` });
      try {
        const env = {
          ...await baseEnv(home),
          ...aws.env(),
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
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "shell --refresh: no keys inside, aws through the renewing endpoint, refresh says so",
  ignore: !hasScript || !hasAws,
  async fn() {
    await using aws = await LocalAws.start();
    const home = await Deno.makeTempDir({ prefix: "tbi-shell-refresh-" });
    try {
      const env = {
        ...await baseEnv(home),
        ...aws.env(),
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
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

for (const shell of ["zsh", "bash"]) {
  const found = await canRun(shell);
  Deno.test({
    name: `shell --shell ${shell}: a scope's resource name is shown in the prompt, never run ` +
      "(zsh with prompt_subst)",
    ignore: !hasScript || !found,
    async fn() {
      await using aws = await LocalAws.start();
      const home = await Deno.makeTempDir({ prefix: `tbi-shell-label-${shell}-` });
      try {
        const env = {
          ...await baseEnv(home),
          ...aws.env(),
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
      } finally {
        await Deno.remove(home, { recursive: true });
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
    await using aws = await LocalAws.start();
    const home = await Deno.makeTempDir({ prefix: "tbi-shell-close-" });
    try {
      const env = {
        ...await baseEnv(home),
        ...aws.env(),
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
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
