// `deno task mutate`'s own pieces: every module it mutates and every test it runs exists, and a
// line range on the command line reaches Stryker.
import assert from "node:assert/strict";
import { applyMutant, MUTATED_MODULES, parseTarget } from "../scripts/mutate.ts";

Deno.test("every mutated module and each of its tests exists", async () => {
  const root = new URL("../", import.meta.url);
  for (const [module, tests] of Object.entries(MUTATED_MODULES)) {
    assert.ok(tests.length > 0, module);
    for (const path of [module, ...tests]) {
      const info = await Deno.stat(new URL(path, root));
      assert.ok(info.isFile, path);
    }
  }
});

Deno.test("a module may be given with a line range", () => {
  assert.deepEqual(parseTarget("lib/request/session_policy.ts:213-383"), {
    module: "lib/request/session_policy.ts",
    lines: "213-383",
  });
  assert.deepEqual(parseTarget("lib/request/ttl.ts"), {
    module: "lib/request/ttl.ts",
    lines: undefined,
  });
  assert.deepEqual(parseTarget("lib/request/ttl.ts:x"), { module: "lib/request/ttl.ts:x" });
});

Deno.test("applyMutant() replaces the mutant's range, lines and columns counted from 1", () => {
  const source = 'const a = "x";\nconst kind = "acts";\n';
  const mutant = {
    status: "Survived",
    mutatorName: "StringLiteral",
    replacement: '""',
    location: { start: { line: 2, column: 14 }, end: { line: 2, column: 20 } },
  };
  assert.equal(applyMutant(source, mutant), 'const a = "x";\nconst kind = "";\n');
});

Deno.test("deno task mutate -- MODULE takes the module after the --, as the other tasks do", async () => {
  const script = new URL("../scripts/mutate.ts", import.meta.url);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-P=test", "--no-prompt", script.href, "--", "lib/no/such.ts"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 2);
  // The module is checked (and refused) before Stryker is installed or run.
  assert.match(
    new TextDecoder().decode(stderr),
    /^error: not a mutated module: lib\/no\/such\.ts\n/,
  );
});
