// The README is the front door: what it promises about permissions and tasks must be true.
import assert from "node:assert/strict";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));

/** The `--allow-*` flags equivalent to a config-file permission set. */
function flagsFor(set: Record<string, boolean | string[]>): string[] {
  return Object.entries(set).map(([name, value]) =>
    value === true ? `--allow-${name}` : `--allow-${name}=${(value as string[]).join(",")}`
  ).sort();
}

Deno.test("every deno install/run line in the README grants exactly the cli permission set", () => {
  const expected = flagsFor(config.permissions.cli);
  const lines = readme.split("\n").filter((line) =>
    /^(npx -y )?deno(@[\d.]+)? (install|run) .*(jsr:|main\.ts$)/.test(line)
  );
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
  const ci = Deno.readTextFileSync(new URL("../.ci/run", import.meta.url));
  // Exactly the README's command (its output goes on to the check for ignored tests).
  assert.match(ci, /^npx -y deno@2\.9\.6 task test( 2>&1 \| tee "\$log")?$/m);
});

Deno.test("the README's run example works as written", async () => {
  const line = readme.match(/e\.g\.\s+`npx -y deno@2\.9\.6 task -q run ([^`]+)`/);
  assert.ok(line, "no run example in the README");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "run", ...line[1].split(" ")],
    cwd: new URL("..", import.meta.url),
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.equal(JSON.parse(stdout).Version, "2012-10-17");
});
