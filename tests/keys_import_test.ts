// keys import end to end, and the commands that point to it: plaintext keys in
// ~/.aws/credentials move into the vault and nothing else of the file changes; doctor and setup
// aws name the command; hostile names are neutralised (tests/support/vault_world.ts).
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { assertNoSecrets, filesHolding, world } from "./support/vault_world.ts";

Deno.test("keys import moves one profile's keys and leaves the rest of the file byte for byte", async () => {
  await using w = await world();
  const dev = w.aws.addUser({ userName: "dev-user" });
  const other = w.aws.addUser({ userName: "other-user" });
  const credentials = `${w.home}/.aws/credentials`;
  const first = "# my keys\n[default]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\n" +
    "aws_secret_access_key = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n";
  const middle = `; dev: the one to move\n[dev]\naws_access_key_id = ${dev.accessKeyId}\r\n` +
    `aws_secret_access_key=${dev.secretAccessKey}\nregion = eu-west-1\n\n`;
  const last = `[other]  # kept\naws_access_key_id = ${other.accessKeyId}\n` +
    `aws_secret_access_key = ${other.secretAccessKey}\n`;
  await Deno.writeTextFile(credentials, first + middle + last);
  await Deno.chmod(credentials, 0o640);

  const result = await w.run(["keys", "import", "--profile", "dev", "--yes"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /\n {2}line 8: aws_access_key_id = AKIA…\S{4}\n {2}line 9: aws_secret_access_key = \(secret\)\n/,
  );
  assert.match(result.stderr, /Removed 2 lines from ".*credentials"/);
  const after = await Deno.readTextFile(credentials);
  assert.equal(after, first + "; dev: the one to move\n[dev]\nregion = eu-west-1\n\n" + last);
  assert.equal((await Deno.stat(credentials)).mode! & 0o777, 0o640);
  const entries = [...Deno.readDirSync(`${w.home}/.aws`)].map((e) => e.name).sort();
  assert.deepEqual(entries, ["config", "credentials"], "no backup or temporary left");
  assert.deepEqual(await filesHolding(w.home, [dev.secretAccessKey]), []);

  const list = await w.run(["keys", "list"]);
  assert.match(list.stdout, /\ndev +file +AKIA…\S{4} +123456789012 +user\/dev-user/);
  // The imported profile still grants, from the vault.
  // (env prints the session's keys, as it must: its output is not collected.)
  const grant = await runCli(
    ["env", "--profile", "dev", "--no-confirm", "-s", "s3:ro", "-t", "15m"],
    { env: w.env },
  );
  assert.equal(grant.code, 0, grant.stderr);
  assert.equal(
    w.aws.requests.filter((r) => r.action === "AssumeRole")[0].accessKeyId,
    dev.accessKeyId,
  );
  assertNoSecrets(w, [dev.secretAccessKey, other.secretAccessKey]);
});

Deno.test("keys import without --yes and without a terminal changes nothing", async () => {
  await using w = await world();
  const credentials = `${w.home}/.aws/credentials`;
  const text = `[default]\naws_access_key_id = ${w.aws.defaultUser.accessKeyId}\n` +
    `aws_secret_access_key = ${w.aws.defaultUser.secretAccessKey}\n`;
  await Deno.writeTextFile(credentials, text);
  const result = await w.run(["keys", "import"]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /error: Not importing: standard input is not a terminal to ask on\nhint: pass --yes/,
  );
  assert.equal(await Deno.readTextFile(credentials), text);
});

Deno.test("keys import refuses a profile with two key pairs, rather than give the older to another profile", async () => {
  await using w = await world();
  const dev = w.aws.addUser({ userName: "dev-user" });
  const credentials = `${w.home}/.aws/credentials`;
  // New keys pasted under old ones: the SDK reads the last pair.
  const text = "[prod]\nregion = us-east-1\n" +
    "[dev]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\n" +
    "aws_secret_access_key = oooooooooooooooooooooooooooooooooooooooo\n" +
    `aws_access_key_id = ${dev.accessKeyId}\naws_secret_access_key = ${dev.secretAccessKey}\n`;
  await Deno.writeTextFile(credentials, text);
  const result = await w.run(["keys", "import", "--profile", "dev", "--yes"]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^error: Profile "dev" sets more than one key pair in ".*credentials": the file was not changed\nhint: /m,
  );
  assert.equal(await Deno.readTextFile(credentials), text);
  assertNoSecrets(w, [dev.secretAccessKey]);
});

Deno.test("keys import refuses a credentials file with another hard link, which would keep the keys", async () => {
  await using w = await world();
  const credentials = `${w.home}/.aws/credentials`;
  const text = `[default]\naws_access_key_id = ${w.aws.defaultUser.accessKeyId}\n` +
    `aws_secret_access_key = ${w.aws.defaultUser.secretAccessKey}\n`;
  await Deno.writeTextFile(credentials, text);
  await Deno.link(credentials, `${w.home}/credentials.bak`);
  const result = await w.run(["keys", "import", "--yes"]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^error: ".*credentials" has 2 hard links: its keys would stay /m);
  assert.equal(await Deno.readTextFile(credentials), text);
  assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey]);
});

Deno.test("keys add, import and list neutralise escape codes in STS's answer and the file", async () => {
  await using w = await world();
  // An endpoint (a proxy, AWS_ENDPOINT_URL_STS) that answers with escape codes in the ARN.
  const evil = w.aws.addUser({ userName: "dev\x1b]0;owned\x07\x1b[2J" });
  const keys = { AWS_ACCESS_KEY_ID: evil.accessKeyId, AWS_SECRET_ACCESS_KEY: evil.secretAccessKey };
  const added = await w.run(["keys", "add", "dev", "--from-env"], keys);
  assert.equal(added.code, 0, added.stderr);
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[other\x1b[2J]\naws_access_key_id = ${evil.accessKeyId}\n` +
      `aws_secret_access_key = ${evil.secretAccessKey}\n`,
  );
  const refused = await w.run(["keys", "import", "--all", "--yes"]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /^error: Invalid profile name "other\\u\{1b\}\[2J" in ".*credentials": nothing was changed\n/,
  );
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[other] # \x1b]0;owned\x07\naws_access_key_id = ${evil.accessKeyId}\n` +
      `aws_secret_access_key = ${evil.secretAccessKey}\n`,
  );
  const imported = await w.run(["keys", "import", "--all", "--yes"]);
  assert.equal(imported.code, 0, imported.stderr);
  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  for (const output of [added.stderr, refused.stderr, imported.stderr, list.stdout, list.stderr]) {
    assert.ok(
      !output.includes("\x1b"),
      `an escape code reached the terminal: ${JSON.stringify(output)}`,
    );
  }
  assert.match(list.stdout, /user\/dev\\u\{1b\}\]0;owned/);
});

Deno.test("doctor warns on plaintext keys with the import command, then names the vault", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${user.accessKeyId}\naws_secret_access_key = ${user.secretAccessKey}\n`,
  );
  const doctor = async () => {
    const result = await w.run(["doctor", "--profile", "dev"]);
    const line = (label: string) => {
      const index = result.stdout.split("\n").findIndex((l) => l.slice(2).startsWith(label));
      return result.stdout.split("\n").slice(index, index + 2).join("\n");
    };
    return { result, line };
  };
  const before = await doctor();
  assert.match(
    before.line("plaintext keys"),
    /^! plaintext keys +long-lived keys in .*credentials \("dev"\): any process of yours can read and use them, unscoped\n +fix: timebound-iam keys import --profile dev$/,
  );
  assert.match(
    before.line("vault"),
    /^– vault +not in use; it would be .*vault \(from TIMEBOUND_IAM_VAULT_BACKEND\)/,
  );
  assert.match(
    before.line("base credentials"),
    /profile "dev" \(keys in the shared credentials file\)/,
  );

  assert.equal((await w.run(["keys", "import", "--profile", "dev", "--yes"])).code, 0);
  const after = await doctor();
  assert.match(
    after.line("plaintext keys"),
    /^✓ plaintext keys +none in ~\/\.aws\/credentials or the environment/,
  );
  assert.match(
    after.line("vault"),
    /^✓ vault +.*vault \(from TIMEBOUND_IAM_VAULT_BACKEND\); it holds the keys of profile "dev", which grants use/,
  );
  assert.match(
    after.line("base credentials"),
    /^✓ base credentials +profile "dev" \(keys in the timebound-iam vault\)/,
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("setup aws ends with a note naming keys import while the keys are in plain sight", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[default]\naws_access_key_id = ${user.accessKeyId}\naws_secret_access_key = ${user.secretAccessKey}\n`,
  );
  const result = await w.run(["setup", "aws", "--services", "s3"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /\nNote: the long-lived keys of profile "default" are still in .*credentials, readable by any process of yours; move them into the vault with: timebound-iam keys import --profile default\n$/,
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("doctor's fix for plaintext keys quotes a hostile profile name and shows no escape code", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const pair =
    `aws_access_key_id = ${user.accessKeyId}\naws_secret_access_key = ${user.secretAccessKey}\n`;
  const credentials = `${w.home}/.aws/credentials`;
  await Deno.writeTextFile(credentials, `[dev; touch pwned]\n${pair}`);
  const one = await w.run(["doctor"]);
  assert.match(one.stdout, /\n +fix: timebound-iam keys import --profile 'dev; touch pwned'\n/);
  await Deno.writeTextFile(credentials, `[dev\x1b[2J]\n${pair}[it's]\n${pair}`);
  const two = await w.run(["doctor"]);
  assert.ok(!two.stdout.includes("\x1b"), JSON.stringify(two.stdout));
  assert.match(two.stdout, /\("dev\\u\{1b\}\[2J", "it's"\)/);
  await Deno.writeTextFile(credentials, `[it's]\n${pair}`);
  const quoted = await w.run(["doctor"]);
  assert.match(quoted.stdout, /\n +fix: timebound-iam keys import --profile 'it'\\''s'\n/);
  assertNoSecrets(w, [user.secretAccessKey]);
});
