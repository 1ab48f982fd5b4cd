// The statements `env` prints, exactly, for each shell (the shells themselves read them in
// env_test.ts).
import assert from "node:assert/strict";
import { UsageError } from "../lib/core/errors.ts";
import {
  fishQuote,
  parseShell,
  renderExports,
  renderUnsets,
  shQuote,
} from "../lib/delivery/shell_env.ts";

Deno.test("parseShell() takes every shell, pwsh and any case or padding", async (t) => {
  const cases: Array<[string, string]> = [
    ["bash", "bash"],
    ["zsh", "zsh"],
    ["sh", "sh"],
    ["fish", "fish"],
    ["powershell", "powershell"],
    ["pwsh", "powershell"],
    [" PWSH ", "powershell"],
    [" Fish ", "fish"],
  ];
  for (const [text, shell] of cases) {
    await t.step(JSON.stringify(text), () => assert.equal(parseShell(text), shell));
  }
  await t.step("an unknown shell lists the known ones", () => {
    assert.throws(() => parseShell("tcsh"), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, 'Unknown shell "tcsh": use bash, zsh, sh, fish, powershell');
      return true;
    });
  });
});

Deno.test("renderExports() writes one quoted statement per variable", async (t) => {
  const vars = { A: "it's", B: "x\\y ‘z’" };
  const cases: Array<[Parameters<typeof renderExports>[1], string]> = [
    ["bash", "export A='it'\\''s'\nexport B='x\\y ‘z’'\n"],
    ["zsh", "export A='it'\\''s'\nexport B='x\\y ‘z’'\n"],
    ["sh", "export A='it'\\''s'\nexport B='x\\y ‘z’'\n"],
    ["fish", "set -gx A 'it\\'s';\nset -gx B 'x\\\\y ‘z’';\n"],
    ["powershell", "$Env:A = 'it''s'\n$Env:B = 'x\\y ‘‘z’’'\n"],
  ];
  for (const [shell, expected] of cases) {
    await t.step(shell, () => assert.equal(renderExports(vars, shell), expected));
  }
  await t.step("no variables, no statements", () => assert.equal(renderExports({}, "bash"), ""));
});

Deno.test("renderUnsets() removes each variable", async (t) => {
  const cases: Array<[Parameters<typeof renderUnsets>[1], string]> = [
    ["bash", "unset A B\n"],
    ["sh", "unset A B\n"],
    ["fish", "set -e A;\nset -e B;\n"],
    [
      "powershell",
      "Remove-Item Env:A -ErrorAction SilentlyContinue\n" +
      "Remove-Item Env:B -ErrorAction SilentlyContinue\n",
    ],
  ];
  for (const [shell, expected] of cases) {
    await t.step(shell, () => assert.equal(renderUnsets(["A", "B"], shell), expected));
  }
});

Deno.test("shQuote() and fishQuote() keep every character literal", () => {
  assert.equal(shQuote(""), "''");
  assert.equal(shQuote("a'b'c"), "'a'\\''b'\\''c'");
  assert.equal(shQuote('$x "y" \\ `z`'), "'$x \"y\" \\ `z`'");
  assert.equal(fishQuote(""), "''");
  assert.equal(fishQuote("a'b\\c\\'"), "'a\\'b\\\\c\\\\\\''");
});
