// The README is the front door and docs/ the rest of the house: what they promise about
// permissions, tasks, commands, flags, variables and links must be true.
import assert from "node:assert/strict";
import type { CommandUnknownOpts } from "../lib/cli/commander.ts";
import { buildProgram } from "../lib/commands/mod.ts";
import { runCli } from "./support/cli.ts";
import { readModuleGraph } from "./support/module_graph.ts";

const root = new URL("..", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));

/** Every Markdown page of the documentation: README.md and docs/*.md, by path. */
async function pages(): Promise<Map<string, string>> {
  const found = new Map([["README.md", readme]]);
  for await (const entry of Deno.readDir(new URL("docs/", root))) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      found.set(`docs/${entry.name}`, await Deno.readTextFile(new URL(`docs/${entry.name}`, root)));
    }
  }
  return found;
}

const docs = await pages();
const everything = [...docs.values()].join("\n");
const commandsPage = docs.get("docs/commands.md") ?? "";

/** The text of `markdown` outside fenced code blocks, line by line (inside ones become ""). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line;
  });
}

/** GitHub's anchor for a heading: lower case, no punctuation but - and _, spaces to -. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The anchors of a page's headings, numbered as GitHub numbers repeated ones (-1, -2, …). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(markdown)) {
    const heading = line.match(/^#{1,6} (.+)$/);
    if (!heading) continue;
    const base = slug(heading[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count ? `${base}-${count}` : base);
  }
  return result;
}

/** The sections of a page: each heading's anchor and the text up to the next heading. */
function sections(markdown: string): Map<string, string> {
  const result = new Map<string, string>();
  let current = "";
  for (const line of prose(markdown)) {
    const heading = line.match(/^#{1,6} (.+)$/);
    if (heading) current = slug(heading[1]);
    result.set(current, `${result.get(current) ?? ""}${line}\n`);
  }
  return result;
}

/** Every command under `command`, at any depth, as the words that name it. */
function commandPaths(command: CommandUnknownOpts, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

/** A CLI context that keeps what the program writes. */
function quietCli(out: string[] = []): Parameters<typeof buildProgram>[0] {
  return {
    io: {
      stdout: (text: string) => void out.push(text),
      stderr: (text: string) => void out.push(text),
      env: {},
      stdinIsTerminal: false,
      stderrIsTerminal: false,
    },
    exitCode: 0,
    now: () => new Date(),
    confirm: () => Promise.resolve(false),
  } as Parameters<typeof buildProgram>[0];
}

/** The `--allow-*` flags equivalent to a config-file permission set. */
function flagsFor(set: Record<string, boolean | string[]>): string[] {
  return Object.entries(set).map(([name, value]) =>
    value === true ? `--allow-${name}` : `--allow-${name}=${(value as string[]).join(",")}`
  ).sort();
}

Deno.test("every deno install/run line in the docs grants exactly the cli permission set", () => {
  const expected = flagsFor(config.permissions.cli);
  const pattern = /^(npx -y )?deno(@[\d.]+)? (install|run) .*(jsr:|main\.ts$)/;
  const lines = everything.split("\n").filter((line) => pattern.test(line));
  assert.ok(lines.length >= 3, "no jsr: lines found");
  for (const line of lines) {
    assert.deepEqual(line.match(/--allow-[a-z]+(=\S+)?/g)?.sort(), expected, line);
  }
});

Deno.test("the README's two commands name tasks that exist, with the pinned Deno", () => {
  for (const task of ["install", "run", "test", "demo"]) {
    assert.match(readme, new RegExp(`npx -y deno@2\\.9\\.6 task (-q )?${task}`));
    assert.ok(config.tasks[task], `task ${task} is missing`);
  }
  const ci = Deno.readTextFileSync(new URL(".ci/run", root));
  // Exactly the README's command (its output goes on to the check for ignored tests).
  assert.match(ci, /^npx -y deno@2\.9\.6 task test( 2>&1 \| tee "\$log")?$/m);
});

Deno.test("the README's run example works as written", async () => {
  const line = readme.match(/e\.g\.\s+`npx -y deno@2\.9\.6 task -q run ([^`]+)`/);
  assert.ok(line, "no run example in the README");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "run", ...line[1].split(" ")],
    cwd: root,
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.equal(JSON.parse(stdout).Version, "2012-10-17");
});

Deno.test("the README stays a front door: at most 250 lines, linking every docs page", () => {
  assert.ok(readme.split("\n").length <= 250, `README.md has ${readme.split("\n").length} lines`);
  for (const page of docs.keys()) {
    if (page === "README.md") continue;
    assert.ok(readme.includes(`](${page})`), `README.md does not link ${page}`);
  }
});

Deno.test("every command has a section in docs/commands.md that names each of its flags", async (t) => {
  const program = await buildProgram(quietCli(), []);
  const byAnchor = sections(commandsPage);
  for (const path of commandPaths(program)) {
    const anchor = path.join("-");
    await t.step(path.join(" "), () => {
      const section = byAnchor.get(anchor);
      assert.ok(section, `docs/commands.md has no heading for ${path.join(" ")} (#${anchor})`);
      // A section may name its flags itself or through the commands it links to ("the flags of
      // exec"): the text of those sections counts too.
      const linked = [...section.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => byAnchor.get(m[1]));
      const text = [section, ...linked].join("\n");
      let command = program as CommandUnknownOpts;
      for (const word of path) command = command.commands.find((c) => c.name() === word)!;
      for (const option of command.options) {
        if (!option.long || ["--help", "--debug"].includes(option.long)) continue;
        const flag = option.long;
        assert.ok(
          new RegExp(`${flag}(?![\\w-])`).test(text),
          `${flag} of ${path.join(" ")} is not in its section of docs/commands.md`,
        );
      }
    });
  }
});

Deno.test("every command's --help ends with its docs section, which exists", async (t) => {
  const program = await buildProgram(quietCli(), []);
  const commandAnchors = anchors(commandsPage);
  await t.step("the root", async () => {
    const out: string[] = [];
    const help = await buildProgram(quietCli(out), ["--help"]);
    await assert.rejects(help.parseAsync(["--help"], { from: "user" }), {
      code: "commander.helpDisplayed",
    });
    assert.equal(
      out.join("").trimEnd().split("\n").at(-1),
      "Docs: README.md and docs/ (in the timebound-iam source repository)",
    );
  });
  for (const path of commandPaths(program)) {
    await t.step(path.join(" "), async () => {
      const out: string[] = [];
      const args = [...path, "--help"];
      const help = await buildProgram(quietCli(out), args);
      await assert.rejects(help.parseAsync(args, { from: "user" }), {
        code: "commander.helpDisplayed",
      });
      const lines = out.join("").trimEnd().split("\n");
      const last = lines.at(-1) ?? "";
      const match = last.match(
        /^Docs: docs\/commands\.md#([\w-]+) \(in the timebound-iam source repository\)$/,
      );
      assert.ok(match, `the help of ${path.join(" ")} ends with "${last}"`);
      assert.equal(match[1], path.join("-"));
      assert.ok(commandAnchors.has(match[1]), `docs/commands.md has no #${match[1]}`);
    });
  }
});

Deno.test("every link between the pages leads to a page and heading that exist", () => {
  const anchorsOf = new Map([...docs].map(([page, text]) => [page, anchors(text)]));
  const broken: string[] = [];
  for (const [page, text] of docs) {
    const dir = page.includes("/") ? page.slice(0, page.lastIndexOf("/") + 1) : "";
    for (const [, target] of prose(text).join("\n").matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [file, anchor] = target.split("#");
      const resolved = file
        ? new URL(file, new URL(dir, "file:///r/")).pathname.replace(/^\/r\//, "")
        : page;
      const exists = anchorsOf.has(resolved) ||
        (() => {
          try {
            Deno.statSync(new URL(resolved, root));
            return true;
          } catch {
            return false;
          }
        })();
      if (!exists) broken.push(`${page}: ${target} (no ${resolved})`);
      else if (anchor && !anchorsOf.get(resolved)?.has(anchor)) {
        broken.push(`${page}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("every TIMEBOUND_IAM_ variable of the command is documented", async () => {
  // The modules the command can load (a library module no command uses yet is not the user's).
  const graph = await readModuleGraph(["main.ts"]);
  const names = new Set<string>();
  for (const file of graph.keys()) {
    const source = await Deno.readTextFile(new URL(file, root));
    for (const [name] of source.matchAll(/TIMEBOUND_IAM_[A-Z][A-Z_]*[A-Z]/g)) names.add(name);
  }
  assert.ok(names.size > 10, [...names].join(", "));
  // Names of that form that are not environment variables.
  names.delete("TIMEBOUND_IAM_VAULT"); // the AWS SDK's $source mark of the vault's credentials
  names.delete("TIMEBOUND_IAM_VAULT_CHAIN"); // and of a role chain's from the vault's keys
  const missing = [...names].filter((name) => !new RegExp(`${name}(?![A-Z_])`).test(everything));
  assert.deepEqual(missing, []);
});

Deno.test("the documented offline examples run, and print what the docs show", async (t) => {
  // Examples of the commands that need no AWS: every complete one in a code block or code span,
  // and every `$ …` line of the troubleshooting page (run in a clean HOME, with no credentials
  // and no terminal, which is what its errors are about).
  const examples = new Set<string>();
  for (
    const [, line] of everything.matchAll(
      /(?:^|`|\$ )(timebound-iam (?:policy|services)\b[^`\n#]*)/gm,
    )
  ) {
    const example = line.trim();
    if (/[[\]…|<>]|\b[A-Z]{2,}\b/.test(example)) continue; // a synopsis, not an example
    examples.add(example);
  }
  const troubleshooting = docs.get("docs/troubleshooting.md") ?? "";
  for (const [, block] of troubleshooting.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of block.split("\n")) {
      if (line.startsWith("$ ")) examples.add(line.slice(2));
    }
  }
  assert.ok(examples.size >= 15, [...examples].join("\n"));
  for (const example of examples) {
    await t.step(example, async () => {
      const words = example.replace(" < /dev/null", "").split(" ");
      const env: Record<string, string> = {};
      while (/^[A-Z_]+=/.test(words[0])) {
        const [name, value] = words.shift()!.split("=");
        env[name] = value;
      }
      assert.equal(words.shift(), "timebound-iam", example);
      const result = await runCli(words, { env });
      const shown = shownOutput(example);
      if (shown === undefined) {
        assert.equal(result.code, 0, result.stderr);
      } else {
        assert.equal((result.stdout + result.stderr).trimEnd(), shown.trimEnd());
        assert.equal(result.code === 0, !/^error:/m.test(shown), `exit code ${result.code}`);
      }
    });
  }
});

/** The output a console block shows after `$ example`, if one does (up to the next `$`). */
function shownOutput(example: string): string | undefined {
  for (const [, block] of everything.matchAll(/```console\n([\s\S]*?)```/g)) {
    const lines = block.split("\n");
    const start = lines.indexOf(`$ ${example}`);
    if (start < 0) continue;
    const end = lines.findIndex((line, i) => i > start && line.startsWith("$ "));
    return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
  }
  return undefined;
}
