// keys rotate end to end: the real CLI against the local endpoint makes a new key, waits until AWS
// takes it, deletes the old one, and leaves a working key whatever fails
// (tests/support/vault_world.ts).
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { LocalAws } from "./support/local_aws.ts";
import { assertNoSecrets, world } from "./support/vault_world.ts";

Deno.test("keys rotate: a new key that works after a delay, the old one deleted at AWS", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const keys = { AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey };
  assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
  w.aws.newAccessKeyDelayMs = 1500;
  const result = await w.run(["keys", "rotate", "dev", "--yes"]);
  assert.equal(result.code, 0, result.stderr);
  const [current] = w.aws.accessKeyIds("developer");
  assert.deepEqual(w.aws.accessKeyIds("developer"), [current]);
  assert.notEqual(current, user.accessKeyId);
  assert.match(
    result.stderr,
    new RegExp(
      `Deleted the old key AKIA…${user.accessKeyId.slice(-4)}: profile "dev" now uses AKIA…${
        current.slice(-4)
      }`,
    ),
  );
  const refused = w.aws.requests.filter((r) =>
    r.action === "GetCallerIdentity" && r.accessKeyId === current
  );
  assert.ok(refused.length >= 2, "the new key was checked again after AWS first refused it");
  const list = await w.run(["keys", "list"]);
  assert.match(list.stdout, new RegExp(`AKIA…${current.slice(-4)}`));
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("keys rotate: a user with two keys already is told which to delete, nothing changes", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const keys = { AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey };
  assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
  const second = w.aws.addUser({ userName: "developer" });
  const result = await w.run(["keys", "rotate", "dev", "--yes"]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(
      `error: Cannot create a new key: your IAM user already has two \\(AKIA…${
        user.accessKeyId.slice(-4)
      }, AKIA…${second.accessKeyId.slice(-4)}\\); nothing was changed`,
    ),
  );
  assert.deepEqual(
    w.aws.accessKeyIds("developer").sort(),
    [user.accessKeyId, second.accessKeyId].sort(),
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("keys rotate: a rollback that cannot give the vault its old key keeps the new one working", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const keys = { AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey };
  assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
  const vaultDir = `${w.home}/.local/share/timebound-iam`;
  const before = await Deno.readTextFile(`${vaultDir}/vault`);
  // The new key's check fails, not for its credentials (STS answers 503 to each of the SDK's
  // three tries), so rotate rolls back; meanwhile another process holds the vault's lock, so the
  // old key cannot be put back.
  w.aws.failNext("GetCallerIdentity", "ServiceUnavailable", { times: 3 });
  const rotating = w.run(["keys", "rotate", "dev", "--yes"]);
  while (w.aws.accessKeyIds("developer").length < 2) await delay(20);
  w.aws.answerAfter(2000);
  while (await Deno.readTextFile(`${vaultDir}/vault`) === before) await delay(20);
  const lock = await Deno.open(`${vaultDir}/.vault.lock`, { read: true, write: true });
  await lock.lock(true);
  const result = await rotating;
  lock.close();
  w.aws.answerAfter(0);
  assert.equal(result.code, 1, result.stderr);
  const [, newKey] = w.aws.accessKeyIds("developer");
  assert.ok(newKey !== undefined, "the new key, which the vault holds, was not deleted");
  assert.match(
    result.stderr,
    new RegExp(`keeps the new key AKIA…${newKey.slice(-4)}, which was not deleted`),
  );
  const list = await w.run(["keys", "list"]);
  assert.match(list.stdout, new RegExp(`AKIA…${newKey.slice(-4)}`), "the vault holds a live key");
  assertNoSecrets(w, [user.secretAccessKey]);
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("keys add and keys rotate send the profile's keys to its endpoint_url, never [default]'s", async () => {
  await using w = await world();
  await using elsewhere = await LocalAws.start();
  const { AWS_ENDPOINT_URL_STS: _sts, AWS_ENDPOINT_URL_IAM: _iam, ...env } = w.env;
  await Deno.writeTextFile(
    `${w.home}/.aws/config`,
    `[default]\nendpoint_url = ${elsewhere.url}\n\n[profile dev]\nendpoint_url = ${w.aws.url}\n`,
  );
  const user = w.aws.defaultUser;
  const added = await runCli(["keys", "add", "dev", "--from-env"], {
    env: {
      ...env,
      AWS_ACCESS_KEY_ID: user.accessKeyId,
      AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
    },
  });
  assert.equal(added.code, 0, added.stderr);
  const rotated = await runCli(["keys", "rotate", "dev", "--yes"], { env });
  assert.equal(rotated.code, 0, rotated.stderr);
  w.outputs.push(added.stderr, rotated.stderr);
  assert.deepEqual(elsewhere.requests.map((r) => r.action), []);
  assert.deepEqual(
    w.aws.requests.map((r) => r.action).filter((action) => action !== "GetCallerIdentity"),
    ["ListAccessKeys", "CreateAccessKey", "DeleteAccessKey"],
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});
