// credential-process through a real ~/.aws/config profile read by the AWS CLI: the first call
// assumes the role, the next ones reuse the cache; an expired or corrupt entry is replaced. (Its
// own file: eleven AWS CLI runs, each starting credential-process, take a while.)
import assert from "node:assert/strict";
import { installShim, writeProfile } from "./support/cli.ts";
import { type Fixture, startFixture } from "./support/fixture.ts";
import type { LocalAws } from "./support/local_aws.ts";
import { canRun } from "./support/system_tool.ts";

const hasAws = await canRun("aws");
// The shim is a #!/bin/sh script, which the AWS CLI cannot run on Windows.
const ignore = !hasAws || Deno.build.os === "windows";

interface World {
  /** Runs `aws --profile PROFILE sts get-caller-identity` and returns the ARN. */
  callerArn(profile?: string): Promise<string>;
  /** The one cache file. */
  cacheFile(): Promise<string>;
}

/**
 * Prepares the fixture's HOME for the AWS CLI: `timebound-iam` on PATH, the base keys in profile
 * `base`, and profile `s3-reader` whose credential_process is `timebound-iam credential-process`.
 */
async function credentialProcessWorld(fx: Fixture): Promise<World> {
  const { aws, home } = fx;
  await installShim(`${home}/bin`);
  await writeProfile(home, "base", aws.defaultUser);
  await Deno.writeTextFile(
    `${home}/.aws/config`,
    "[profile s3-reader]\n" +
      `credential_process = ${home}/bin/timebound-iam credential-process -s s3:ro -t 15m ` +
      "--profile base\n",
  );
  const { AWS_ACCESS_KEY_ID: _, AWS_SECRET_ACCESS_KEY: __, ...env } = fx.childEnv;
  const cacheDir = `${home}/.cache/timebound-iam/credential-process`;
  return {
    async callerArn(profile = "s3-reader") {
      const out = await new Deno.Command("aws", {
        args: ["--profile", profile, "--endpoint-url", aws.url, "sts", "get-caller-identity"],
        env: { ...env, PATH: `${home}/bin:${env.PATH}`, XDG_CACHE_HOME: `${home}/.cache` },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.equal(stderr, "", "something was printed on stderr");
      // No issued secret is written anywhere but the cache (the AWS CLI keeps none on disk).
      fx.assertNoSecret(await Deno.readTextFile(`${home}/.aws/config`));
      return JSON.parse(new TextDecoder().decode(out.stdout)).Arn;
    },
    async cacheFile() {
      const names = [];
      for await (const entry of Deno.readDir(cacheDir)) {
        if (!entry.name.endsWith(".lock")) names.push(entry.name);
      }
      assert.equal(names.length, 1, names.join(", "));
      return `${cacheDir}/${names[0]}`;
    },
  };
}

function assumes(aws: LocalAws) {
  return aws.requests.filter((r) => r.action === "AssumeRole");
}

Deno.test({
  name: "the AWS CLI through a credential_process profile: one AssumeRole for ten calls",
  ignore,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-process-" });
    const { aws, home } = fx;
    const { callerArn, cacheFile } = await credentialProcessWorld(fx);
    const arns = [await callerArn()];
    // The next nine in threes: each is a new AWS CLI and a new credential-process.
    for (let i = 0; i < 3; i++) {
      arns.push(...await Promise.all([callerArn(), callerArn(), callerArn()]));
    }
    assert.equal(arns.length, 10);
    assert.match(
      arns[0],
      /^arn:aws:sts::123456789012:assumed-role\/timebound-iam-broker\/timebound-iam-/,
    );
    assert.deepEqual(new Set(arns).size, 1);
    assert.equal(assumes(aws).length, 1);
    assert.equal(assumes(aws)[0].params.DurationSeconds, "900");
    const file = await cacheFile();
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${home}/.cache/timebound-iam`)).mode! & 0o777, 0o700);

    // An expired entry is renewed.
    const entry = JSON.parse(await Deno.readTextFile(file));
    entry.expiresAt = new Date(Date.now() - 1000).toISOString();
    await Deno.writeTextFile(file, JSON.stringify(entry));
    const renewed = await callerArn();
    assert.notEqual(renewed, arns[0]);
    assert.equal(assumes(aws).length, 2);
    assert.equal(await callerArn(), renewed);
    assert.equal(assumes(aws).length, 2);

    // A corrupt entry is ignored and replaced.
    await Deno.writeTextFile(await cacheFile(), "{not json");
    const replaced = await callerArn();
    assert.notEqual(replaced, renewed);
    assert.equal(assumes(aws).length, 3);
    const again = JSON.parse(await Deno.readTextFile(await cacheFile()));
    assert.equal(typeof again.expiresAt, "string");
  },
});
