// Text from outside on a log line or the terminal: control, format and separator characters
// escaped, cut to a bound that says how much was left out; `--debug`'s lines of an error, each
// neutralised, the empty ones dropped.
import assert from "node:assert/strict";
import { debugLines, logText } from "../lib/core/log_text.ts";

Deno.test("logText() escapes every character that could forge a line or disguise a name", () => {
  const cases: Array<[string, string]> = [
    ["a\r\nb", "a\\u{d}\\u{a}b"],
    ["\x1b]0;title\x07", "\\u{1b}]0;title\\u{7}"],
    ["del\x7f c1\x9b", "del\\u{7f} c1\\u{9b}"],
    ["line\u2028para\u2029", "line\\u{2028}para\\u{2029}"],
    // Right-to-left override: "txt.exe" would display as "exe.txt".
    ["\u202etxt.exe", "\\u{202e}txt.exe"],
    ["zero\u200bwidth\ufeff", "zero\\u{200b}width\\u{feff}"],
    ["lone \ud83d surrogate", "lone \\u{d83d} surrogate"],
    // Printable text outside ASCII stays as it is.
    ["bücket 🪣 ключ", "bücket 🪣 ключ"],
  ];
  for (const [text, shown] of cases) assert.equal(logText(text), shown, JSON.stringify(text));
});

Deno.test("logText() keeps text of exactly the bound whole, and says how much a cut left out", () => {
  assert.equal(logText("x".repeat(200)), "x".repeat(200));
  assert.equal(logText("x".repeat(201)), `${"x".repeat(200)}… (1 more characters)`);
  assert.equal(logText("abcd", 4), "abcd");
  assert.equal(logText("abcde", 4), "abcd… (1 more characters)");
  assert.equal(logText("y".repeat(12_345), 3), "yyy… (12,342 more characters)");
  // The bound counts what was written, before escaping: an escape is never cut in two.
  assert.equal(logText("\n\n\n\n", 2), "\\u{a}\\u{a}… (2 more characters)");
});

Deno.test("debugLines() shows an error's name and message, then each frame of its stack", () => {
  const error = new TypeError("bad\n\x1b[2Jvalue");
  const lines = debugLines(error);
  assert.equal(lines[0], "TypeError: bad\\u{a}\\u{1b}[2Jvalue");
  assert.ok(lines.length > 1, lines.join("\n"));
  for (const frame of lines.slice(1)) assert.match(frame, /^ {4}at \S/);
  assert.equal(lines.slice(1).join("\n"), error.stack!.split("\n").slice(2).join("\n"));
  // Without a message, the name alone.
  assert.equal(debugLines(new RangeError())[0], "RangeError");
});

Deno.test("debugLines() bounds each line, the frames' too", () => {
  const error = new Error("m".repeat(50));
  error.stack = `Error: ${"m".repeat(50)}\n    at ${"f".repeat(50)} (file.ts:1:1)\n   \n\n`;
  assert.deepEqual(debugLines(error, 10), [
    "Error: mmm… (47 more characters)",
    "    at fff… (61 more characters)",
  ]);
});

Deno.test("debugLines() shows no stack that does not start with the error's own line", () => {
  // A stack that someone rewrote may say anything.
  const forged = new Error("denied");
  forged.stack = "Error: granted\n    at nowhere";
  assert.deepEqual(debugLines(forged), ["Error: denied"]);
  const none = new Error("no stack");
  Object.defineProperty(none, "stack", { value: undefined });
  assert.deepEqual(debugLines(none), ["Error: no stack"]);
});

Deno.test("debugLines() shows what was thrown that is not an error as one bounded line", () => {
  assert.deepEqual(debugLines("down\x1b[0m"), ["down\\u{1b}[0m"]);
  assert.deepEqual(debugLines(42), ["42"]);
  assert.deepEqual(debugLines("z".repeat(30), 5), ["zzzzz… (25 more characters)"]);
});
