import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { lintWorkflows, parseActionlintReport } from "../scripts/lint_workflows.ts";
import { FORMULA_TARGETS } from "../scripts/render_formula.ts";
import { tempDir } from "./support/fixture.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const WORKFLOWS = ["ci.yml", "release.yml"];

async function readWorkflow(name: string): Promise<string> {
  return await Deno.readTextFile(`${ROOT}/.github/workflows/${name}`);
}

async function denoTasks(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  return Object.keys(config.tasks);
}

// The `deno task NAME` commands of a workflow, with `${{ matrix.target }}` expanded to each
// target of the workflow's matrix.
function tasksRunBy(workflow: string): string[] {
  const targets = [...workflow.matchAll(/^\s*-?\s*target: (\S+)$/gm)].map((m) => m[1]);
  const names = workflow.matchAll(/deno task ((?:\$\{\{[^}]*\}\}|[^\s"'$])+)/g);
  return [...names].flatMap(([, name]) =>
    name.includes("${{")
      ? targets.map((target) => name.replace("${{ matrix.target }}", target))
      : [name]
  );
}

Deno.test("actionlint finds no problem in the workflows", async () => {
  assert.deepEqual(await lintWorkflows({ cwd: ROOT }), []);
});

Deno.test("lintWorkflows() reports a broken workflow", async () => {
  await using tmp = await tempDir("tbi-workflows-");
  const dir = tmp.path;
  await Deno.mkdir(`${dir}/.github/workflows`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/.github/workflows/broken.yml`,
    "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n" +
      "      - run: echo ${{ github.no_such_thing }}\n",
  );
  const findings = await lintWorkflows({ cwd: dir });
  assert.equal(findings.length, 1);
  assert.equal(findings[0].kind, "expression");
  assert.equal(findings[0].line, 6);
  assert.match(findings[0].message, /property "no_such_thing" is not defined/);
});

Deno.test("parseActionlintReport() accepts only the runner labels it is told about", () => {
  const report = [
    "Checking 1 workflow file(s)...",
    '.github/workflows/r.yml:43:21 label "macos-15-intel" is unknown. available labels are ' +
    '"macos-15". if it is a custom label … [ runner-label ]',
    "> 43 |             runner: macos-15-intel",
    '.github/workflows/r.yml:44:21 label "macos-99" is unknown. available … [ runner-label ]',
  ].join("\n");
  assert.deepEqual(parseActionlintReport(report, ["macos-15-intel"]).map((f) => f.line), [44]);
  assert.deepEqual(parseActionlintReport(report, []).map((f) => f.line), [43, 44]);
});

Deno.test("every deno task that the workflows run exists in deno.json", async (t) => {
  const tasks = await denoTasks();
  for (const name of WORKFLOWS) {
    await t.step(name, async () => {
      const run = tasksRunBy(await readWorkflow(name));
      assert.ok(run.length > 0, `${name} runs no deno task`);
      for (const task of run) assert.ok(tasks.includes(task), `deno task ${task} is missing`);
    });
  }
});

Deno.test("the release builds every compile target, and Homebrew's come from them", async () => {
  const compileTargets = (await denoTasks()).flatMap((task) =>
    task.startsWith("compile:") ? [task.slice("compile:".length)] : []
  );
  assert.deepEqual(compileTargets.toSorted(), [
    "aarch64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
  ]);
  const release = await readWorkflow("release.yml");
  const built = tasksRunBy(release).filter((task) => task.startsWith("compile:"));
  assert.deepEqual(built.toSorted(), compileTargets.map((t) => `compile:${t}`).toSorted());
  for (const target of Object.values(FORMULA_TARGETS).flatMap((os) => Object.values(os))) {
    assert.ok(compileTargets.includes(target), target);
  }
  assert.match(release, /id-token: write/);
  assert.match(release, /vars\.HOMEBREW_TAP/);
});

Deno.test("each release binary is built on a runner of its own OS and architecture", async () => {
  const release = await readWorkflow("release.yml");
  const pairs = [...release.matchAll(/- target: (\S+)\n\s+runner: (\S+)/g)];
  assert.equal(pairs.length, 5);
  const runnerOf: Record<string, RegExp> = {
    "x86_64-unknown-linux-gnu": /^ubuntu-[\d.]+$/,
    "aarch64-unknown-linux-gnu": /^ubuntu-[\d.]+-arm$/,
    "x86_64-apple-darwin": /^macos-\d+-intel$/,
    "aarch64-apple-darwin": /^macos-\d+$/,
    "x86_64-pc-windows-msvc": /^windows-\d+$/,
  };
  for (const [, target, runner] of pairs) {
    assert.match(runner, runnerOf[target], `${target} is built on ${runner}`);
  }
  // Each binary's keychain is tried where it was built: the native addon loads or the job fails.
  assert.match(release, /keys list --vault-backend keychain/);
});
