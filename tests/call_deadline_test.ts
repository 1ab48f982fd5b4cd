// TIMEBOUND_IAM_TIMEOUT bounds a whole AWS call, retries included: against an STS that never
// answers, exec fails one timeout after its first request reached the endpoint, not three.
import assert from "node:assert/strict";
import { cliCommand } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";

/**
 * Runs `exec` against a local STS that never answers. The clock starts when the first request
 * reaches the endpoint, so the CLI's start-up (slow on a loaded machine) is not counted; what
 * is counted is the call, its retries, and the CLI's way out.
 */
async function execAgainstSilentSts(timeout?: string) {
  await using fx = await startFixture({ prefix: "tbi-deadline-" });
  const release = fx.aws.neverAnswer();
  try {
    const [command, args] = cliCommand(
      ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
    );
    const env = timeout === undefined
      ? fx.childEnv
      : { ...fx.childEnv, TIMEBOUND_IAM_TIMEOUT: timeout };
    const child = new Deno.Command(command, {
      args,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    const reached = await fx.aws.firstHeldAt();
    const { code, stderr } = await output;
    return {
      elapsedMs: performance.now() - reached,
      code,
      stderr: new TextDecoder().decode(stderr),
    };
  } finally {
    release();
  }
}

for (const [timeout, seconds] of [["3", 3], [undefined, 10]] as const) {
  Deno.test(`a silent STS: exec fails within the timeout + 1s (TIMEBOUND_IAM_TIMEOUT=${timeout ?? "unset"})`, async () => {
    const result = await execAgainstSilentSts(timeout);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^error: Could not reach http:\/\/127\.0\.0\.1:\d+: timed out\nhint: check the network/,
    );
    // The bound is the acceptance: one timeout and at most a second more. The lower bound shows
    // the CLI did wait for the answer. The clock starts at the endpoint, not at the spawn, so the
    // bound holds however slow a loaded machine is at starting the CLI, and the endpoint reads it
    // as the request arrives: no polling lag, which test files running beside this one stretch.
    const limit = seconds * 1000 + 1000;
    assert.ok(result.elapsedMs <= limit, `${Math.round(result.elapsedMs)} ms > ${limit} ms`);
    // The deadline starts with the call, before the SDK has signed and sent the request: the
    // endpoint sees it a little later, by as much as a loaded machine takes for that.
    assert.ok(result.elapsedMs >= seconds * 1000 - 500, `${Math.round(result.elapsedMs)} ms`);
  });
}
