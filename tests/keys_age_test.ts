// keys list's AGE end to end: the key's own age, learned from IAM's ListAccessKeys when keys add,
// import and rotate store it, past 90 days marked "(rotate)"; when IAM does not say (refused, or
// an item stored before the creation date was kept), the time in the vault as "≥…"
// (tests/support/vault_world.ts).
import assert from "node:assert/strict";
import { baseEnv } from "./support/cli.ts";
import { assertNoSecrets, world } from "./support/vault_world.ts";
import { openVault } from "../lib/vault/vault.ts";

const DAY_MS = 24 * 60 * 60_000;

/** The AGE cell of each profile in `keys list`'s output. */
function ages(stdout: string): Record<string, string> {
  const [header, ...rows] = stdout.trimEnd().split("\n");
  const start = header.indexOf("AGE");
  const end = header.indexOf("MFA SESSION");
  return Object.fromEntries(
    rows.map((row) => [row.split(" ")[0], row.slice(start, end).trim()]),
  );
}

Deno.test("keys import and keys add show a key's age from IAM, not the time it spent in the vault", async () => {
  await using w = await world();
  const old = w.aws.addUser({
    userName: "old-user",
    createDate: new Date(Date.now() - 400 * DAY_MS),
  });
  const recent = w.aws.addUser({
    userName: "recent-user",
    createDate: new Date(Date.now() - 30 * DAY_MS - 60_000),
  });
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${old.accessKeyId}\n` +
      `aws_secret_access_key = ${old.secretAccessKey}\n`,
  );
  const imported = await w.run(["keys", "import", "--profile", "dev", "--yes"]);
  assert.equal(imported.code, 0, imported.stderr);
  const added = await w.run(["keys", "add", "ci", "--from-env"], {
    AWS_ACCESS_KEY_ID: recent.accessKeyId,
    AWS_SECRET_ACCESS_KEY: recent.secretAccessKey,
  });
  assert.equal(added.code, 0, added.stderr);
  assert.deepEqual(
    w.aws.requests.filter((r) => r.action === "ListAccessKeys").map((r) => r.accessKeyId),
    [old.accessKeyId, recent.accessKeyId],
  );

  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(ages(list.stdout), { ci: "30d", dev: "400d (rotate)" });
  assertNoSecrets(w, [old.secretAccessKey, recent.secretAccessKey]);
});

Deno.test("keys import still stores keys whose user may not call ListAccessKeys, shown as at least their time in the vault", async () => {
  await using w = await world();
  const user = w.aws.addUser({ userName: "locked-down", createDate: new Date(0) });
  w.aws.deny("iam:ListAccessKeys", user.accessKeyId);
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${user.accessKeyId}\n` +
      `aws_secret_access_key = ${user.secretAccessKey}\n`,
  );
  const imported = await w.run(["keys", "import", "--profile", "dev", "--yes"]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.ok(w.aws.requests.some((r) => r.action === "ListAccessKeys"), "IAM was asked");
  // Quietly: the import says what it always says, nothing about IAM's refusal.
  assert.doesNotMatch(imported.stderr, /ListAccessKeys|AccessDenied|not authorized|error/i);
  assert.match(imported.stderr, /Removed 3 lines from ".*credentials"/);

  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(ages(list.stdout), { dev: "≥0m" });
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("keys add and keys import store keys at once when IAM refuses the connection, and say in one line that the key's age is unknown", async () => {
  // A long timeout: a refused connection is an answer, not a reason to wait for it.
  await using w = await world({ env: { TIMEBOUND_IAM_TIMEOUT: "60" } });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = { AWS_ENDPOINT_URL_IAM: `http://127.0.0.1:${listener.addr.port}` };
  listener.close();
  const added = w.aws.addUser({ userName: "added", createDate: new Date(0) });
  const imported = w.aws.addUser({ userName: "imported", createDate: new Date(0) });
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${imported.accessKeyId}\n` +
      `aws_secret_access_key = ${imported.secretAccessKey}\n`,
  );
  const note = (id: string) =>
    new RegExp(
      `^The age of ${id.slice(0, 4)}…${id.slice(-4)} is unknown \\(could not reach AWS IAM: ` +
        "connection refused\\): keys list shows its time in the vault instead, as ≥…$",
      "m",
    );

  for (
    const [args, user, extra] of [
      [["keys", "add", "ci", "--from-env"], added, {
        AWS_ACCESS_KEY_ID: added.accessKeyId,
        AWS_SECRET_ACCESS_KEY: added.secretAccessKey,
      }],
      [["keys", "import", "--profile", "dev", "--yes"], imported, {}],
    ] as const
  ) {
    const started = performance.now();
    const result = await w.run([...args], { ...closed, ...extra });
    const elapsedMs = performance.now() - started;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, note(user.accessKeyId));
    assert.match(result.stderr, /^Stored AKIA…/m);
    assert.doesNotMatch(result.stderr, /error/i);
    // Far below the 60 s timeout (the CLI's own start included).
    assert.ok(elapsedMs < 20_000, `${args[1]} took ${Math.round(elapsedMs)} ms`);
  }
  // IAM never answered: STS checked both pairs, and nothing else reached the endpoint.
  assert.deepEqual(w.aws.requests.map((r) => r.action), [
    "GetCallerIdentity",
    "GetCallerIdentity",
  ]);

  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(ages(list.stdout), { ci: "≥0m", dev: "≥0m" });
  assertNoSecrets(w, [added.secretAccessKey, imported.secretAccessKey]);
});

Deno.test("keys list reads items stored without a creation date, by their time in the vault", async () => {
  await using w = await world();
  const vault = await openVault({ env: { ...await baseEnv(w.home), ...w.env } });
  // The item as keys add wrote it before the key's creation date was kept.
  const item = (days: number) =>
    JSON.stringify({
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      storedAt: new Date(Date.now() - days * DAY_MS - 60_000).toISOString(),
      account: "123456789012",
      arn: "arn:aws:iam::123456789012:user/developer",
    });
  await vault.backend.set("keys/recent", item(12));
  await vault.backend.set("keys/stale", item(100));

  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(ages(list.stdout), { recent: "≥12d", stale: "≥100d (rotate)" });
  assert.match(list.stdout, /\nrecent +file +AKIA…MPLE +123456789012 +user\/developer +≥12d +no\n/);
  assertNoSecrets(w, ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAIOSFODNN7EXAMPLE"]);
});

Deno.test("keys rotate gives the profile the new key's age, not the old key's", async () => {
  await using w = await world();
  const user = w.aws.addUser({
    userName: "rotator",
    createDate: new Date(Date.now() - 400 * DAY_MS),
  });
  const added = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: user.accessKeyId,
    AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
  });
  assert.equal(added.code, 0, added.stderr);
  assert.deepEqual(ages((await w.run(["keys", "list"])).stdout), { dev: "400d (rotate)" });

  const rotated = await w.run(["keys", "rotate", "dev", "--yes"]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.deepEqual(ages((await w.run(["keys", "list"])).stdout), { dev: "now" });
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("keys list does not believe a creation date later than the time the keys were stored: a key 100 days in the vault is not shown as new", async () => {
  await using w = await world();
  const vault = await openVault({ env: { ...await baseEnv(w.home), ...w.env } });
  // What an endpoint answering ListAccessKeys with a CreateDate in the future left in the item.
  const item = (createdAt: string) =>
    JSON.stringify({
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      storedAt: new Date(Date.now() - 100 * DAY_MS - 60_000).toISOString(),
      createdAt,
    });
  await vault.backend.set("keys/future", item("9999-12-31T00:00:00.000Z"));
  await vault.backend.set("keys/later", item(new Date(Date.now() - 50 * DAY_MS).toISOString()));

  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(ages(list.stdout), { future: "≥100d (rotate)", later: "≥100d (rotate)" });
});
