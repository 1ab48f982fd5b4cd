// The MFA sessions of profiles whose keys are in the vault: cached in the vault, listed per profile,
// forgotten when the keys change; the real CLI against the local endpoint
// (tests/support/vault_world.ts).
import assert from "node:assert/strict";
import { BROKER_ROLE_NAME } from "./support/local_aws.ts";
import { addDevKeys, assertNoSecrets, filesHolding, world } from "./support/vault_world.ts";

Deno.test("an MFA session made from vault keys is cached in the vault, not the cache directory", async () => {
  await using w = await world();
  w.aws.addRole({
    roleName: BROKER_ROLE_NAME,
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${w.aws.accountId}:root` },
        Action: ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
        Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
      }],
    },
  });
  const { serialNumber: serial } = w.aws.addMfaDevice();
  await addDevKeys(w);
  await Deno.writeTextFile(`${w.home}/.aws/config`, `[profile dev]\nmfa_serial = ${serial}\n`);
  const login = await w.run([
    "mfa",
    "login",
    "--profile",
    "dev",
    "--mfa-code",
    w.aws.mfaCode(serial),
  ]);
  assert.equal(login.code, 0, login.stderr);
  for (let i = 0; i < 2; i++) {
    const grant = await w.run([
      "exec",
      "--profile",
      "dev",
      "--no-confirm",
      "-s",
      "s3:ro",
      "-t",
      "15m",
      "--",
      "true",
    ]);
    assert.equal(grant.code, 0, grant.stderr);
  }
  const tokens = w.aws.requests.filter((r) => r.action === "GetSessionToken");
  assert.equal(tokens.length, 1);
  assert.equal(tokens[0].accessKeyId, w.aws.defaultUser.accessKeyId, "signed with the vault's key");
  const cache = `${w.home}/.cache/timebound-iam`;
  assert.deepEqual(await filesHolding(cache, w.aws.issuedSecrets()), []);
  assert.deepEqual(await filesHolding(w.home, w.aws.issuedSecrets()), []);
  const status = await w.run(["mfa", "status"]);
  assert.match(status.stdout, new RegExp(`^dev\\s+${serial}\\s+until `));
  const list = await w.run(["keys", "list"]);
  assert.match(
    list.stdout,
    /\ndev +file +AKIA…\S{4} +123456789012 +user\/developer +now +until \S+ \S+ UTC\n$/,
  );
  assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey]);
});

Deno.test("keys list shows a profile's own MFA session, not one of a profile its name begins", async () => {
  await using w = await world();
  const { serialNumber: serial } = w.aws.addMfaDevice();
  for (const profile of ["dev", "dev 2", "dev-2"]) {
    const added = await w.run(["keys", "add", profile, "--from-env"], {
      AWS_ACCESS_KEY_ID: w.aws.defaultUser.accessKeyId,
      AWS_SECRET_ACCESS_KEY: w.aws.defaultUser.secretAccessKey,
    });
    assert.equal(added.code, 0, added.stderr);
  }
  await Deno.remove(`${w.home}/.aws/credentials`);
  for (const profile of ["dev 2", "dev-2"]) {
    const code = w.aws.mfaCode(serial);
    const login = await w.run(
      ["mfa", "login", "--profile", profile, "--mfa-serial", serial, "--mfa-code", code],
    );
    assert.equal(login.code, 0, login.stderr);
  }
  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  const rows = list.stdout.trim().split("\n").slice(1);
  assert.equal(rows.length, 3, list.stdout);
  assert.match(rows.find((row) => row.startsWith("dev "))!, / no$/);
  assert.match(rows.find((row) => row.startsWith("dev 2 "))!, / until \S+ \S+ UTC$/);
  assert.match(rows.find((row) => row.startsWith("dev-2 "))!, / until \S+ \S+ UTC$/);
});

Deno.test("keys add replacing a pair, and keys rotate, forget the profile's cached MFA sessions and say so", async () => {
  await using w = await world();
  const { serialNumber: serial } = w.aws.addMfaDevice();
  await addDevKeys(w);
  await Deno.writeTextFile(`${w.home}/.aws/config`, `[profile dev]\nmfa_serial = ${serial}\n`);
  const login = async () => {
    const code = w.aws.mfaCode(serial);
    const result = await w.run(["mfa", "login", "--profile", "dev", "--mfa-code", code]);
    assert.equal(result.code, 0, result.stderr);
    const status = await w.run(["mfa", "status"]);
    assert.match(status.stdout, new RegExp(`^dev\\s+${serial}\\s+until `));
  };
  const forgot = `Forgot the MFA session of profile "dev" (${serial})\n`;
  await login();
  // The same pair again replaces nothing: the session stays.
  const same = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: w.aws.defaultUser.accessKeyId,
    AWS_SECRET_ACCESS_KEY: w.aws.defaultUser.secretAccessKey,
  });
  assert.equal(same.code, 0, same.stderr);
  assert.ok(!same.stderr.includes("Forgot"), same.stderr);
  const rotated = await w.run(["keys", "rotate", "dev", "--yes"]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.ok(
    rotated.stderr.includes(`stored and working\n${forgot}Deleted the old key`),
    rotated.stderr,
  );
  assert.equal((await w.run(["mfa", "status"])).stderr, "No cached MFA sessions\n");

  await login();
  const other = w.aws.addUser({ userName: "developer-2" });
  const replaced = await w.run(["keys", "add", "dev", "--from-env", "--yes"], {
    AWS_ACCESS_KEY_ID: other.accessKeyId,
    AWS_SECRET_ACCESS_KEY: other.secretAccessKey,
  });
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.ok(replaced.stderr.endsWith(forgot), replaced.stderr);
  const list = await w.run(["keys", "list"]);
  assert.match(list.stdout, /\ndev +file +AKIA…\S{4} .* no\n$/);
  assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey, other.secretAccessKey]);
});
