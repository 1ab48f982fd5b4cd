// Text from outside on a log line or the terminal: control, format and separator characters
// escaped, cut to a bound that says how much was left out; `--debug`'s lines of an error, each
// neutralised, the empty ones dropped.
import assert from "node:assert/strict";
import { debugLines, logText, messageLine } from "../lib/core/log_text.ts";

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

/** What a reader of the log makes of a line: each `\\u{…}` is one character, the rest is itself. */
function readBack(shown: string): string {
  return shown.replace(/\\u\{([0-9a-f]+)\}/g, (_, hex) => String.fromCodePoint(parseInt(hex, 16)));
}

Deno.test("logText() escapes a backslash that would read as an escape, and no other", () => {
  const cases: Array<[string, string]> = [
    // The characters \u{a}, which would read as an escaped newline.
    ["not \\u{a} a newline", "not \\u{5c}u{a} a newline"],
    ["\\u{5c}", "\\u{5c}u{5c}"],
    // A backslash before a character that is escaped stays itself.
    ["\\\n", "\\\\u{a}"],
    // Windows paths, and backslashes that no u{ follows, read as they are.
    ["C:\\Users\\me\\.aws\\credentials", "C:\\Users\\me\\.aws\\credentials"],
    ["\\\\server\\share\\users", "\\\\server\\share\\users"],
    ["\\U{a} \\u1b \\x1b \\", "\\U{a} \\u1b \\x1b \\"],
  ];
  for (const [text, shown] of cases) assert.equal(logText(text), shown, JSON.stringify(text));
  // A cut right after a backslash leaves no escape half-made.
  assert.equal(logText("ab\\u{a}", 3), "ab\\… (4 more characters)");
});

Deno.test("logText() shows no two texts alike: every line reads back to exactly its text", () => {
  // Every text of up to 6 characters made of the pieces of an escape, a newline and a letter.
  const alphabet = ["\\", "u", "{", "}", "a", "\n", "x"];
  let texts = [""];
  for (let length = 1; length <= 6; length++) {
    texts = texts.flatMap((text) =>
      text.length === length - 1 ? alphabet.map((c) => text + c) : []
    );
    for (const text of texts) {
      const shown = logText(text);
      assert.doesNotMatch(shown, /\n/);
      assert.equal(
        readBack(shown),
        text,
        `${JSON.stringify(text)} shown as ${JSON.stringify(shown)}`,
      );
    }
  }
});

Deno.test("messageLine() keeps the escapes of the pieces a message quotes, and escapes what it quotes raw", () => {
  const message = `Invalid profile name "${logText("dev\n\\u{a}")}" in "C:\\Users\\me"`;
  assert.equal(
    messageLine(message),
    'Invalid profile name "dev\\u{a}\\u{5c}u{a}" in "C:\\Users\\me"',
  );
  assert.equal(
    readBack(messageLine(message)),
    'Invalid profile name "dev\n\\u{a}" in "C:\\Users\\me"',
  );
  assert.equal(messageLine("denied\n\x1b[2Jforged: line"), "denied\\u{a}\\u{1b}[2Jforged: line");
  assert.equal(messageLine("m".repeat(10), 4), "mmmm… (6 more characters)");
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
