// exec --masked --calls and --learn show a name as it cannot mislead: a key's invisible
// characters as ?, on the terminal and in the file; through the real CLI against the local
// endpoint (tests/support/masked.ts). Linux and macOS only.
import assert from "node:assert/strict";
import { callsRig, cli, ignore, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";

Deno.test(
  `exec --masked --calls and --learn show a key's zero-width and direction characters as ?, on ` +
    `the terminal and in the file, so a name cannot display as another${note}`,
  { ignore },
  async () => {
    await using rig = await callsRig();
    const A = shQuote(cli.path!);
    // U+200B, U+200F, U+FEFF, U+061C, U+00AD, U+E0041 (a tag) in a key; U+200D in a source's
    // bucket (a bucket no scope can name: --learn's note quotes it). printf's octal is UTF-8.
    const script = [
      `cd ${shQuote(rig.home)}`,
      "key=$(printf 'data/a\\342\\200\\213b\\342\\200\\217c\\357\\273\\277d\\330\\234e\\302\\255f" +
      "\\363\\240\\201\\201g')",
      `${A} s3api head-object --bucket learn-bucket --key "$key" > /dev/null 2>&1`,
      "source=$(printf 'learn\\342\\200\\215bucket/k')",
      `${A} s3api copy-object --copy-source "$source" --bucket learn-bucket --key copied ` +
      "> /dev/null 2>&1",
      "exit 0",
    ].join("\n");
    const invisible = /[\u00ad\u061c\u200b-\u200f\ufeff]|\u{e0041}/u;
    const shown = await rig.exec(["--calls", "--learn", "-s", "s3:full"], script);
    assert.equal(shown.code, 0, shown.stderr);
    assert.doesNotMatch(shown.stderr, invisible);
    assert.match(shown.stderr, /^ {2}s3 HeadObject learn-bucket\/data\/a\?b\?c\?d\?e\?f\?g 1$/m);
    assert.match(shown.stderr, /^ {2}s3 CopyObject learn-bucket\/copied 1 from learn\?bucket\/k/m);
    const file = `${rig.home}/invisible.jsonl`;
    const written = await rig.exec([`--calls=${file}`, "-s", "s3:full"], script);
    assert.equal(written.code, 0, written.stderr);
    const text = await Deno.readTextFile(file);
    assert.doesNotMatch(text, invisible);
    const calls = text.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(
      calls.map((call) => [call.action, call.resource, call.source]),
      [
        ["HeadObject", "learn-bucket/data/a?b?c?d?e?f?g", undefined],
        ["CopyObject", "learn-bucket/copied", "learn?bucket/k"],
      ],
    );
  },
);
