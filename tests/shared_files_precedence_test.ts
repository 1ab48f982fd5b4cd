// A credential setting in both ~/.aws/config and ~/.aws/credentials: timebound-iam takes
// ~/.aws/credentials' value, as the AWS SDK's credential providers do (its parseKnownFiles), so
// its own decisions (the MFA device of a profile, the source of a role chain from the vault) are
// made on the settings the SDK would sign with.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { callerArn, calls, GRANT, startMfaFixture } from "./support/mfa_fixture.ts";
import { assertNoSecrets, world } from "./support/vault_world.ts";

Deno.test("a profile's mfa_serial in both shared files: ~/.aws/credentials' device is asked for a code", async () => {
  await using fx = await startMfaFixture();
  const { aws, env, serial, home } = fx;
  const other = aws.addMfaDevice({ deviceName: "other-device" }).serialNumber;
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${aws.defaultUser.accessKeyId}\n` +
      `aws_secret_access_key = ${aws.defaultUser.secretAccessKey}\nmfa_serial = ${serial}\n`,
  );
  await Deno.writeTextFile(`${home}/.aws/config`, `[profile dev]\nmfa_serial = ${other}\n`);
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...clean } = env;
  const result = await runCli(
    [...GRANT, "--profile", "dev", "--mfa-code", aws.mfaCode(serial), "--", ...callerArn(aws)],
    { env: clean },
  );
  fx.assertNoSecret(result.stdout, result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`^MFA session for ${serial} cached until `));
  assert.deepEqual(calls(aws, "GetSessionToken").map((r) => r.params.SerialNumber), [serial]);
});

Deno.test("a role profile's source_profile in both shared files: ~/.aws/credentials' source assumes the role with its keys from the vault", async () => {
  await using w = await world();
  const base = w.aws.defaultUser;
  const stray = w.aws.addUser({ userName: "stray-user" });
  const roleArn = w.aws.addRole({ roleName: "prod-admin" }).arn;
  const added = await w.run(["keys", "add", "base", "--from-env"], {
    AWS_ACCESS_KEY_ID: base.accessKeyId,
    AWS_SECRET_ACCESS_KEY: base.secretAccessKey,
  });
  assert.equal(added.code, 0, added.stderr);
  await Deno.writeTextFile(
    `${w.home}/.aws/config`,
    `[profile prod]\nrole_arn = ${roleArn}\nsource_profile = stray\n`,
  );
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[prod]\nsource_profile = base\n\n[stray]\naws_access_key_id = ${stray.accessKeyId}\n` +
      `aws_secret_access_key = ${stray.secretAccessKey}\n`,
  );
  const since = w.aws.requests.length;
  const result = await w.run(["exec", "--profile", "prod", ...GRANT.slice(1), "--", "true"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  const sts = w.aws.requests.slice(since).filter((r) => r.service === "sts");
  assert.deepEqual(sts.map((r) => [r.action, r.params.RoleArn]).slice(0, 1), [
    ["AssumeRole", roleArn],
  ]);
  assert.equal(sts[0].accessKeyId, base.accessKeyId, "prod's role, with base's keys");
  assert.ok(!sts.some((r) => r.accessKeyId === stray.accessKeyId), "stray's keys sign nothing");
  assert.equal(sts.at(-1)?.params.RoleArn, w.aws.brokerRoleArn);
  assertNoSecrets(w, [base.secretAccessKey, stray.secretAccessKey]);
});
