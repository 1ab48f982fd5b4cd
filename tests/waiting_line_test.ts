// A terminal that waits more than a second for AWS says so on one line, erased when the answer
// comes; a pipe never sees it.
import assert from "node:assert/strict";
import { cliCommand } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { PtySession } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

const hasScript = Deno.build.os !== "windows" && await canRun("script");
const GRANT = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"];

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

Deno.test({
  name: "a grant that waits 3 s for STS shows a counting line on the terminal, then erases it",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-" });
    const { aws } = fx;
    aws.answerAfter(3000);
    const env = { ...fx.childEnv, TERM: "xterm" };
    const [deno, args] = cliCommand(GRANT);
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    // The raw screen: each update returns to the start of the line and rewrites it.
    assert.match(pty.raw, /\rwaiting for AWS STS \(1s\)…/);
    assert.match(pty.raw, /\rwaiting for AWS STS \(2s\)…/);
    assert.doesNotMatch(pty.raw, /waiting for AWS STS \(0s\)/);
    // Erased at the end: blanks over the last line, and the cursor back at its start.
    const last = pty.raw.lastIndexOf("waiting for AWS STS");
    assert.match(pty.raw.slice(last), /…\r +\r/);
    assert.deepEqual(aws.requests.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
  },
});

Deno.test("a grant that waits for STS says nothing about it when stderr is not a terminal", async () => {
  await using fx = await startFixture({ prefix: "tbi-waiting-" });
  fx.aws.answerAfter(1500);
  const result = await fx.run(GRANT);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
});

Deno.test({
  name: "setup aws waiting for STS and IAM on a terminal says which it waits for",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-setup-" });
    const { aws } = fx;
    aws.answerAfter(1600);
    const env = { ...fx.childEnv, TERM: "xterm" };
    const [deno, args] = cliCommand(["setup", "aws", "--services", "s3"]);
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    assert.match(pty.raw, /\rwaiting for AWS STS \(1s\)…/);
    assert.match(pty.raw, /\rwaiting for AWS IAM \(1s\)…/);
    assert.match(pty.text, /Nothing was changed in AWS/);
  },
});
