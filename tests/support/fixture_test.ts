import assert from "node:assert/strict";
import { startFixture } from "./fixture.ts";

Deno.test("startFixture() gives a private HOME and the endpoint, and removes both at the end", async () => {
  let home: string;
  let url: string;
  {
    await using fx = await startFixture();
    ({ home } = fx);
    url = fx.aws.url;
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(home)).mode! & 0o777, 0o700);
    }
    assert.equal(await Deno.readTextFile(fx.path(".aws", "config")), "");
    assert.equal(fx.env.HOME, home);
    assert.equal(fx.env.AWS_ENDPOINT_URL_STS, url);
    assert.equal(fx.env.AWS_ACCESS_KEY_ID, fx.aws.defaultUser.accessKeyId);
    assert.equal(fx.childEnv.HOME, home);
    assert.equal(await Deno.readTextFile(fx.childEnv.AWS_CONFIG_FILE), "");
    assert.ok(fx.childEnv.AWS_CONFIG_FILE.startsWith(home), fx.childEnv.AWS_CONFIG_FILE);
    const result = await fx.run(["--version"]);
    assert.equal(result.code, 0, result.stderr);
  }
  await assert.rejects(Deno.stat(home), Deno.errors.NotFound);
  await assert.rejects(fetch(url), TypeError);
});

Deno.test("startFixture({ aws: false }) has no endpoint and no keys", async () => {
  await using fx = await startFixture({ aws: false, env: (home) => ({ XDG_CONFIG_HOME: home }) });
  assert.deepEqual(Object.keys(fx.env).sort(), ["HOME", "XDG_CONFIG_HOME"]);
  assert.equal(fx.env.XDG_CONFIG_HOME, fx.home);
  assert.throws(() => fx.aws, /started with aws: false/);
  fx.assertNoSecret("anything");
});

Deno.test("fx.assertNoSecret() fails on a base secret, an issued token and an MFA code sent", async () => {
  await using fx = await startFixture();
  fx.assertNoSecret("nothing secret here");
  assert.throws(
    () => fx.assertNoSecret(`key: ${fx.aws.defaultUser.secretAccessKey}`),
    /a secret or MFA code reached the output/,
  );
  const { serialNumber } = fx.aws.addMfaDevice();
  const code = fx.aws.mfaCode(serialNumber);
  const result = await fx.run(["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"], {
    env: { TIMEBOUND_IAM_MFA_SERIAL: serialNumber, TIMEBOUND_IAM_MFA_CODE: code },
  });
  assert.equal(result.code, 0, result.stderr);
  const session = fx.aws.sessions().at(-1)!;
  assert.throws(() => fx.assertNoSecret(session.sessionToken), /a secret or MFA code/);
  assert.throws(() => fx.assertNoSecret("ok", `code ${code}`), /a secret or MFA code/);
});
