import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

// `deno test --doc` runs every example, but `console.assert` only prints when its claim is false:
// an example that documents a function must fail the suite when the function breaks.
Deno.test("every doc example in lib/ asserts with node:assert/strict, never console.assert", async () => {
  const examples: { file: string; code: string }[] = [];
  const files = (await readdir("lib", { recursive: true })).filter((name) => name.endsWith(".ts"));
  for (const name of files) {
    const file = join("lib", name);
    const text = await readFile(file, "utf8");
    for (const match of text.matchAll(/^ \* ```ts( ignore)?\n((?: \*.*\n)*?) \* ```$/gm)) {
      if (!match[1]) examples.push({ file, code: match[2] });
    }
  }
  assert.ok(examples.length >= 30, `the examples are found (${examples.length})`);
  const weak = examples.filter(({ code }) =>
    code.includes("console.assert") || !code.includes('from "node:assert/strict"')
  );
  assert.deepEqual(weak.map(({ file }) => file), []);
});

// A test that takes its expected value from the code under test cannot see that value go wrong.
// The one exception is a test that pins the constant itself to a literal value:
// `assert.deepEqual([...NAME], [...])`, `assert.deepEqual(NAME, {...})` or `assert.equal(NAME, ...)`.
Deno.test("no test imports a constant from lib/ (an oracle states its expectation itself)", async () => {
  const tests = (await readdir("tests", { recursive: true })).filter((name) =>
    name.endsWith(".ts")
  );
  assert.ok(tests.length > 10, `the tests are found (${tests.length})`);
  const found: string[] = [];
  for (const name of tests) {
    const text = await readFile(join("tests", name), "utf8");
    for (const [, names] of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"[./]*lib\/[^"]*"/g)) {
      for (const constant of names.match(/\b[A-Z][A-Z0-9_]+\b/g) ?? []) {
        const pinned = new RegExp(`assert\\.(deepEqual\\((\\[\\.\\.\\.)?|equal\\()${constant}\\b`);
        if (!pinned.test(text)) found.push(`${name}: ${constant}`);
      }
    }
  }
  assert.deepEqual(found, []);
});
