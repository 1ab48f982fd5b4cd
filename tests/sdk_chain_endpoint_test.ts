// A profile whose base credentials the AWS SDK's own chain makes (a role_arn with a source_profile
// whose keys are in ~/.aws/credentials; IAM Identity Center): the SDK's inner AssumeRole (signed
// with the source's keys) and GetRoleCredentials (with the SSO token) must go where the named
// profile's own settings send that service's calls, as the outer calls do, never to [default]'s
// endpoint_url; and IAM Identity Center is asked in the profile's sso_region.
import assert from "node:assert/strict";
import { startFixture } from "./support/fixture.ts";
import { LocalAws } from "./support/local_aws.ts";
import { runCli } from "./support/cli.ts";
import { cacheSsoToken, SSO_SETTINGS } from "./support/sso_token.ts";

const GRANT = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"];

/** A fixture whose environment names no keys and no endpoint: the files decide. */
async function chainWorld(config: (roleArn: string, url: string) => string) {
  const fx = await startFixture({ prefix: "tbi-sdk-chain-" });
  const {
    AWS_ACCESS_KEY_ID: _id,
    AWS_SECRET_ACCESS_KEY: _secret,
    AWS_ENDPOINT_URL_STS: _sts,
    AWS_ENDPOINT_URL_IAM: _iam,
    ...env
  } = fx.env;
  const roleArn = fx.aws.addRole({ roleName: "prod-role" }).arn;
  const keys = fx.aws.defaultUser;
  await Deno.writeTextFile(
    fx.path(".aws", "credentials"),
    `[base]\naws_access_key_id = ${keys.accessKeyId}\n` +
      `aws_secret_access_key = ${keys.secretAccessKey}\n`,
  );
  await Deno.writeTextFile(fx.path(".aws", "config"), config(roleArn, fx.aws.url));
  return { fx, env, roleArn };
}

Deno.test("the SDK's AssumeRole for a source_profile goes to the named profile's endpoint_url, never [default]'s", async () => {
  await using elsewhere = await LocalAws.start();
  const { fx, env, roleArn } = await chainWorld((roleArn, url) =>
    `[default]\nendpoint_url = ${elsewhere.url}\n\n` +
    `[profile prod]\nrole_arn = ${roleArn}\nsource_profile = base\nendpoint_url = ${url}\n`
  );
  await using _fx = fx;
  const result = await runCli([GRANT[0], "--profile", "prod", ...GRANT.slice(1)], { env });
  fx.assertNoSecret(result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(elsewhere.requests.map((r) => [r.action, r.params.RoleArn]), []);
  assert.deepEqual(
    fx.aws.requests.map((r) => [r.action, r.params.RoleArn]),
    [
      ["AssumeRole", roleArn],
      ["GetCallerIdentity", undefined],
      ["AssumeRole", fx.aws.brokerRoleArn],
    ],
  );
});

Deno.test("a source_profile chain whose profile names no endpoint asks AWS's own, not [default]'s endpoint_url", async () => {
  await using elsewhere = await LocalAws.start();
  const { fx, env } = await chainWorld((roleArn) =>
    `[default]\nendpoint_url = ${elsewhere.url}\n\n` +
    `[profile prod]\nrole_arn = ${roleArn}\nsource_profile = base\n`
  );
  await using _fx = fx;
  // A region that does not exist: nothing leaves the machine.
  const result = await runCli([GRANT[0], "--profile", "prod", ...GRANT.slice(1)], {
    env: {
      ...env,
      AWS_REGION: "xx-nowhere-1",
      AWS_DEFAULT_REGION: "xx-nowhere-1",
      TIMEBOUND_IAM_TIMEOUT: "5",
    },
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^error: Could not reach https:\/\/sts\.xx-nowhere-1\.amazonaws\.com: .*\nhint: check the network and --region\n$/,
  );
  assert.deepEqual(elsewhere.requests.map((r) => r.action), []);
  assert.deepEqual(fx.aws.requests.map((r) => r.action), []);
});

/**
 * A local IAM Identity Center portal: answers GetRoleCredentials with `credentials` and records
 * each request's path and whether it carried the SSO access token.
 */
function startPortal(credentials?: {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}) {
  const requests: Array<{ path: string; token: boolean }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    requests.push({ path: url.pathname, token: request.headers.has("x-amz-sso_bearer_token") });
    if (credentials === undefined || url.pathname !== "/federation/credentials") {
      return new Response("{}", { status: 404 });
    }
    return Response.json({
      roleCredentials: { ...credentials, expiration: Date.now() + 3600_000 },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** An SSO profile "prod" with a cached token; `extra` ends its section. */
async function ssoWorld(
  fx: { home: string; path(...parts: string[]): string },
  options: { defaultEndpoint: string; extra: string },
) {
  await Deno.writeTextFile(
    fx.path(".aws", "config"),
    `[default]\nendpoint_url = ${options.defaultEndpoint}\n\n` +
      `[profile prod]\n${SSO_SETTINGS}${options.extra}`,
  );
  await cacheSsoToken(fx.home);
}

Deno.test("an SSO profile's role credentials come from its own endpoint_url, never [default]'s", async () => {
  await using fx = await startFixture({ prefix: "tbi-sdk-chain-" });
  const session = fx.aws.addAssumedRoleCaller({ roleName: "AWSReservedSSO_Dev" });
  await using portal = startPortal(session);
  await using elsewhere = startPortal();
  await ssoWorld(fx, { defaultEndpoint: elsewhere.url, extra: `endpoint_url = ${portal.url}\n` });
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env } = fx.env;
  const result = await runCli([GRANT[0], "--profile", "prod", ...GRANT.slice(1)], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(elsewhere.requests, []);
  assert.deepEqual(portal.requests, [{ path: "/federation/credentials", token: true }]);
  assert.deepEqual(fx.aws.requests.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
});

Deno.test("an SSO profile that names no endpoint never sends its token to [default]'s endpoint_url", async () => {
  await using fx = await startFixture({ prefix: "tbi-sdk-chain-" });
  await using elsewhere = startPortal();
  await ssoWorld(fx, { defaultEndpoint: elsewhere.url, extra: "" });
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env } = fx.env;
  // A region that does not exist: AWS's own portal is never reached from here.
  const result = await runCli([GRANT[0], "--profile", "prod", ...GRANT.slice(1)], {
    env: { ...env, AWS_REGION: "xx-nowhere-1", TIMEBOUND_IAM_TIMEOUT: "5" },
  });
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(elsewhere.requests, []);
  assert.deepEqual(fx.aws.requests, []);
});

Deno.test("a role_arn profile with an SSO source: its AssumeRole and its SSO call each go to the profile's own endpoint for that service", async () => {
  await using fx = await startFixture({ prefix: "tbi-sdk-chain-" });
  const session = fx.aws.addAssumedRoleCaller({ roleName: "AWSReservedSSO_Dev" });
  await using portal = startPortal(session);
  await using elsewhere = startPortal();
  const roleArn = fx.aws.addRole({ roleName: "prod-role" }).arn;
  await Deno.writeTextFile(
    fx.path(".aws", "config"),
    `[default]\nendpoint_url = ${elsewhere.url}\n\n[profile sso-src]\n${SSO_SETTINGS}\n` +
      `[profile prod]\nrole_arn = ${roleArn}\nsource_profile = sso-src\nservices = local\n\n` +
      `[services local]\nsso =\n  endpoint_url = ${portal.url}\n`,
  );
  await cacheSsoToken(fx.home);
  // STS's endpoint from the environment (the fixture's AWS_ENDPOINT_URL_STS), SSO's from the
  // profile's services section: the SDK's one clientConfig cannot hold both.
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env } = fx.env;
  const result = await runCli([GRANT[0], "--profile", "prod", ...GRANT.slice(1)], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(elsewhere.requests, []);
  assert.deepEqual(portal.requests, [{ path: "/federation/credentials", token: true }]);
  assert.deepEqual(
    fx.aws.requests.map((r) => [r.action, r.params.RoleArn]),
    [
      ["AssumeRole", roleArn],
      ["GetCallerIdentity", undefined],
      ["AssumeRole", fx.aws.brokerRoleArn],
    ],
  );
});

Deno.test("an SSO profile's role credentials are asked in its sso_region, not in the grant's region", async () => {
  await using fx = await startFixture({ prefix: "tbi-sdk-chain-" });
  // Regions that do not exist: AWS's own portal is never reached from here.
  await Deno.writeTextFile(
    fx.path(".aws", "config"),
    `[profile prod]\n${SSO_SETTINGS.replace("us-east-1", "yy-nowhere-2")}`,
  );
  await cacheSsoToken(fx.home);
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env } = fx.env;
  const result = await runCli([GRANT[0], "--profile", "prod", "--debug", ...GRANT.slice(1)], {
    env: { ...env, AWS_REGION: "xx-nowhere-1", TIMEBOUND_IAM_TIMEOUT: "5" },
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /portal\.sso\.yy-nowhere-2\.amazonaws\.com/);
  assert.doesNotMatch(result.stderr, /portal\.sso\.xx-nowhere-1/);
  assert.deepEqual(fx.aws.requests, []);
});

Deno.test("an SSO profile whose IAM Identity Center cannot be reached says so, naming its host only, with the network and aws sso login as the way out", async (t) => {
  // A port that was free a moment ago: nothing answers there.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = listener.addr.port;
  listener.close();
  const cases = [
    {
      name: "a closed port (the profile's endpoint_url, with a path)",
      settings: SSO_SETTINGS + `endpoint_url = http://127.0.0.1:${closed}/portal/secret-path\n`,
      where: `127.0.0.1:${closed}`,
      reason: "connection refused",
    },
    {
      name: "a host that does not resolve (an sso_region that does not exist)",
      settings: SSO_SETTINGS.replace("us-east-1", "yy-nowhere-2"),
      where: "portal.sso.yy-nowhere-2.amazonaws.com",
      reason: "host not found",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using fx = await startFixture({ prefix: "tbi-sdk-chain-" });
      await Deno.writeTextFile(fx.path(".aws", "config"), `[profile prod]\n${c.settings}`);
      await cacheSsoToken(fx.home);
      const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env } = fx.env;
      const message = `Could not reach AWS IAM Identity Center (SSO) at ${c.where} for profile ` +
        `"prod": ${c.reason}`;
      const hint =
        "check the network; if it works, sign in again with: aws sso login --profile prod";
      const result = await runCli([GRANT[0], "--profile", "prod", ...GRANT.slice(1)], {
        env: { ...env, TIMEBOUND_IAM_TIMEOUT: "5" },
      });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr, `error: ${message}\nhint: ${hint}\n`);
      assert.deepEqual(fx.aws.requests, []);
      const doctor = await runCli(["doctor", "--profile", "prod"], {
        env: { ...env, TIMEBOUND_IAM_TIMEOUT: "5" },
      });
      assert.equal(doctor.code, 1, doctor.stderr);
      assert.match(doctor.stdout, new RegExp(`✗ base credentials +${RegExp.escape(message)}\n`));
      assert.match(doctor.stdout, new RegExp(` +fix: ${RegExp.escape(hint)}\n`));
      assert.doesNotMatch(doctor.stdout + result.stderr, /secret-path|aws configure/);
    });
  }
});
