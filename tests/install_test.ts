// `deno task install` makes the command a user of the binary has: run from any directory, it
// works there (exec -- ./script.sh), keeps the caller's PATH, and refresh inside shell finds it.
// `deno task run` runs in the caller's directory too.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type Fixture, startFixture, tempDir } from "./support/fixture.ts";
import { PtySession } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const posix = Deno.build.os !== "windows";
const hasScript = posix && await canRun("script");
const hasBash = await canRun("bash");

/**
 * Installs the command into the fixture's HOME (`bin/`) and makes the project directory it runs
 * the command from.
 */
async function install(fx: Fixture): Promise<{ bin: string; project: string }> {
  const bin = `${fx.home}/bin`;
  const project = `${fx.home}/project`;
  await Deno.mkdir(project);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "install", "--bin", bin],
    cwd: ROOT,
    env: { ...fx.childEnv, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    clearEnv: true,
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(
    stdout,
    new RegExp(`^installed ${bin}/timebound-iam: timebound-iam 0\\.1\\.0 \\(deno `),
  );
  assert.match(stdout, new RegExp(`${bin} is not on your PATH; add it:\n  echo 'export PATH=`));
  return { bin, project };
}

/** A script that shows where it runs, its PATH and what kind of key it got. */
const SCRIPT = '#!/bin/sh\necho "cwd=$(pwd)"\necho "path=$PATH"\n' +
  'echo "key=${AWS_ACCESS_KEY_ID%${AWS_ACCESS_KEY_ID#????}}"\n';
const EXEC_SCRIPT = ["exec", "-s", "s3:ro", "-t", "15m", "--no-confirm", "--", "./script.sh"];

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

Deno.test({
  name: "deno task install: a launcher with the cli permission set and the lockfile frozen",
  ignore: !posix,
  async fn() {
    await using fx = await startFixture({ aws: false, prefix: "tbi-install-" });
    const { bin } = await install(fx);
    const launcher = await Deno.readTextFile(`${bin}/timebound-iam`);
    assert.equal((await Deno.stat(`${bin}/timebound-iam`)).mode! & 0o777, 0o755);
    assert.match(launcher, /'--permission-set=cli'/);
    assert.match(launcher, /'--frozen'/);
    assert.match(launcher, /'--no-prompt'/);
    // The set is named, never copied: deno.json holds it once.
    assert.doesNotMatch(launcher, /--allow-/);
    // A file it did not write is left alone.
    await Deno.writeTextFile(`${bin}/timebound-iam`, "#!/bin/sh\necho mine\n");
    const again = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "install", "--bin", bin],
      cwd: ROOT,
      env: fx.childEnv,
      clearEnv: true,
      stdin: "null",
    }).output();
    assert.equal(again.code, 1);
    assert.equal(
      new TextDecoder().decode(again.stderr),
      `error: "${bin}/timebound-iam" exists and is not a launcher this task wrote: ` +
        "remove it, or pass --force\n",
    );
    assert.equal(await Deno.readTextFile(`${bin}/timebound-iam`), "#!/bin/sh\necho mine\n");
  },
});

Deno.test({
  name: "the installed command runs exec -- ./script.sh in the caller's directory with its PATH",
  ignore: !posix,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-install-" });
    const { home } = fx;
    const { bin, project } = await install(fx);
    await Deno.writeTextFile(`${project}/script.sh`, SCRIPT, { mode: 0o755 });
    const path = `${bin}:${home}/elsewhere:${Deno.env.get("PATH")}`;
    const output = await new Deno.Command("timebound-iam", {
      args: EXEC_SCRIPT,
      cwd: project,
      env: { ...fx.childEnv, PATH: path },
      clearEnv: true,
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal(stdout, `cwd=${project}\npath=${path}\nkey=ASIA\n`);
  },
});

Deno.test({
  name: "the installed command's shell: refresh works inside it, in the caller's directory",
  ignore: !hasScript || !hasBash,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-install-" });
    const { aws, home } = fx;
    const { bin, project } = await install(fx);
    await Deno.writeTextFile(`${home}/.bashrc`, "PS1='user$ '\n");
    const path = `${bin}:${Deno.env.get("PATH")}`;
    const env = { ...fx.childEnv, TERM: "xterm-256color", PATH: path };
    const command = `cd ${shQuote(project)} && exec timebound-iam shell -s s3:ro -t 15m ` +
      "--no-confirm --shell bash";
    let code: number;
    const pty = new PtySession(command, env);
    try {
      const first = await pty.waitFor(/\[s3:ro \d+m\] user/);
      await pty.type(`printf 'at:%s path:%s\\n' "$(pwd)" "$PATH"\n`);
      const shown = await pty.waitFor(/at:(\/\S*) path:(\/\S*)\n/, { from: first.end });
      assert.equal(shown.match[1], project);
      assert.equal(shown.match[2], path);
      await pty.type("timebound-iam refresh; echo refreshed:$?\n");
      const refreshed = await pty.waitFor(/refreshed:0/, { from: shown.end });
      // The installed command found the shell's session (a refresh within a minute keeps it).
      assert.match(
        pty.text.slice(shown.end, refreshed.end),
        /credentials (renewed|kept: renewed less than a minute ago, they last) until \d{4}-/,
      );
      await pty.type("exit\n");
    } finally {
      code = await pty.close();
    }
    assert.equal(code, 0, pty.text);
    assert.ok(aws.requests.filter((r) => r.action === "AssumeRole").length >= 1);
  },
});

Deno.test({
  name: "deno task run: the CLI runs in the caller's directory with its PATH, without a Task line",
  ignore: !posix,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-task-run-" });
    const { home } = fx;
    await Deno.writeTextFile(`${home}/script.sh`, SCRIPT, { mode: 0o755 });
    const path = `${home}/elsewhere:${Deno.env.get("PATH")}`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "--config", `${ROOT}deno.json`, "run", ...EXEC_SCRIPT],
      cwd: home,
      env: { ...fx.childEnv, PATH: path },
      clearEnv: true,
      stdin: "null",
    }).output();
    assert.equal(new TextDecoder().decode(output.stderr), "");
    assert.equal(
      new TextDecoder().decode(output.stdout),
      `cwd=${home}\npath=${path}\nkey=ASIA\n`,
    );
    assert.equal(output.code, 0);
  },
});

Deno.test({
  name: "a launcher whose Deno or clone is gone says so and how to fix it",
  ignore: !posix,
  async fn(t) {
    const { renderLauncher } = await import("../scripts/install.ts");
    await using tmp = await tempDir("tbi-launcher-");
    const dir = tmp.path;
    const cases: Array<[string, { deno: string; root: string }, string]> = [
      [
        "the Deno",
        { deno: `${dir}/no-deno`, root: ROOT.replace(/\/$/, "") },
        `error: the Deno this command runs with is gone: ${dir}/no-deno\n`,
      ],
      [
        "the clone",
        { deno: Deno.execPath(), root: `${dir}/it's gone` },
        `error: the clone this command runs is gone: ${dir}/it's gone\n`,
      ],
    ];
    for (const [name, where, error] of cases) {
      await t.step(name, async () => {
        await Deno.writeTextFile(
          `${dir}/timebound-iam`,
          renderLauncher({ ...where, os: "linux" }),
          {
            mode: 0o755,
          },
        );
        const output = await new Deno.Command(`${dir}/timebound-iam`, {
          args: ["--version"],
          stdin: "null",
        }).output();
        assert.equal(output.code, 1);
        assert.equal(
          new TextDecoder().decode(output.stderr),
          `${error}hint: run deno task install again from the clone\n`,
        );
      });
    }
  },
});
