// The local endpoint's federation (console sign-in) endpoint, as AWS documents it: a sign-in
// token only for an unexpired AssumeRole session it issued, no SessionDuration for role-chained
// credentials, a login URL valid 15 minutes, and a record of the session behind each token.
import assert from "node:assert/strict";
import { AssumeRoleCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { LocalAws, type LocalCredentials } from "./local_aws.ts";

const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:List*", Resource: "*" }],
});

function sts(aws: LocalAws, credentials: LocalCredentials = aws.defaultUser) {
  return new STSClient({ region: "us-east-1", endpoint: aws.url, credentials, maxAttempts: 1 });
}

interface Keys {
  AccessKeyId?: string;
  SecretAccessKey?: string;
  SessionToken?: string;
}

async function assume(aws: LocalAws, credentials?: LocalCredentials): Promise<Keys> {
  const client = sts(aws, credentials);
  try {
    const out = await client.send(
      new AssumeRoleCommand({
        RoleArn: aws.brokerRoleArn,
        RoleSessionName: "timebound-iam-test",
        DurationSeconds: 900,
        Policy: POLICY,
      }),
    );
    return out.Credentials!;
  } finally {
    client.destroy();
  }
}

function sessionJson(keys: Keys): string {
  return JSON.stringify({
    sessionId: keys.AccessKeyId,
    sessionKey: keys.SecretAccessKey,
    sessionToken: keys.SessionToken,
  });
}

async function getSigninToken(
  aws: LocalAws,
  session: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(aws.signinUrl);
  url.search = new URLSearchParams({ Action: "getSigninToken", ...extra, Session: session })
    .toString();
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

async function get(url: string): Promise<{ status: number; location: string | null }> {
  const response = await fetch(url, { redirect: "manual" });
  await response.body?.cancel();
  return { status: response.status, location: response.headers.get("location") };
}

function loginUrl(aws: LocalAws, token: string, destination: string): string {
  const params = new URLSearchParams({
    Action: "login",
    Issuer: "timebound-iam",
    Destination: destination,
    SigninToken: token,
  });
  return `${aws.signinUrl}?${params}`;
}

const HOME = "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1";

Deno.test("federation: an AssumeRole session gets a sign-in token that logs in as that session", async () => {
  await using aws = await LocalAws.start();
  const keys = await assume(aws);
  const answer = await getSigninToken(aws, sessionJson(keys));
  assert.equal(answer.status, 200, answer.body);
  const token = JSON.parse(answer.body).SigninToken as string;
  assert.match(token, /^[\w-]{100,}$/);
  const record = aws.signinRecord(token)!;
  assert.equal(record.session.accessKeyId, keys.AccessKeyId);
  assert.equal(record.session.policy, POLICY);
  assert.equal(record.session.durationSeconds, 900);
  assert.equal(record.sessionDuration, undefined);
  assert.ok(aws.issuedSecrets().includes(token), "the token counts as a secret");

  const login = await get(loginUrl(aws, token, HOME));
  assert.deepEqual(login, { status: 302, location: HOME });
  assert.equal(record.logins, 1);

  const logout = `${aws.url}/oauth?${new URLSearchParams({
    Action: "logout",
    redirect_uri: loginUrl(aws, token, HOME),
  })}`;
  assert.deepEqual(await get(logout), { status: 302, location: loginUrl(aws, token, HOME) });
  assert.equal(
    (await get(`${aws.url}/oauth?Action=logout&redirect_uri=https://evil.example/`))
      .status,
    400,
  );
});

Deno.test("federation: what it records of a request holds no secret", async () => {
  await using aws = await LocalAws.start();
  const keys = await assume(aws);
  const { body } = await getSigninToken(aws, sessionJson(keys));
  const token = JSON.parse(body).SigninToken as string;
  await get(loginUrl(aws, token, HOME));
  const recorded = JSON.stringify(aws.federationRequests);
  for (const secret of [keys.SecretAccessKey!, keys.SessionToken!, token]) {
    assert.ok(!recorded.includes(secret));
  }
  assert.deepEqual(aws.federationRequests.map((r) => [r.action, r.status, r.params.Session]), [
    ["getSigninToken", 200, "(secret)"],
    ["login", 302, undefined],
  ]);
});

Deno.test("federation: refuses a session it did not issue, as AWS does", async (t) => {
  await using aws = await LocalAws.start();
  const keys = await assume(aws);
  const cases: Array<[string, string, string]> = [
    ["no Session", "", "MissingSession"],
    ["not JSON", "{nope", "InvalidSession"],
    ["a field missing", JSON.stringify({ sessionId: keys.AccessKeyId }), "InvalidSession"],
    [
      "an unknown key",
      sessionJson({ ...keys, AccessKeyId: "ASIAUNKNOWNUNKNOWN12" }),
      "InvalidCredentials",
    ],
    [
      "a wrong secret",
      sessionJson({ ...keys, SecretAccessKey: "x".repeat(40) }),
      "InvalidCredentials",
    ],
    ["a wrong token", sessionJson({ ...keys, SessionToken: "IQoJwrong" }), "InvalidCredentials"],
    [
      "a user's own keys",
      JSON.stringify({
        sessionId: aws.defaultUser.accessKeyId,
        sessionKey: aws.defaultUser.secretAccessKey,
        sessionToken: "",
      }),
      "InvalidCredentials",
    ],
  ];
  for (const [name, session, code] of cases) {
    await t.step(name, async () => {
      const url = new URL(aws.signinUrl);
      url.searchParams.set("Action", "getSigninToken");
      if (session) url.searchParams.set("Session", session);
      const response = await fetch(url);
      await response.body?.cancel();
      assert.equal(response.status, 400);
      assert.equal(aws.federationRequests.at(-1)?.errorCode, code);
    });
  }
  await t.step("GetSessionToken's credentials", async () => {
    const client = sts(aws);
    const out = await client.send(new GetSessionTokenCommand({}));
    client.destroy();
    const answer = await getSigninToken(aws, sessionJson(out.Credentials!));
    assert.equal(answer.status, 400);
    assert.equal(aws.federationRequests.at(-1)?.errorCode, "InvalidCredentials");
  });
  assert.equal(aws.signinRecords().length, 0);
});

Deno.test("federation: refuses an expired session, and a login URL older than 15 minutes", async () => {
  await using aws = await LocalAws.start();
  const keys = await assume(aws);
  const { body } = await getSigninToken(aws, sessionJson(keys));
  const token = JSON.parse(body).SigninToken as string;
  aws.clock.advance(14 * 60_000);
  assert.equal((await get(loginUrl(aws, token, HOME))).status, 302);
  aws.clock.advance(2 * 60_000);
  assert.equal((await get(loginUrl(aws, token, HOME))).status, 400);
  assert.equal(aws.federationRequests.at(-1)?.errorCode, "ExpiredSigninToken");
  const late = await getSigninToken(aws, sessionJson(keys));
  assert.equal(late.status, 400);
  assert.equal(aws.federationRequests.at(-1)?.errorCode, "ExpiredCredentials");
});

Deno.test("federation: SessionDuration is refused for role-chained credentials only", async () => {
  await using aws = await LocalAws.start();
  const direct = await assume(aws);
  const ok = await getSigninToken(aws, sessionJson(direct), { SessionDuration: "1800" });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(aws.signinRecord(JSON.parse(ok.body).SigninToken)?.sessionDuration, 1800);
  const outOfRange = await getSigninToken(aws, sessionJson(direct), { SessionDuration: "60" });
  assert.equal(outOfRange.status, 400);

  const base = aws.addAssumedRoleCaller({ roleName: "sso-admin" });
  const chained = await assume(aws, base);
  const refused = await getSigninToken(aws, sessionJson(chained), { SessionDuration: "1800" });
  assert.equal(refused.status, 400);
  assert.equal(aws.federationRequests.at(-1)?.errorCode, "ChainedSessionDuration");
  const plain = await getSigninToken(aws, sessionJson(chained));
  assert.equal(plain.status, 200, "without SessionDuration a chained session signs in");
  assert.equal(aws.signinRecord(JSON.parse(plain.body).SigninToken)?.session.chained, true);
});

Deno.test("federation: login refuses an unknown token and a Destination outside the console", async () => {
  await using aws = await LocalAws.start();
  const keys = await assume(aws);
  const { body } = await getSigninToken(aws, sessionJson(keys));
  const token = JSON.parse(body).SigninToken as string;
  assert.equal((await get(loginUrl(aws, "made-up", HOME))).status, 400);
  assert.equal((await get(loginUrl(aws, token, "https://evil.example/"))).status, 400);
  assert.equal(
    (await get(loginUrl(aws, token, "http://us-east-1.console.aws.amazon.com/")))
      .status,
    400,
  );
  const cn = "https://cn-north-1.console.amazonaws.cn/s3/home?region=cn-north-1";
  assert.deepEqual(await get(loginUrl(aws, token, cn)), { status: 302, location: cn });
  const head = await fetch(aws.signinUrl, { method: "HEAD" });
  assert.equal(head.status, 400, "a HEAD is answered (doctor --console checks that)");
});
