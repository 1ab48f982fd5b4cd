// The federation flow's network and browser halves against real peers: the local endpoint's
// federation endpoint, and a BROWSER script that records its arguments.
import assert from "node:assert/strict";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { checkFederationEndpoint, requestSigninToken } from "../lib/aws/signin_token.ts";
import type { SessionCredentials } from "../lib/aws/broker.ts";
import { browserCommand, openInBrowser } from "../lib/delivery/browser.ts";
import { RuntimeError } from "../lib/core/errors.ts";
import { tempDir } from "./support/fixture.ts";
import { LocalAws, type LocalCredentials } from "./support/local_aws.ts";

const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:Get*", Resource: "*" }],
});

async function assume(aws: LocalAws, caller?: LocalCredentials): Promise<SessionCredentials> {
  const client = new STSClient({
    region: "us-east-1",
    endpoint: aws.url,
    credentials: caller ?? aws.defaultUser,
    maxAttempts: 1,
  });
  try {
    const { Credentials: c } = await client.send(
      new AssumeRoleCommand({
        RoleArn: aws.brokerRoleArn,
        RoleSessionName: "timebound-iam-signin",
        DurationSeconds: 900,
        Policy: POLICY,
      }),
    );
    return {
      accessKeyId: c!.AccessKeyId!,
      secretAccessKey: c!.SecretAccessKey!,
      sessionToken: c!.SessionToken!,
      expiration: c!.Expiration!,
    };
  } finally {
    client.destroy();
  }
}

async function failure(promise: Promise<unknown>): Promise<RuntimeError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RuntimeError, String(error));
    return error;
  }
  throw new Error("expected a failure");
}

/** Everything an error could show, with --debug too. */
function shown(error: RuntimeError): string {
  return [error.message, error.hint, error.detail, String(error.cause ?? "")].join("\n");
}

Deno.test("requestSigninToken() gets a token for the session, without SessionDuration", async () => {
  await using aws = await LocalAws.start();
  const credentials = await assume(aws);
  const token = await requestSigninToken(credentials, {
    federation: new URL(aws.signinUrl),
    timeoutMs: 5000,
  });
  const record = aws.signinRecord(token)!;
  assert.equal(record.session.accessKeyId, credentials.accessKeyId);
  assert.equal(record.session.policy, POLICY);
  assert.equal(aws.federationRequests[0].params.SessionDuration, undefined);
});

Deno.test("requestSigninToken() works with role-chained credentials", async () => {
  await using aws = await LocalAws.start();
  const credentials = await assume(aws, aws.addAssumedRoleCaller({ roleName: "sso-admin" }));
  const token = await requestSigninToken(credentials, {
    federation: new URL(aws.signinUrl),
    timeoutMs: 5000,
  });
  assert.equal(aws.signinRecord(token)?.session.chained, true);
});

Deno.test("requestSigninToken() failures name the endpoint and status, never the session", async (t) => {
  await using aws = await LocalAws.start();
  const credentials = await assume(aws);
  const secrets = [credentials.secretAccessKey, credentials.sessionToken];
  const federation = new URL(aws.signinUrl);
  await t.step("an expired session: HTTP 400", async () => {
    aws.clock.advance(3600_000);
    const error = await failure(requestSigninToken(credentials, { federation, timeoutMs: 5000 }));
    aws.clock.advance(-3600_000);
    assert.equal(
      error.message,
      `The federation endpoint "${aws.signinUrl}" refused the session: HTTP 400`,
    );
    assert.equal(error.exitCode, 1);
    for (const secret of secrets) assert.ok(!shown(error).includes(secret));
  });
  await t.step("no answer: a timeout", async () => {
    const resume = aws.neverAnswer();
    const started = Date.now();
    const error = await failure(requestSigninToken(credentials, { federation, timeoutMs: 300 }));
    resume();
    assert.ok(Date.now() - started < 3000);
    assert.match(
      error.message,
      /^Cannot reach the federation endpoint ".*": no answer within 0.3s$/,
    );
    for (const secret of secrets) assert.ok(!shown(error).includes(secret));
  });
  await t.step("a closed port: the network error without its URL", async () => {
    const closed = await LocalAws.start();
    const url = new URL(closed.signinUrl);
    await closed.close();
    const error = await failure(
      requestSigninToken(credentials, { federation: url, timeoutMs: 2000 }),
    );
    assert.match(
      error.message,
      /^Cannot reach the federation endpoint "http:\/\/127\.0\.0\.1:\d+\/federation": /,
    );
    assert.ok(!shown(error).includes("Session"), shown(error));
    for (const secret of secrets) assert.ok(!shown(error).includes(secret));
  });
  await t.step("an answer without a token", async () => {
    const fake: typeof fetch = () => Promise.resolve(Response.json({ nope: 1 }));
    const error = await failure(
      requestSigninToken(credentials, { federation, timeoutMs: 1000, fetch: fake }),
    );
    assert.match(error.message, /answered without a SigninToken$/);
  });
});

Deno.test("checkFederationEndpoint() sends a HEAD with a timeout", async () => {
  await using aws = await LocalAws.start();
  const federation = new URL(aws.signinUrl);
  assert.deepEqual(await checkFederationEndpoint({ federation, timeoutMs: 2000 }), {
    ok: true,
    status: 400,
  });
  assert.equal(aws.federationRequests.at(-1)?.method, "HEAD");
  const resume = aws.neverAnswer();
  assert.deepEqual(await checkFederationEndpoint({ federation, timeoutMs: 200 }), {
    ok: false,
    reason: "no answer within 0.2s",
  });
  resume();
});

Deno.test("openInBrowser() gives the URL as one argument to $BROWSER, without AWS keys", {
  // The fake browser is a shell script.
  ignore: Deno.build.os === "windows",
}, async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const script = `${dir}/browser.sh`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$#" "$@" > '${dir}/args'\nenv > '${dir}/env'\n`,
    { mode: 0o755 },
  );
  const url = "https://signin.example/federation?Action=login&SigninToken=a$b;c`d'e\"f&x=1";
  const program = await openInBrowser(url, {
    env: { BROWSER: script, PATH: "/usr/bin:/bin", AWS_SECRET_ACCESS_KEY: "base-secret" },
  });
  assert.equal(program, script);
  assert.equal(await Deno.readTextFile(`${dir}/args`), `1\n${url}\n`);
  assert.ok(!(await Deno.readTextFile(`${dir}/env`)).includes("base-secret"));

  await Deno.writeTextFile(script, "#!/bin/sh\nexit 3\n");
  const failed = await failure(openInBrowser(url, { env: { BROWSER: script } }));
  assert.equal(failed.message, `Cannot open a browser: "${script}" failed with exit code 3`);
  assert.ok(!shown(failed).includes("SigninToken"));

  const missing = await failure(openInBrowser(url, { env: { BROWSER: `${dir}/nosuch` } }));
  assert.equal(missing.message, `Cannot open a browser: "${dir}/nosuch" not found`);
  assert.match(missing.hint!, /--print/);
});

Deno.test("browserCommand() picks $BROWSER, else the platform's opener", () => {
  const url = "https://x/?a=1&b=2";
  assert.deepEqual(browserCommand(url, { env: {}, os: "linux" }), {
    program: "xdg-open",
    args: [url],
  });
  assert.deepEqual(browserCommand(url, { env: {}, os: "windows" }), {
    program: "rundll32",
    args: ["url.dll,FileProtocolHandler", url],
  });
  assert.deepEqual(browserCommand(url, { env: { BROWSER: ":w3m %s -x:lynx" }, os: "linux" }), {
    program: "w3m",
    args: [url, "-x"],
  });
});
