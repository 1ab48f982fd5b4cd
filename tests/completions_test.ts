import assert from "node:assert/strict";
import { Argument, Command, Option } from "@commander-js/extra-typings";
import {
  type CompletionShell,
  describeCommandTree,
  renderCompletion,
} from "../lib/cli/completions.ts";
import { runCli } from "./support/cli.ts";
import { tempDir } from "./support/fixture.ts";
import { findTool, ignoredBecause } from "./support/system_tool.ts";

/** A small tree with what the real one will grow: nesting, an alias, choices, a hidden flag. */
function sampleTree(): Command {
  const root = new Command("tool").helpCommand(false).option("--debug", "more output");
  const setup = root.command("setup").helpCommand(false).description("prepare things");
  setup.command("aws").description("prepare AWS").option("-p, --profile <name>", "a profile");
  setup.command("gcp").alias("google").description("prepare GCP");
  root.command("env").description("print statements")
    .addOption(new Option("--shell <shell>", "syntax").choices(["bash", "fish", "powershell"]))
    .addOption(new Option("--secret", "not for users").hideHelp());
  root.command("emit").description("emit a thing")
    .addArgument(new Argument("<kind>", "what").choices(["json", "yaml"]))
    .argument("[rest...]");
  return root as unknown as Command;
}

Deno.test("describeCommandTree() lists every command, option and choice", () => {
  const nodes = describeCommandTree(sampleTree());
  assert.deepEqual(nodes.map((n) => n.path.join(" ")), [
    "",
    "setup",
    "setup aws",
    "setup gcp",
    "env",
    "emit",
  ]);
  const [root, setup, aws, , env, emit] = nodes;
  assert.deepEqual(root.commands.map((c) => c.names), [["setup"], ["env"], ["emit"]]);
  assert.deepEqual(root.options.map((o) => o.flags), [["--debug"], ["-h", "--help"]]);
  assert.deepEqual(setup.commands.map((c) => c.names), [["aws"], ["gcp", "google"]]);
  assert.deepEqual(aws.options[0], {
    flags: ["-p", "--profile"],
    description: "a profile",
    takesValue: true,
    choices: [],
    values: "profiles",
  });
  assert.deepEqual(env.options.map((o) => o.flags.join(" ")), ["--shell", "-h --help"]);
  assert.deepEqual(env.options[0].choices, ["bash", "fish", "powershell"]);
  assert.deepEqual(emit.arguments, [["json", "yaml"], []]);
});

// Completes `words` (the last one being completed) the way the shell does after loading the
// script, and returns the candidates. zsh runs interactively in a pseudo-terminal (zpty) and
// reports what its completion system adds; bash calls the function `complete` registered; fish
// answers `complete --do-complete`.
async function complete(
  shell: CompletionShell,
  script: string,
  words: string[],
  files: Record<string, string> = {},
): Promise<string[]> {
  await using tmp = await tempDir("tbi-completion-");
  const dir = tmp.path;
  const file = `${dir}/script`;
  await Deno.writeTextFile(file, script);
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  const program = words[0];
  const run = async (command: string, args: string[]) => {
    const out = await new Deno.Command(command, {
      args,
      env: { HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, TERM: "xterm" },
      cwd: dir,
      stdin: "null",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `${shell} failed: ${stderr}`);
    assert.equal(stderr, "", `${shell} wrote to stderr`);
    return new TextDecoder().decode(out.stdout).split("\n").map((line) => line.trimEnd())
      .filter(Boolean);
  };
  switch (shell) {
    case "bash": {
      // As readline does: the line, and its words split at ":" and "=" too (each its own
      // word); a reply replaces what follows the last of those in the word being completed.
      const split = words.flatMap((w) => w === "" ? [""] : w.split(/([:=])/).filter(Boolean));
      const quote = (w: string) => `'${w.replaceAll("'", `'\\''`)}'`;
      const line = words.join(" ");
      const fn = `_${program.replace(/[^A-Za-z0-9_]/g, "_")}`;
      const lines = await run("bash", [
        "--norc",
        "--noprofile",
        "-c",
        `source ${file} && complete -p ${program} && COMP_WORDS=(${split.map(quote).join(" ")}) ` +
        `COMP_CWORD=${split.length - 1} COMP_LINE=${quote(line)} COMP_POINT=${line.length} && ` +
        `${fn} && printf '%s\\n' "\${COMPREPLY[@]}"`,
      ]);
      assert.equal(lines.shift(), `complete -o default -F ${fn} ${program}`);
      const kept = /^(.*[:=])?/.exec(words.at(-1)!)![0];
      return lines.map((reply) => kept + reply);
    }
    case "zsh":
      await Deno.writeTextFile(`${dir}/capture.zsh`, ZSH_CAPTURE);
      return await run("zsh", ["-f", `${dir}/capture.zsh`, file, words.join(" ")]);
    case "fish":
      return (await run("fish", [
        "--no-config",
        "-c",
        `source ${file}; and complete --do-complete ${fishQuote(words.join(" "))}`,
      ])).map((line) => line.split("\t")[0]);
    case "powershell": {
      const line = words.join(" ");
      return await run("pwsh", [
        "-NoProfile",
        "-NonInteractive",
        "-Command",
        `. '${file}'; $line = '${line.replaceAll("'", "''")}'; ` +
        "(TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | " +
        "ForEach-Object CompletionText",
      ]);
    }
  }
}

function fishQuote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

// Starts an interactive zsh in a pseudo-terminal, loads compinit and the script, wraps
// \`compadd\` to record what it adds in a file, types the words and a Tab, and prints the file.
// The markers are typed as "<rea""dy>" so that the echo of the typed line cannot match them.
const ZSH_CAPTURE = `
zmodload zsh/zpty
hits=\${1:h}/hits
: > $hits
zpty z zsh -f -i
zpty -w z "PROMPT='<pro''mpt>' RPROMPT=; autoload -Uz compinit; compinit -u -D; source \${(q)1}"
zpty -w z "hits=\${(q)hits}"
zpty -w z 'compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return; fi
  local -a added
  builtin compadd -A added "$@"
  (( $#added )) && print -rl -- $added >> $hits
  builtin compadd "$@"
}'
zpty -w z 'print "<rea""dy>"'
# Type only once the line editor waits at the prompt: zsh drops what was typed before.
zpty -r z out '*<ready>*<prompt>*' || exit 3
zpty -n -w z "$2"$'\\t'
zpty -w z $'\\C-e\\C-u''print "<do""ne>"'
zpty -r z out '*<done>*' || exit 3
zpty -d z
cat $hits
`;

const SHELL_TOOLS = Deno.build.os === "windows"
  ? Object.fromEntries(
    (["bash", "zsh", "fish", "powershell"] as const).map((
      shell,
    ) => [shell, { found: false, reason: "shell completions are tested on Linux and macOS" }]),
  )
  : {
    bash: await findTool("bash"),
    zsh: await findTool("zsh"),
    fish: await findTool("fish"),
    powershell: await findTool("pwsh", "powershell"),
  };

for (const shell of ["bash", "zsh", "fish", "powershell"] as const) {
  const tool = SHELL_TOOLS[shell];
  const ignored = ignoredBecause(tool);

  Deno.test({
    name: `renderCompletion() for ${shell} completes a sample tree${ignored}`,
    ignore: !tool.found,
    async fn(t) {
      const script = renderCompletion(sampleTree(), shell);
      const cases: [string[], string[]][] = [
        [["tool", "e"], ["env", "emit"]],
        [["tool", ""], ["setup", "env", "emit"]],
        [["tool", "setup", ""], ["aws", "gcp", "google"]],
        [["tool", "setup", "aws", "--p"], ["--profile"]],
        [["tool", "setup", "google", "--h"], ["--help"]],
        [["tool", "env", "--shell", ""], ["bash", "fish", "powershell"]],
        [["tool", "env", "--s"], ["--shell"]],
        [["tool", "emit", "y"], ["yaml"]],
        [["tool", "--debug", "s"], ["setup"]],
      ];
      for (const [words, expected] of cases) {
        await t.step(`"${words.join(" ")}" offers ${expected.join(", ")}`, async () => {
          const got = await complete(shell, script, words);
          assert.deepEqual([...got].sort(), [...expected].sort());
        });
      }
    },
  });

  Deno.test({
    name: `timebound-iam completions ${shell} loads and completes the real tree${ignored}`,
    ignore: !tool.found,
    async fn(t) {
      const result = await runCli(["completions", shell]);
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      const script = result.stdout;

      await t.step(`"timebound-iam e" offers env and exec`, async () => {
        const got = await complete(shell, script, ["timebound-iam", "e"]);
        assert.ok(got.includes("env") && got.includes("exec"), `got ${got.join(", ")}`);
        assert.ok(got.every((word) => word.startsWith("e")), `got ${got.join(", ")}`);
      });
      await t.step(`"timebound-iam exec --s" offers --scope`, async () => {
        const got = await complete(shell, script, ["timebound-iam", "exec", "--s"]);
        assert.ok(got.includes("--scope"), `got ${got.join(", ")}`);
      });
      await t.step(`"timebound-iam completions " offers the shells`, async () => {
        const got = await complete(shell, script, ["timebound-iam", "completions", ""]);
        assert.deepEqual([...got].sort(), ["bash", "fish", "powershell", "zsh"]);
      });
      const scopes: [string, string[]][] = [
        ["dynamo", ["dynamodb:"]],
        ["cloudwatch-l", ["cloudwatch-logs:"]],
        ["s3:r", ["s3:read_only", "s3:readonly", "s3:ro"]],
        ["s3:ro", ["s3:ro", "s3:ro@"]],
        ["s3:ro,dyn", ["s3:ro,dynamodb:"]],
        ["s3:ro,dynamodb:f", ["s3:ro,dynamodb:full"]],
        ["s3:ro@my-b", []],
      ];
      for (const [typed, expected] of scopes) {
        await t.step(`"exec -s ${typed}" offers ${expected.join(", ") || "nothing"}`, async () => {
          const got = await complete(shell, script, ["timebound-iam", "exec", "-s", typed]);
          assert.deepEqual([...got].sort(), expected);
        });
      }
      await t.step(`"serve --allow s3:l" offers the list level`, async () => {
        const got = await complete(shell, script, ["timebound-iam", "serve", "--allow", "s3:l"]);
        assert.deepEqual(got, ["s3:list"]);
      });
      await t.step(`"exec --profile " offers the AWS config's profiles`, async () => {
        const got = await complete(shell, script, ["timebound-iam", "exec", "--profile", ""], {
          ".aws/config": "[default]\nregion = us-east-1\n[profile dev]\n[sso-session corp]\n" +
            "[ profile  prod ]\n",
          ".aws/credentials": "[default]\naws_access_key_id = AKIA\n[ci]\n",
        });
        assert.deepEqual([...got].sort(), ["ci", "default", "dev", "prod"]);
      });
      await t.step(`"shell --l" and "shell --ca" offer --learn and --calls`, async () => {
        const learn = await complete(shell, script, ["timebound-iam", "shell", "--l"]);
        assert.deepEqual(learn, ["--learn"]);
        const calls = await complete(shell, script, ["timebound-iam", "shell", "--ca"]);
        assert.deepEqual(calls, ["--calls"]);
      });
      await t.step(`"shell --shell " offers the shells it runs`, async () => {
        const got = await complete(shell, script, ["timebound-iam", "shell", "--shell", ""]);
        assert.deepEqual([...got].sort(), ["bash", "fish", "powershell", "pwsh", "zsh"]);
      });
    },
  });
}

Deno.test("timebound-iam completions rejects an unknown shell", async () => {
  const result = await runCli(["completions", "tcsh"]);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    'error: Invalid shell "tcsh": use bash, zsh, fish or powershell\n' +
      "hint: usage: timebound-iam completions [options] <shell>\n",
  );
  assert.equal(result.stdout, "");
});
