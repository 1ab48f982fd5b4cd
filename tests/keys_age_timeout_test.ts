// keys import when IAM's ListAccessKeys (asked only for keys list's AGE) does not answer in time:
// TIMEBOUND_IAM_TIMEOUT ends the call, the keys are stored all the same with one line that says
// their age is unknown, and AGE is their time in the vault as a lower bound. A file of its own: it waits for the timeout.
import assert from "node:assert/strict";
import { assertNoSecrets, world } from "./support/vault_world.ts";

Deno.test("keys import stores keys whose ListAccessKeys does not answer within TIMEBOUND_IAM_TIMEOUT, saying that their age is unknown and aging them as at least their time in the vault", async () => {
  await using w = await world({ env: { TIMEBOUND_IAM_TIMEOUT: "2" } });
  const user = w.aws.addUser({ userName: "far-away", createDate: new Date(0) });
  // Only ListAccessKeys waits, past the timeout: GetCallerIdentity, which checks the keys, does not.
  w.aws.answerAfter(60_000, "ListAccessKeys");
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${user.accessKeyId}\n` +
      `aws_secret_access_key = ${user.secretAccessKey}\n`,
  );
  const running = w.run(["keys", "import", "--profile", "dev", "--yes"]);
  // The clock starts when the endpoint holds ListAccessKeys, not at the CLI's (slow) start.
  const reached = await w.aws.firstHeldAt();
  const imported = await running;
  const elapsedMs = performance.now() - reached;
  assert.equal(imported.code, 0, imported.stderr);
  assert.deepEqual(
    w.aws.requests.map((r) => r.action),
    ["GetCallerIdentity", "ListAccessKeys"],
  );
  assert.match(
    imported.stderr,
    /^The age of AKIA…\w{4} is unknown \(could not reach AWS IAM: timed out\): keys list shows its time in the vault instead, as ≥…$/m,
  );
  assert.doesNotMatch(imported.stderr, /error/i);
  assert.match(imported.stderr, /Removed 3 lines from ".*credentials"/);
  // Within the timeout and a second, and not before it: the import waited for IAM, then gave up.
  assert.ok(elapsedMs <= 3000, `${Math.round(elapsedMs)} ms`);
  assert.ok(elapsedMs >= 1500, `${Math.round(elapsedMs)} ms`);

  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  const [header, row] = list.stdout.split("\n");
  assert.equal(
    row.slice(header.indexOf("AGE"), header.indexOf("MFA SESSION")).trim(),
    "≥0m",
    list.stdout,
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});
