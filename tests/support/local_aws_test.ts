import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import {
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
} from "@aws-sdk/client-iam";
import { startFixture, tempDir } from "./fixture.ts";
import { LocalAws, type LocalCredentials } from "./local_aws.ts";
import { awsCliVersion, honoursEndpointVariables } from "./sdk_call.ts";
import { canonicalRequest, signString, stringToSign, toAmzDate } from "./sigv4.ts";

const ACCOUNT = "123456789012";
const BROKER = `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`;

function sts(aws: LocalAws, credentials: LocalCredentials = aws.defaultUser, maxAttempts = 1) {
  return new STSClient({ region: "us-east-1", endpoint: aws.url, credentials, maxAttempts });
}

function iam(aws: LocalAws, credentials: LocalCredentials = aws.defaultUser) {
  return new IAMClient({ region: "us-east-1", endpoint: aws.url, credentials, maxAttempts: 1 });
}

async function assume(
  aws: LocalAws,
  input: Partial<AssumeRoleCommandInput>,
  credentials: LocalCredentials = aws.defaultUser,
) {
  const client = sts(aws, credentials);
  try {
    return await client.send(
      new AssumeRoleCommand({ RoleArn: BROKER, RoleSessionName: "test-session", ...input }),
    );
  } finally {
    client.destroy();
  }
}

async function callerArn(aws: LocalAws, credentials: LocalCredentials): Promise<string> {
  const client = sts(aws, credentials);
  try {
    return (await client.send(new GetCallerIdentityCommand({}))).Arn!;
  } finally {
    client.destroy();
  }
}

/** Credentials of the session an AssumeRole output describes. */
function issued(
  out: Awaited<ReturnType<typeof assume>>,
  accountId = ACCOUNT,
): LocalCredentials {
  const c = out.Credentials!;
  return {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
    arn: out.AssumedRoleUser!.Arn!,
    accountId,
  };
}

/** Await a call that must fail with the AWS error `code` (and `message`, `status` if given). */
async function rejectsWith(
  call: Promise<unknown>,
  code: string,
  expected: { message?: string | RegExp; status?: number } = {},
): Promise<void> {
  const error = await call.then(
    () => assert.fail(`Expected ${code}, the call succeeded`),
    (e: unknown) => e as { name: string; message: string; $metadata?: { httpStatusCode?: number } },
  );
  // The SDK names modeled errors `${code}Exception`; the wire code is `code`.
  assert.ok([code, `${code}Exception`].includes(error.name), `${error.name}: ${error.message}`);
  if (typeof expected.message === "string") assert.equal(error.message, expected.message);
  if (expected.message instanceof RegExp) assert.match(error.message, expected.message);
  if (expected.status !== undefined) assert.equal(error.$metadata?.httpStatusCode, expected.status);
}

/**
 * Runs `command ARGS` (the AWS CLI, or the SDK stand-in of `sdk_call.ts`) in a clean environment
 * with empty AWS config files in a private HOME, and `env` added.
 */
async function runAws(
  command: readonly string[],
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  await using fx = await startFixture({ aws: false, prefix: "local_aws_test_" });
  const [program, ...before] = command;
  const out = await new Deno.Command(program, {
    args: [...before, ...args],
    clearEnv: true,
    env: { ...fx.childEnv, ...env },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Runs the real AWS CLI (see {@linkcode runAws}). */
function awsCli(args: string[], env: Record<string, string>) {
  return runAws(["aws"], args, env);
}

Deno.test("LocalAws serves AssumeRole and GetCallerIdentity to the AWS SDK", async (t) => {
  await using aws = await LocalAws.start();
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["s3:Get*", "s3:List*"], Resource: "*" }],
  });

  await t.step("GetCallerIdentity names the default user", async () => {
    assert.equal(await callerArn(aws, aws.defaultUser), `arn:aws:iam::${ACCOUNT}:user/developer`);
    assert.match(aws.defaultUser.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
  });

  await t.step("AssumeRole issues temporary credentials for the session", async () => {
    const before = aws.clock.now().getTime();
    const out = await assume(aws, { DurationSeconds: 900, Policy: policy, RoleSessionName: "s-1" });
    const c = out.Credentials!;
    assert.match(c.AccessKeyId!, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(c.SecretAccessKey!.length, 40);
    assert.ok(c.SessionToken!.length > 300);
    const expiresIn = c.Expiration!.getTime() - before;
    assert.ok(expiresIn > 898_000 && expiresIn <= 901_000, `expires in ${expiresIn} ms`);
    assert.match(out.AssumedRoleUser!.AssumedRoleId!, /^AROA[A-Z2-7]{17}:s-1$/);
    assert.equal(
      out.AssumedRoleUser!.Arn,
      `arn:aws:sts::${ACCOUNT}:assumed-role/timebound-iam-broker/s-1`,
    );
    assert.equal(out.PackedPolicySize, Math.ceil(policy.length / 2048 * 100));
    const session = aws.sessions().find((s) => s.accessKeyId === c.AccessKeyId);
    assert.equal(session?.policy, policy);
    assert.equal(session?.chained, false);
    assert.equal(session?.issuedTo, aws.defaultUser.arn);
  });

  await t.step("the issued credentials identify as the assumed-role session", async () => {
    const out = await assume(aws, { RoleSessionName: "s-2" });
    assert.equal(
      await callerArn(aws, issued(out)),
      `arn:aws:sts::${ACCOUNT}:assumed-role/timebound-iam-broker/s-2`,
    );
  });

  await t.step("requests are recorded with the caller and no secret", () => {
    const assumed = aws.requests.filter((r) => r.action === "AssumeRole");
    assert.equal(assumed.length, 2);
    assert.match(assumed[0].userAgent ?? "", /^aws-sdk-js\//);
    assert.deepEqual(
      { ...assumed[0], requestId: "", userAgent: "" },
      {
        service: "sts",
        action: "AssumeRole",
        params: {
          Action: "AssumeRole",
          Version: "2011-06-15",
          RoleArn: BROKER,
          RoleSessionName: "s-1",
          DurationSeconds: "900",
          Policy: policy,
        },
        accessKeyId: aws.defaultUser.accessKeyId,
        callerArn: aws.defaultUser.arn,
        status: 200,
        requestId: "",
        userAgent: "",
      },
    );
    const recorded = JSON.stringify(aws.requests);
    for (const secret of aws.issuedSecrets()) assert.ok(!recorded.includes(secret));
    assert.equal(aws.issuedSecrets().length, 1 + 2 * 2);
  });
});

Deno.test("LocalAws refuses requests that are not properly signed", async (t) => {
  await using aws = await LocalAws.start();
  const session = issued(await assume(aws, {}));

  await t.step("an unknown access key is InvalidClientTokenId", async () => {
    await rejectsWith(
      callerArn(aws, { ...aws.defaultUser, accessKeyId: "AKIAUNKNOWNUNKNOWN00" }),
      "InvalidClientTokenId",
      { message: "The security token included in the request is invalid.", status: 403 },
    );
  });

  await t.step("a wrong secret is SignatureDoesNotMatch", async () => {
    await rejectsWith(
      callerArn(aws, { ...aws.defaultUser, secretAccessKey: "x".repeat(40) }),
      "SignatureDoesNotMatch",
      { message: /^The request signature we calculated does not match/, status: 403 },
    );
  });

  await t.step("session keys without their token are InvalidClientTokenId", async () => {
    await rejectsWith(
      callerArn(aws, { ...session, sessionToken: undefined }),
      "InvalidClientTokenId",
      { status: 403 },
    );
    await rejectsWith(
      callerArn(aws, { ...session, sessionToken: "IQoJwrong" }),
      "InvalidClientTokenId",
    );
  });

  await t.step("an unsigned request is MissingAuthenticationToken in AWS's XML", async () => {
    const response = await fetch(aws.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: "Action=GetCallerIdentity&Version=2011-06-15",
    });
    const body = await response.text();
    const requestId = response.headers.get("x-amzn-RequestId")!;
    assert.equal(response.status, 403);
    assert.match(requestId, /^[0-9a-f-]{36}$/);
    assert.equal(
      body.trim(),
      `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
        `<Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token` +
        `</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  });

  await t.step("issued credentials expire by the endpoint's clock", async () => {
    assert.equal(await callerArn(aws, session), session.arn);
    aws.clock.advance(3600_000);
    await rejectsWith(callerArn(aws, session), "ExpiredToken", {
      message: "The security token included in the request is expired",
      status: 403,
    });
    assert.equal(await callerArn(aws, aws.defaultUser), aws.defaultUser.arn);
  });
});

Deno.test("LocalAws applies AWS's AssumeRole limits", async (t) => {
  await using aws = await LocalAws.start();
  aws.addRole({ roleName: "long", maxSessionDuration: 43200 });
  const longRole = `arn:aws:iam::${ACCOUNT}:role/long`;
  const bigPolicy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "x".repeat(2100) }],
  });
  const cases: [string, Partial<AssumeRoleCommandInput>, string, string][] = [
    [
      "DurationSeconds below 900",
      { DurationSeconds: 600 },
      "ValidationError",
      "1 validation error detected: Value '600' at 'durationSeconds' failed to satisfy " +
      "constraint: Member must have value greater than or equal to 900",
    ],
    [
      "DurationSeconds above 43200",
      { RoleArn: longRole, DurationSeconds: 43201 },
      "ValidationError",
      "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy " +
      "constraint: Member must have value less than or equal to 43200",
    ],
    [
      "DurationSeconds above the role's MaxSessionDuration",
      { DurationSeconds: 7200 },
      "ValidationError",
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    ],
    [
      "a one-character RoleSessionName",
      { RoleSessionName: "x" },
      "ValidationError",
      "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy " +
      "constraint: Member must have length greater than or equal to 2",
    ],
    [
      "a RoleSessionName of 65 characters",
      { RoleSessionName: "a".repeat(65) },
      "ValidationError",
      `1 validation error detected: Value '${"a".repeat(65)}' at 'roleSessionName' failed to ` +
      "satisfy constraint: Member must have length less than or equal to 64",
    ],
    [
      "a RoleSessionName with a space",
      { RoleSessionName: "my session" },
      "ValidationError",
      "1 validation error detected: Value 'my session' at 'roleSessionName' failed to satisfy " +
      "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    ],
    [
      "a role that does not exist",
      { RoleArn: `arn:aws:iam::${ACCOUNT}:role/missing` },
      "AccessDenied",
      `User: arn:aws:iam::${ACCOUNT}:user/developer is not authorized to perform: ` +
      `sts:AssumeRole on resource: arn:aws:iam::${ACCOUNT}:role/missing`,
    ],
    [
      "a session policy that is not JSON",
      { Policy: "{not json" },
      "MalformedPolicyDocument",
      "The policy is not in the valid JSON format.",
    ],
    [
      "a session policy over 2,048 characters",
      { Policy: bigPolicy },
      "PackedPolicyTooLarge",
      `Packed policy consumes ${
        Math.ceil(bigPolicy.length / 2048 * 100)
      }% of allotted space, please use smaller policy.`,
    ],
  ];
  for (const [name, input, code, message] of cases) {
    await t.step(`${name} is ${code}`, async () => {
      await rejectsWith(assume(aws, input), code, {
        message,
        status: code === "AccessDenied" ? 403 : 400,
      });
      assert.equal(aws.requests.at(-1)?.errorCode, code);
    });
  }

  await t.step("whitespace does not count against the 2,048 characters", async () => {
    const statement = { Effect: "Allow", Action: "s3:GetObject", Resource: "x".repeat(1900) };
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [statement] }, null, 40);
    assert.ok(policy.length > 2048);
    const out = await assume(aws, { Policy: policy });
    assert.ok(out.PackedPolicySize! <= 100);
  });

  await t.step("role chaining is capped at one hour", async () => {
    const base = aws.addAssumedRoleCaller({ roleName: "sso-admin", sessionName: "alice" });
    assert.match(base.accessKeyId, /^ASIA/);
    assert.equal(
      await callerArn(aws, base),
      `arn:aws:sts::${ACCOUNT}:assumed-role/sso-admin/alice`,
    );
    await rejectsWith(
      assume(aws, { RoleArn: longRole, DurationSeconds: 7200 }, base),
      "ValidationError",
      {
        message:
          "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
      },
    );
    const out = await assume(aws, { RoleArn: longRole, DurationSeconds: 3600 }, base);
    const session = aws.sessions().find((s) => s.accessKeyId === out.Credentials!.AccessKeyId);
    assert.equal(session?.chained, true);
    assert.equal(session?.issuedTo, base.arn);
  });

  await t.step("sessions issued by AssumeRole chain too", async () => {
    const first = issued(await assume(aws, { RoleArn: longRole, DurationSeconds: 7200 }));
    await rejectsWith(
      assume(aws, { RoleArn: longRole, DurationSeconds: 3601 }, first),
      "ValidationError",
      { message: /role chaining/ },
    );
  });
});

Deno.test("LocalAws evaluates trust policies", async (t) => {
  await using aws = await LocalAws.start();
  const bob = aws.addUser({ userName: "bob" });
  const stranger = aws.addUser({ userName: "eve", accountId: "210987654321" });
  const trust = (aws: unknown, extra: Record<string, unknown>[] = []) => ({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: aws }, Action: "sts:AssumeRole" }, ...extra],
  });
  const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
  aws.addRole({ roleName: "for-bob", trustPolicy: trust(bob.arn) });
  aws.addRole({ roleName: "for-account-id", trustPolicy: trust([ACCOUNT]) });
  aws.addRole({ roleName: "for-stranger", trustPolicy: trust("arn:aws:iam::210987654321:root") });
  aws.addRole({ roleName: "for-broker-sessions", trustPolicy: trust([BROKER]) });
  aws.addRole({
    roleName: "deny-bob",
    trustPolicy: trust(`arn:aws:iam::${ACCOUNT}:root`, [
      { Effect: "Deny", Principal: { AWS: bob.arn }, Action: ["sts:AssumeRole", "sts:TagSession"] },
    ]),
  });
  aws.addRole({
    roleName: "service-only",
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { Service: "ec2.amazonaws.com" },
        Action: "sts:AssumeRole",
      }],
    },
  });
  const brokerSession = issued(await assume(aws, {}));
  const cases: [string, LocalCredentials, boolean][] = [
    ["for-bob", bob, true],
    ["for-bob", aws.defaultUser, false],
    ["for-account-id", aws.defaultUser, true],
    ["for-account-id", stranger, false],
    ["for-stranger", stranger, true],
    ["for-stranger", bob, false],
    ["for-broker-sessions", brokerSession, true],
    ["for-broker-sessions", bob, false],
    ["deny-bob", bob, false],
    ["deny-bob", aws.defaultUser, true],
    ["service-only", aws.defaultUser, false],
  ];
  for (const [role, caller, allowed] of cases) {
    await t.step(`${role} ${allowed ? "trusts" : "does not trust"} ${caller.arn}`, async () => {
      const call = assume(aws, { RoleArn: roleArn(role) }, caller);
      if (allowed) {
        const out = await call;
        assert.match(out.AssumedRoleUser!.Arn!, new RegExp(`assumed-role/${role}/test-session$`));
      } else {
        await rejectsWith(call, "AccessDenied", {
          message: `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on ` +
            `resource: ${roleArn(role)}`,
          status: 403,
        });
      }
    });
  }
});

Deno.test("LocalAws records SourceIdentity and tags, checks them as AWS does, and asks the trust policy", async (t) => {
  await using aws = await LocalAws.start();
  const tags = [
    { Key: "timebound-iam:client", Value: "cli" },
    { Key: "timebound-iam:scopes", Value: "s3:ro dynamodb:full" },
  ];
  await t.step("both are recorded on the session and echoed", async () => {
    const out = await assume(aws, { SourceIdentity: "alice@example.com", Tags: tags });
    assert.equal(out.SourceIdentity, "alice@example.com");
    const session = aws.sessions().find((s) => s.accessKeyId === out.Credentials!.AccessKeyId);
    assert.equal(session?.sourceIdentity, "alice@example.com");
    assert.deepEqual(session?.tags, {
      "timebound-iam:client": "cli",
      "timebound-iam:scopes": "s3:ro dynamodb:full",
    });
    // 62 characters of tag keys and values: 3.03% of 2,048, rounded up.
    assert.equal(out.PackedPolicySize, 4);
  });
  const invalid: Array<[string, Partial<AssumeRoleCommandInput>, RegExp]> = [
    [
      "a one-letter SourceIdentity",
      { SourceIdentity: "a" },
      /at 'sourceIdentity'.*length greater than or equal to 2/,
    ],
    [
      "a SourceIdentity with a space",
      { SourceIdentity: "a b" },
      /at 'sourceIdentity'.*regular expression pattern/,
    ],
    [
      "a 65-character SourceIdentity",
      { SourceIdentity: "x".repeat(65) },
      /less than or equal to 64/,
    ],
    [
      "a tag value with a comma",
      { Tags: [{ Key: "k", Value: "s3:ro,ec2:ro" }] },
      /at 'tags.1.member.value'.*pattern/,
    ],
    [
      "a 257-character tag value",
      { Tags: [{ Key: "k", Value: "x".repeat(257) }] },
      /at 'tags.1.member.value'.*256/,
    ],
    [
      "a 129-character tag key",
      { Tags: [{ Key: "k".repeat(129), Value: "v" }] },
      /at 'tags.1.member.key'.*128/,
    ],
  ];
  for (const [name, input, message] of invalid) {
    await t.step(`${name} is a ValidationError`, async () => {
      await rejectsWith(assume(aws, input), "ValidationError", { message, status: 400 });
    });
  }
  await t.step("tags share the packed budget with the policy", async () => {
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:" + "x".repeat(1900)], Resource: "*" }],
    });
    await assume(aws, { Policy: policy });
    await rejectsWith(
      assume(aws, { Policy: policy, Tags: [{ Key: "k", Value: "v".repeat(200) }] }),
      "PackedPolicyTooLarge",
    );
  });
  const old = `arn:aws:iam::${ACCOUNT}:role/old`;
  aws.addRole({
    roleName: "old",
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: "sts:AssumeRole",
      }],
    },
  });
  const cases: Array<[string, Partial<AssumeRoleCommandInput>, string | undefined]> = [
    ["neither", {}, undefined],
    ["a SourceIdentity", { SourceIdentity: "alice" }, "sts:SetSourceIdentity"],
    ["tags", { Tags: tags }, "sts:TagSession"],
  ];
  for (const [what, input, refused] of cases) {
    await t.step(`a role trusting only sts:AssumeRole, with ${what}`, async () => {
      const call = assume(aws, { RoleArn: old, ...input });
      if (refused === undefined) return void await call;
      await rejectsWith(call, "AccessDenied", {
        message: `User: ${aws.defaultUser.arn} is not authorized to perform: ${refused} on ` +
          `resource: ${old}`,
        status: 403,
      });
    });
  }
});

Deno.test("LocalAws: a caller whose own permissions lack sts:SetSourceIdentity or sts:TagSession is refused them, others are not", async (t) => {
  await using aws = await LocalAws.start();
  const sso = aws.addAssumedRoleCaller({ roleName: "AWSReservedSSO_Dev", sessionName: "alice" });
  const ssoRole = `arn:aws:iam::${ACCOUNT}:role/AWSReservedSSO_Dev`;
  const undeny = aws.deny("sts:SetSourceIdentity", ssoRole);
  aws.deny("sts:TagSession", ssoRole);
  const tags = [{ Key: "client", Value: "cli" }];
  await t.step("with a SourceIdentity: refused, naming sts:SetSourceIdentity", async () => {
    await rejectsWith(assume(aws, { SourceIdentity: "alice" }, sso), "AccessDenied", {
      message: `User: ${sso.arn} is not authorized to perform: sts:SetSourceIdentity on ` +
        `resource: ${BROKER}`,
      status: 403,
    });
  });
  await t.step("with tags: refused, naming sts:TagSession", async () => {
    await rejectsWith(assume(aws, { Tags: tags }, sso), "AccessDenied", {
      message: `User: ${sso.arn} is not authorized to perform: sts:TagSession on ` +
        `resource: ${BROKER}`,
      status: 403,
    });
  });
  await t.step("with neither: granted", async () => {
    await assume(aws, {}, sso);
  });
  await t.step("another caller: granted with both", async () => {
    const granted = await assume(aws, { SourceIdentity: "bob", Tags: tags });
    assert.equal(granted.SourceIdentity, "bob");
  });
  await t.step("once the denial is lifted: granted", async () => {
    undeny();
    await assume(aws, { SourceIdentity: "alice" }, sso);
  });
});

Deno.test("LocalAws evaluates a trust policy's conditions on the request's tags and SourceIdentity", async (t) => {
  await using aws = await LocalAws.start({ brokerRole: false });
  const role = `arn:aws:iam::${ACCOUNT}:role/picky`;
  const root = { AWS: `arn:aws:iam::${ACCOUNT}:root` };
  aws.addRole({
    roleName: "picky",
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: root, Action: "sts:AssumeRole" },
        {
          Effect: "Allow",
          Principal: root,
          Action: "sts:TagSession",
          Condition: {
            StringLike: { "aws:RequestTag/client": ["cli", "mcp:known/*"] },
            "ForAllValues:StringEquals": { "aws:TagKeys": ["client", "scopes"] },
          },
        },
        {
          Effect: "Allow",
          Principal: root,
          Action: "sts:SetSourceIdentity",
          Condition: { StringLike: { "sts:SourceIdentity": "*@example.com" } },
        },
      ],
    },
  });
  const allowed: Array<[string, Partial<AssumeRoleCommandInput>]> = [
    ["an allowed tag value", { Tags: [{ Key: "client", Value: "mcp:known/1.0" }] }],
    ["two allowed keys", {
      Tags: [{ Key: "client", Value: "cli" }, { Key: "scopes", Value: "s3:ro" }],
    }],
    ["an allowed SourceIdentity", { SourceIdentity: "alice@example.com" }],
  ];
  for (const [what, input] of allowed) {
    await t.step(`${what} is allowed`, async () => {
      await assume(aws, { RoleArn: role, ...input });
    });
  }
  const refused: Array<[string, Partial<AssumeRoleCommandInput>, string]> = [
    ["a tag value the condition does not match", {
      Tags: [{ Key: "client", Value: "mcp:other/1.0" }],
    }, "sts:TagSession"],
    ["a tag key outside aws:TagKeys", {
      Tags: [{ Key: "client", Value: "cli" }, { Key: "extra", Value: "x" }],
    }, "sts:TagSession"],
    [
      "a SourceIdentity the condition does not match",
      { SourceIdentity: "mallory" },
      "sts:SetSourceIdentity",
    ],
  ];
  for (const [what, input, action] of refused) {
    await t.step(`${what} is refused for ${action}`, async () => {
      await rejectsWith(assume(aws, { RoleArn: role, ...input }), "AccessDenied", {
        message: `User: ${aws.defaultUser.arn} is not authorized to perform: ${action} on ` +
          `resource: ${role}`,
        status: 403,
      });
    });
  }
  await t.step("a condition on aws:AssumeRole's own statement sees the tags too", async () => {
    aws.addRole({
      roleName: "tagged-only",
      trustPolicy: {
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Principal: root,
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Condition: { StringEquals: { "aws:RequestTag/client": "cli" } },
        }],
      },
    });
    const only = `arn:aws:iam::${ACCOUNT}:role/tagged-only`;
    await assume(aws, { RoleArn: only, Tags: [{ Key: "client", Value: "cli" }] });
    await rejectsWith(assume(aws, { RoleArn: only }), "AccessDenied", {
      message: `User: ${aws.defaultUser.arn} is not authorized to perform: sts:AssumeRole on ` +
        `resource: ${only}`,
      status: 403,
    });
  });
});

Deno.test("LocalAws serves IAM role actions", async (t) => {
  await using aws = await LocalAws.start({ brokerRole: false });
  const client = iam(aws);
  const trust = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { AWS: aws.defaultUser.arn },
      Action: "sts:AssumeRole",
    }],
  });
  const permissions = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }],
  });
  try {
    await t.step("CreateRole creates an assumable role", async () => {
      const out = await client.send(
        new CreateRoleCommand({
          RoleName: "timebound-iam-broker",
          AssumeRolePolicyDocument: trust,
          Description: "broker",
        }),
      );
      assert.equal(out.Role!.Arn, BROKER);
      assert.equal(out.Role!.MaxSessionDuration, 3600);
      assert.match(out.Role!.RoleId!, /^AROA/);
      assert.equal(decodeURIComponent(out.Role!.AssumeRolePolicyDocument!), trust);
      assert.equal(aws.role("timebound-iam-broker")?.description, "broker");
      const session = await assume(aws, {});
      assert.equal(session.AssumedRoleUser!.Arn!.split("/")[1], "timebound-iam-broker");
    });

    await t.step("CreateRole again is EntityAlreadyExists", async () => {
      await rejectsWith(
        client.send(
          new CreateRoleCommand({
            RoleName: "timebound-iam-broker",
            AssumeRolePolicyDocument: trust,
          }),
        ),
        "EntityAlreadyExistsException",
        { message: "Role with name timebound-iam-broker already exists.", status: 409 },
      );
    });

    await t.step("CreateRole with invalid JSON is MalformedPolicyDocument", async () => {
      await rejectsWith(
        client.send(new CreateRoleCommand({ RoleName: "bad", AssumeRolePolicyDocument: "{" })),
        "MalformedPolicyDocumentException",
        { message: "This policy contains invalid Json", status: 400 },
      );
    });

    await t.step("GetRole returns the role and NoSuchEntity for a missing one", async () => {
      const out = await client.send(new GetRoleCommand({ RoleName: "timebound-iam-broker" }));
      assert.equal(out.Role!.RoleName, "timebound-iam-broker");
      assert.equal(out.Role!.Path, "/");
      assert.ok(out.Role!.CreateDate instanceof Date);
      await rejectsWith(
        client.send(new GetRoleCommand({ RoleName: "nope" })),
        "NoSuchEntityException",
        { message: "The role with name nope cannot be found.", status: 404 },
      );
    });

    await t.step("UpdateRole changes MaxSessionDuration within 3600..43200", async () => {
      await client.send(
        new UpdateRoleCommand({ RoleName: "timebound-iam-broker", MaxSessionDuration: 43200 }),
      );
      assert.equal(aws.role("timebound-iam-broker")?.maxSessionDuration, 43200);
      const out = await assume(aws, { DurationSeconds: 43200 });
      assert.ok(out.Credentials!.Expiration!.getTime() - Date.now() > 43000_000);
      await rejectsWith(
        client.send(
          new UpdateRoleCommand({ RoleName: "timebound-iam-broker", MaxSessionDuration: 100 }),
        ),
        "ValidationError",
        {
          message: "1 validation error detected: Value '100' at 'maxSessionDuration' failed to " +
            "satisfy constraint: Member must have value greater than or equal to 3600",
        },
      );
      await rejectsWith(
        client.send(
          new UpdateRoleCommand({ RoleName: "timebound-iam-broker", MaxSessionDuration: 43201 }),
        ),
        "ValidationError",
        { message: /less than or equal to 43200$/ },
      );
    });

    await t.step("UpdateAssumeRolePolicy changes who may assume the role", async () => {
      const other = JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/someone-else` },
          Action: ["sts:AssumeRole"],
        }],
      });
      await client.send(
        new UpdateAssumeRolePolicyCommand({
          RoleName: "timebound-iam-broker",
          PolicyDocument: other,
        }),
      );
      await rejectsWith(assume(aws, {}), "AccessDenied");
      await client.send(
        new UpdateAssumeRolePolicyCommand({
          RoleName: "timebound-iam-broker",
          PolicyDocument: trust,
        }),
      );
      await assume(aws, {});
    });

    await t.step("inline role policies round-trip", async () => {
      await client.send(
        new PutRolePolicyCommand({
          RoleName: "timebound-iam-broker",
          PolicyName: "broker-permissions",
          PolicyDocument: permissions,
        }),
      );
      const got = await client.send(
        new GetRolePolicyCommand({
          RoleName: "timebound-iam-broker",
          PolicyName: "broker-permissions",
        }),
      );
      assert.equal(got.PolicyDocument, encodeURIComponent(permissions));
      const listed = await client.send(
        new ListRolePoliciesCommand({ RoleName: "timebound-iam-broker" }),
      );
      assert.deepEqual(listed.PolicyNames, ["broker-permissions"]);
      assert.equal(listed.IsTruncated, false);
      await client.send(
        new DeleteRolePolicyCommand({
          RoleName: "timebound-iam-broker",
          PolicyName: "broker-permissions",
        }),
      );
      await rejectsWith(
        client.send(
          new GetRolePolicyCommand({
            RoleName: "timebound-iam-broker",
            PolicyName: "broker-permissions",
          }),
        ),
        "NoSuchEntityException",
        { message: "The role policy with name broker-permissions cannot be found.", status: 404 },
      );
    });

    await t.step("IAM calls are recorded with the caller and the parameters", () => {
      const put = aws.requests.find((r) => r.action === "PutRolePolicy");
      assert.equal(put?.service, "iam");
      assert.equal(put?.callerArn, aws.defaultUser.arn);
      assert.equal(put?.params.PolicyDocument, permissions);
      const failed = aws.requests.find((r) => r.action === "GetRole" && r.status === 404);
      assert.equal(failed?.errorCode, "NoSuchEntity");
    });
  } finally {
    client.destroy();
  }
});

Deno.test("LocalAws injects faults and denials", async (t) => {
  await using aws = await LocalAws.start();

  await t.step("failNext AccessDenied fails the next AssumeRole only", async () => {
    aws.failNext("AssumeRole", "AccessDenied");
    await rejectsWith(assume(aws, {}), "AccessDenied", {
      message: `User: ${aws.defaultUser.arn} is not authorized to perform: sts:AssumeRole on ` +
        `resource: ${BROKER}`,
      status: 403,
    });
    await assume(aws, {});
  });

  await t.step("Throttling is retried by the SDK as many times as it is injected", async () => {
    aws.failNext("AssumeRole", "Throttling", { times: 2 });
    const client = sts(aws, aws.defaultUser, 3);
    try {
      await client.send(new AssumeRoleCommand({ RoleArn: BROKER, RoleSessionName: "retried" }));
    } finally {
      client.destroy();
    }
    const codes = aws.requests.filter((r) => r.params.RoleSessionName === "retried")
      .map((r) => r.errorCode ?? r.status);
    assert.deepEqual(codes, ["Throttling", "Throttling", 200]);
    aws.failNext("AssumeRole", "Throttling");
    await rejectsWith(assume(aws, {}), "Throttling", { message: "Rate exceeded", status: 400 });
  });

  await t.step("ExpiredToken, InvalidClientTokenId and any other code", async () => {
    aws.failNext("GetCallerIdentity", "ExpiredToken");
    await rejectsWith(callerArn(aws, aws.defaultUser), "ExpiredToken", {
      message: "The security token included in the request is expired",
      status: 403,
    });
    aws.failNext("*", "InvalidClientTokenId");
    await rejectsWith(assume(aws, {}), "InvalidClientTokenId", { status: 403 });
    aws.failNext("AssumeRole", "RegionDisabledException", { message: "STS is not activated" });
    await rejectsWith(assume(aws, {}), "RegionDisabledException", {
      message: "STS is not activated",
      status: 403,
    });
    aws.failNext("AssumeRole", "Weird", { message: "Odd", status: 418 });
    await rejectsWith(assume(aws, {}), "Weird", { message: "Odd", status: 418 });
  });

  await t.step("deny() refuses an IAM action with AWS's wording until lifted", async () => {
    const lift = aws.deny("iam:GetRole", aws.defaultUser.accessKeyId);
    const client = iam(aws);
    try {
      await rejectsWith(
        client.send(new GetRoleCommand({ RoleName: "timebound-iam-broker" })),
        "AccessDenied",
        {
          message: `User: ${aws.defaultUser.arn} is not authorized to perform: iam:GetRole on ` +
            "resource: role timebound-iam-broker because no identity-based policy allows the " +
            "iam:GetRole action",
          status: 403,
        },
      );
      lift();
      await client.send(new GetRoleCommand({ RoleName: "timebound-iam-broker" }));
    } finally {
      client.destroy();
    }
  });
});

Deno.test("LocalAws speaks the query protocol over GET and POST", async (t) => {
  await using aws = await LocalAws.start();

  async function signedFetch(
    method: "GET" | "POST",
    query: string,
    body = "",
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    const url = new URL(`${aws.url}/${query}`);
    const amzDate = toAmzDate(new Date());
    const headers = new Headers({
      host: url.host,
      "x-amz-date": amzDate,
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      ...extraHeaders,
    });
    const auth = {
      accessKeyId: aws.defaultUser.accessKeyId,
      date: amzDate.slice(0, 8),
      region: "us-east-1",
      service: "sts",
      signedHeaders: [...headers.keys()].sort(),
      signature: "",
    };
    const bytes = new TextEncoder().encode(body);
    let signature = "0".repeat(64); // when the request cannot be signed, sign it wrongly
    try {
      const canonical = canonicalRequest({ method, url, headers, body: bytes }, auth);
      const toSign = stringToSign(canonical, amzDate, auth);
      signature = signString(aws.defaultUser.secretAccessKey, toSign, auth);
    } catch { /* the server must refuse it */ }
    headers.set(
      "authorization",
      `AWS4-HMAC-SHA256 Credential=${auth.accessKeyId}/${auth.date}/us-east-1/sts/aws4_request, ` +
        `SignedHeaders=${auth.signedHeaders.join(";")}, Signature=${signature}`,
    );
    headers.delete("host");
    return await fetch(url, { method, headers, body: method === "POST" ? body : undefined });
  }

  await t.step("a signed GET with a query string is answered in AWS's XML", async () => {
    const response = await signedFetch("GET", "?Action=GetCallerIdentity&Version=2011-06-15");
    const body = await response.text();
    const requestId = response.headers.get("x-amzn-RequestId");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/xml");
    assert.equal(
      body.trim(),
      `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">` +
        `<GetCallerIdentityResult><Arn>${aws.defaultUser.arn}</Arn><UserId>` +
        body.match(/<UserId>(AIDA\w+)<\/UserId>/)?.[1] +
        `</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult>` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
        `</GetCallerIdentityResponse>`,
    );
  });

  await t.step("x-amz-content-sha256 must match the body", async () => {
    const body = "Action=GetCallerIdentity&Version=2011-06-15";
    const ok = await signedFetch("POST", "", body, {
      "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    });
    assert.equal(ok.status, 200, await ok.text());
    const bad = await signedFetch("POST", "", body, { "x-amz-content-sha256": "0".repeat(64) });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /<Code>XAmzContentSHA256Mismatch<\/Code>/);
  });

  await t.step("an unknown action is InvalidAction", async () => {
    const response = await signedFetch("GET", "?Action=GetFederationToken&Version=2011-06-15");
    assert.equal(response.status, 400);
    assert.match(
      await response.text(),
      /<Code>InvalidAction<\/Code><Message>Could not find operation GetFederationToken for version 2011-06-15<\/Message>/,
    );
  });
});

const sdkCall = [
  Deno.execPath(),
  "run",
  "-A",
  "--no-prompt",
  "--config",
  fileURLToPath(new URL("../../deno.json", import.meta.url)),
  fileURLToPath(new URL("./sdk_call.ts", import.meta.url)),
];

// In a child: the variables are the process's environment, which parallel test files share.
Deno.test("the AWS SDK follows AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_IAM", async () => {
  await using aws = await LocalAws.start();
  const me = await runAws(sdkCall, ["sts", "get-caller-identity"], aws.env());
  assert.equal(me.code, 0, me.stderr);
  assert.equal(JSON.parse(me.stdout).Arn, aws.defaultUser.arn);
  const role = await runAws(
    sdkCall,
    ["iam", "get-role", "--role-name", "timebound-iam-broker"],
    aws.env(),
  );
  assert.equal(role.code, 0, role.stderr);
  assert.equal(JSON.parse(role.stdout).Role.Arn, BROKER);
  assert.deepEqual(aws.requests.map((r) => [r.service, r.action]), [
    ["sts", "GetCallerIdentity"],
    ["iam", "GetRole"],
  ]);
});

const cliVersion = await awsCliVersion();

Deno.test({
  name: `the AWS CLI works against LocalAws${cliVersion ? "" : " (ignored: aws is not on PATH)"}`,
  ignore: cliVersion === undefined,
}, async (t) => {
  await using aws = await LocalAws.start();
  const endpoint = ["--endpoint-url", aws.url];

  // The AWS CLI reads the endpoint variables from v1.29 and v2.13 on (Debian 12 ships 2.9.19):
  // an older one is checked with --endpoint-url below, and the SDK stands in for this step.
  const client = honoursEndpointVariables(cliVersion!) ? ["aws"] : sdkCall;
  await t.step("a client follows AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_IAM", async () => {
    const me = await runAws(client, ["sts", "get-caller-identity"], aws.env());
    assert.equal(me.code, 0, me.stderr);
    assert.equal(JSON.parse(me.stdout).Arn, aws.defaultUser.arn);
    const role = await runAws(
      client,
      ["iam", "get-role", "--role-name", "timebound-iam-broker"],
      aws.env(),
    );
    assert.equal(role.code, 0, role.stderr);
    assert.equal(JSON.parse(role.stdout).Role.Arn, BROKER);
  });

  await t.step("sts assume-role, then the issued keys", async () => {
    const out = await awsCli([
      ...endpoint,
      "sts",
      "assume-role",
      "--role-arn",
      BROKER,
      "--role-session-name",
      "cli-session",
      "--duration-seconds",
      "900",
    ], aws.env());
    assert.equal(out.code, 0, out.stderr);
    const c = JSON.parse(out.stdout).Credentials;
    const session = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      arn: "",
      accountId: ACCOUNT,
    };
    const me = await awsCli([...endpoint, "sts", "get-caller-identity"], aws.env(session));
    assert.equal(me.code, 0, me.stderr);
    assert.equal(
      JSON.parse(me.stdout).Arn,
      `arn:aws:sts::${ACCOUNT}:assumed-role/timebound-iam-broker/cli-session`,
    );
  });

  await t.step("iam get-role decodes policy documents", async () => {
    const out = await awsCli(
      [...endpoint, "iam", "get-role", "--role-name", "timebound-iam-broker"],
      aws.env(),
    );
    assert.equal(out.code, 0, out.stderr);
    const role = JSON.parse(out.stdout).Role;
    assert.equal(role.Arn, BROKER);
    assert.equal(
      role.AssumeRolePolicyDocument.Statement[0].Principal.AWS,
      `arn:aws:iam::${ACCOUNT}:root`,
    );
  });

  await t.step("--endpoint-url works without the endpoint variables", async () => {
    const { AWS_ENDPOINT_URL_STS: _sts, AWS_ENDPOINT_URL_IAM: _iam, ...env } = aws.env();
    const out = await awsCli(["sts", "get-caller-identity", "--endpoint-url", aws.url], env);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).Account, ACCOUNT);
  });

  await t.step("errors reach the CLI with AWS's code and message", async () => {
    const wrong = { ...aws.defaultUser, secretAccessKey: "y".repeat(40) };
    const out = await awsCli([...endpoint, "sts", "get-caller-identity"], aws.env(wrong));
    assert.notEqual(out.code, 0);
    assert.match(
      out.stderr,
      /An error occurred \(SignatureDoesNotMatch\) when calling the GetCallerIdentity operation: The request signature we calculated/,
    );
    aws.clock.advance(2 * 3600_000);
    const sessions = aws.sessions();
    const expired = await awsCli(
      [...endpoint, "sts", "get-caller-identity"],
      aws.env(sessions[0]),
    );
    assert.match(
      expired.stderr,
      /\(ExpiredToken\) when calling the GetCallerIdentity operation: The security token included in the request is expired/,
    );
    for (const secret of aws.issuedSecrets()) assert.ok(!out.stderr.includes(secret));
  });
});

// Windows has no SIGTERM: Deno's kill() there ends the process at once (exit code 1), and the
// entry point listens for Ctrl-C and Ctrl-Break instead.
Deno.test({
  name: "the local_aws.ts entry point prints export lines and stops on SIGTERM (not on Windows)",
  ignore: Deno.build.os === "windows",
}, async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      fileURLToPath(new URL("./local_aws.ts", import.meta.url)),
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("# broker role")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  assert.match(text, /^export AWS_ENDPOINT_URL_STS=http:\/\/127\.0\.0\.1:\d+$/m);
  assert.match(text, /^export AWS_ACCESS_KEY_ID=AKIA\w{16}$/m);
  child.kill("SIGTERM");
  while (!(await reader.read()).done) { /* drain until the child closes stdout */ }
  const status = await child.status;
  const stderr = await new Response(child.stderr).text();
  assert.equal(status.code, 0, stderr);
});

Deno.test("an SDK profile with role_arn gets a session that LocalAws treats as chaining", async () => {
  await using aws = await LocalAws.start();
  aws.addRole({ roleName: "long", maxSessionDuration: 43200 });
  await using tmp = await tempDir("local_aws_profile_");
  const dir = tmp.path;
  await Deno.writeTextFile(
    `${dir}/credentials`,
    `[base]\naws_access_key_id = ${aws.defaultUser.accessKeyId}\n` +
      `aws_secret_access_key = ${aws.defaultUser.secretAccessKey}\n`,
  );
  await Deno.writeTextFile(
    `${dir}/config`,
    `[profile chained]\nrole_arn = ${BROKER}\nsource_profile = base\nregion = us-east-1\n`,
  );
  const { fromIni } = await import("@aws-sdk/credential-providers");
  const provider = fromIni({
    profile: "chained",
    filepath: `${dir}/credentials`,
    configFilepath: `${dir}/config`,
    clientConfig: { endpoint: aws.url, region: "us-east-1" },
  });
  const client = new STSClient({
    region: "us-east-1",
    endpoint: aws.url,
    credentials: provider,
    maxAttempts: 1,
  });
  try {
    const me = await client.send(new GetCallerIdentityCommand({}));
    assert.match(me.Arn!, /^arn:aws:sts::123456789012:assumed-role\/timebound-iam-broker\//);
    await rejectsWith(
      client.send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${ACCOUNT}:role/long`,
          RoleSessionName: "chained",
          DurationSeconds: 7200,
        }),
      ),
      "ValidationError",
      { message: /1 hour session limit for roles assumed by role chaining/ },
    );
  } finally {
    client.destroy();
  }
});
