// What --debug prints is neutralised like every other line: an SDK error quotes what the server
// sent, and a hostile or broken endpoint must not repaint the terminal or forge lines.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { LocalAws } from "./support/local_aws.ts";

Deno.test("--debug shows an AWS error's message with its newlines and escape codes neutralised", async () => {
  const aws = await LocalAws.start();
  try {
    aws.failNext("AssumeRole", "AccessDenied", {
      message: "Not you\n\x1b[2J\x1b[31merror: forged line\nhint: \u202eesrever",
    });
    const result = await runCli(
      ["exec", "--debug", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
      { env: aws.env() },
    );
    assert.equal(result.code, 1, result.stderr);
    // deno-lint-ignore no-control-regex -- the escape code is what it looks for
    assert.doesNotMatch(result.stderr, /[\x1b\u202e]/, "no escape code reaches stderr");
    const lines = result.stderr.trimEnd().split("\n");
    for (const line of lines) assert.match(line, /^(error|hint|debug): /, JSON.stringify(line));
    assert.match(
      result.stderr,
      /^debug: AccessDenied\S*: Not you\\u\{a\}\\u\{1b\}\[2J\\u\{1b\}\[31merror: forged line\\u\{a\}hint: \\u\{202e\}esrever$/m,
    );
    assert.match(result.stderr, /^debug: +at /m, "the stack frames follow, one a line");
  } finally {
    await aws.close();
  }
});
