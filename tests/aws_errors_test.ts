// What AWS answers, through the real SDK clients, becomes the sentence for its kind: each
// failure is the SDK's own error (a modelled class such as NoSuchEntityException, or the
// service's base exception named AccessDenied), thrown by the SDK from the local endpoint's
// AWS-shaped response, so the class checks in lib/aws/sdk_errors.ts are what is exercised.
import assert from "node:assert/strict";
import {
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  ListMFADevicesCommand,
  PutRolePolicyCommand,
  UpdateRoleCommand,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromIni } from "@aws-sdk/credential-providers";
import { type ErrorContext, explainAwsError } from "../lib/aws/aws_errors.ts";
import { refusedIdentityAction } from "../lib/aws/broker.ts";
import { createVirtualMfaDevice, enableMfaDevice } from "../lib/aws/mfa_devices.ts";
import { rejectsCredentials } from "../lib/aws/base_credentials.ts";
import { RuntimeError } from "../lib/core/errors.ts";
import { tempDir } from "./support/fixture.ts";
import { LocalAws } from "./support/local_aws.ts";

const ROLE = "arn:aws:iam::123456789012:role/timebound-iam-broker";
const USER = "arn:aws:iam::123456789012:user/developer";

interface Case {
  name: string;
  /** The action to fail, the AWS error code, and its message when not AWS's usual one. */
  fail: [action: string, code: string, message?: string];
  context: ErrorContext;
  error: string | RegExp;
  hint?: string | RegExp;
}

const STS_CASES: Case[] = [
  {
    name: "RegionDisabledException (a modelled class)",
    fail: ["AssumeRole", "RegionDisabledException", "STS is not activated in region eu-south-2"],
    context: { operation: "AssumeRole", roleArn: ROLE },
    error: "STS is not activated in this region: STS is not activated in region eu-south-2",
    hint: "activate it in IAM account settings, or pass --region us-east-1",
  },
  {
    name: "RequestExpired (no class: STSServiceException by that name)",
    fail: ["GetCallerIdentity", "RequestExpired", "Request has expired."],
    context: { operation: "GetCallerIdentity", profile: "dev" },
    error: 'The base credentials of profile "dev" have expired',
    hint: "refresh them (aws sso login, or new session credentials) and try again",
  },
  {
    name: "AccessDenied on a call other than AssumeRole",
    fail: ["GetCallerIdentity", "AccessDenied", "Not today."],
    context: { operation: "GetCallerIdentity" },
    error: "Access denied calling GetCallerIdentity: Not today.",
  },
  {
    name: "AccessDenied for a wrong MFA code",
    fail: [
      "AssumeRole",
      "AccessDenied",
      "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    ],
    context: { operation: "AssumeRole", roleArn: ROLE, profile: "dev" },
    error: 'AWS refused the MFA code of profile "dev": MultiFactorAuthentication failed with ' +
      "invalid MFA one time pass code.",
    hint: /^wait for the next code and try again/,
  },
  {
    name: "a ValidationError that names no known limit",
    fail: ["AssumeRole", "ValidationError", "1 validation error detected: something else"],
    context: { operation: "AssumeRole", roleArn: ROLE },
    error: "AWS refused AssumeRole: 1 validation error detected: something else",
  },
  {
    name: "a ValidationError about role chaining",
    fail: [
      "AssumeRole",
      "ValidationError",
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by " +
      "role chaining.",
    ],
    context: { operation: "AssumeRole", roleArn: ROLE, ttlSeconds: 7200 },
    error: "TTL 2h is over AWS's 1h limit for role chaining: the base credentials are " +
      "themselves an assumed role (SSO or a role_arn profile)",
    hint: "use -t 1h or less, or base credentials of an IAM user",
  },
  {
    name: "a modelled error with no sentence of its own (MalformedPolicyDocumentException)",
    fail: ["AssumeRole", "MalformedPolicyDocument", "The policy is not in the valid JSON format."],
    context: { operation: "AssumeRole", roleArn: ROLE },
    error: "AssumeRole failed (MalformedPolicyDocument): The policy is not in the valid JSON " +
      "format.",
    hint: "run again with --debug for details",
  },
  {
    name: "a code AWS has not documented for the call",
    fail: ["GetCallerIdentity", "OptInRequired", "The account is not subscribed."],
    context: { operation: "GetCallerIdentity" },
    error: "GetCallerIdentity failed (OptInRequired): The account is not subscribed.",
    hint: "run again with --debug for details",
  },
];

const IAM_CASES: Case[] = [
  {
    name: "AccessDenied on the broker role",
    fail: ["GetRole", "AccessDenied"],
    context: { operation: "GetRole", roleName: "broker", callerArn: USER },
    error: `Access denied: ${USER} may not call iam:GetRole on role "broker"`,
    hint: "setup aws --apply needs iam:GetRole, iam:CreateRole, iam:UpdateRole, " +
      "iam:UpdateAssumeRolePolicy, iam:GetRolePolicy, iam:PutRolePolicy: use an " +
      "administrator's profile (--profile), or have one run the printed aws iam commands",
  },
  {
    name: "NoSuchEntityException",
    fail: ["UpdateRole", "NoSuchEntity", "The role with name broker cannot be found."],
    context: { operation: "UpdateRole", roleName: "broker" },
    error: 'IAM has no role "broker": The role with name broker cannot be found.',
    hint: "create it with: timebound-iam setup aws --apply",
  },
  {
    name: "EntityAlreadyExistsException",
    fail: ["CreateRole", "EntityAlreadyExists", "Role with name broker already exists."],
    context: { operation: "CreateRole", roleName: "broker" },
    error: 'The role "broker" was created by someone else meanwhile',
    hint: "run the command again: it updates an existing role",
  },
  {
    name: "MalformedPolicyDocumentException",
    fail: ["PutRolePolicy", "MalformedPolicyDocument", "Syntax errors in policy."],
    context: { operation: "PutRolePolicy", roleName: "broker" },
    error: 'IAM refused a policy of role "broker" (iam:PutRolePolicy): Syntax errors in policy.',
  },
  {
    name: "LimitExceededException",
    fail: ["PutRolePolicy", "LimitExceeded", "Maximum policy size of 10240 bytes exceeded."],
    context: { operation: "PutRolePolicy", roleName: "broker" },
    error: 'IAM refused iam:PutRolePolicy on role "broker" as over a limit: Maximum policy size ' +
      "of 10240 bytes exceeded.",
    hint: "choose fewer services",
  },
  {
    name: "InvalidInputException",
    fail: ["UpdateRole", "InvalidInput", "Invalid MaxSessionDuration."],
    context: { operation: "UpdateRole", roleName: "broker" },
    error: 'IAM refused iam:UpdateRole on role "broker": Invalid MaxSessionDuration.',
  },
  {
    name: "ValidationError (no class: IAMServiceException by that name)",
    fail: ["UpdateRole", "ValidationError", "1 validation error detected: too long"],
    context: { operation: "UpdateRole", roleName: "broker" },
    error: 'IAM refused iam:UpdateRole on role "broker": 1 validation error detected: too long',
  },
  {
    name: "AccessDenied on an MFA call reads as for any other call",
    fail: ["ListMFADevices", "AccessDenied", "Not today."],
    context: { operation: "ListMFADevices" },
    error: "Access denied calling ListMFADevices: Not today.",
  },
  {
    name: "a role's error on an MFA call has no sentence of its own",
    fail: ["ListMFADevices", "NoSuchEntity", "The user with name bob cannot be found."],
    context: { operation: "ListMFADevices" },
    error: "ListMFADevices failed (NoSuchEntity): The user with name bob cannot be found.",
    hint: "run again with --debug for details",
  },
  {
    name: "throttling of an IAM call",
    fail: ["GetRole", "Throttling"],
    context: { operation: "GetRole", roleName: "broker" },
    error: "AWS throttled GetRole (Throttling) after retries",
    hint: "wait a moment and try again",
  },
];

function stsCall(aws: LocalAws, action: string): Promise<unknown> {
  const client = new STSClient({
    region: "us-east-1",
    endpoint: aws.url,
    credentials: aws.defaultUser,
    maxAttempts: 1,
  });
  const command = action === "AssumeRole"
    ? new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "test" })
    : new GetCallerIdentityCommand({});
  return client.send(command as AssumeRoleCommand).finally(() => client.destroy());
}

function iamCall(aws: LocalAws, action: string): Promise<unknown> {
  const client = new IAMClient({
    region: "us-east-1",
    endpoint: aws.url,
    credentials: aws.defaultUser,
    maxAttempts: 1,
  });
  const policy = JSON.stringify({ Version: "2012-10-17", Statement: [] });
  const commands: Record<string, () => Promise<unknown>> = {
    GetRole: () => client.send(new GetRoleCommand({ RoleName: "broker" })),
    UpdateRole: () => client.send(new UpdateRoleCommand({ RoleName: "broker" })),
    CreateRole: () =>
      client.send(new CreateRoleCommand({ RoleName: "broker", AssumeRolePolicyDocument: policy })),
    PutRolePolicy: () =>
      client.send(
        new PutRolePolicyCommand({ RoleName: "broker", PolicyName: "p", PolicyDocument: policy }),
      ),
    ListMFADevices: () => client.send(new ListMFADevicesCommand({})),
  };
  return commands[action]().finally(() => client.destroy());
}

async function thrownBy(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error("the call succeeded");
}

async function runCases(
  t: Deno.TestContext,
  cases: Case[],
  call: (aws: LocalAws, action: string) => Promise<unknown>,
) {
  await using aws = await LocalAws.start();
  for (const c of cases) {
    await t.step(c.name, async () => {
      const [action, code, message] = c.fail;
      aws.failNext(action, code, { message });
      const error = await thrownBy(call(aws, action));
      const explained = await explainAwsError(error, c.context);
      assert.ok(explained instanceof RuntimeError);
      if (typeof c.error === "string") assert.equal(explained.message, c.error);
      else assert.match(explained.message, c.error);
      if (c.hint === undefined) assert.equal(explained.hint, undefined);
      else if (typeof c.hint === "string") assert.equal(explained.hint, c.hint);
      else assert.match(explained.hint ?? "", c.hint);
      assert.equal(explained.cause, error);
      const requestId = aws.requests.at(-1)!.requestId;
      assert.equal(explained.detail, `AWS request id ${requestId}`);
    });
  }
}

Deno.test("explainAwsError() tells STS's answers apart by the SDK's classes", async (t) => {
  await runCases(t, STS_CASES, stsCall);
});

Deno.test("explainAwsError() tells IAM's answers apart by the SDK's classes", async (t) => {
  await runCases(t, IAM_CASES, iamCall);
});

Deno.test("explainAwsError() recognises the SDK's CredentialsProviderError", async () => {
  await using tmp = await tempDir("tbi-aws-errors-");
  const dir = tmp.path;
  await Deno.writeTextFile(`${dir}/config`, "[profile dev]\nregion = eu-west-1\n");
  await Deno.writeTextFile(`${dir}/credentials`, "");
  const provider = fromIni({
    profile: "prod",
    filepath: `${dir}/credentials`,
    configFilepath: `${dir}/config`,
  });
  const error = await thrownBy(provider());
  const explained = await explainAwsError(error, {
    operation: "GetCallerIdentity",
    profile: "prod",
  });
  assert.match(explained.message, /^No AWS credentials for profile "prod": \S/);
  assert.equal(explained.hint, "set up its credentials with: aws configure --profile prod");
});

Deno.test("an error that only looks like AWS's, by its name, is not taken for one", async () => {
  // Before the class checks, any object named AccessDenied passed for AWS's refusal.
  const lookalike = Object.assign(new Error("Not today."), { name: "AccessDenied" });
  const explained = await explainAwsError(lookalike, { operation: "AssumeRole", roleArn: ROLE });
  assert.equal(explained.message, "AssumeRole failed (AccessDenied): Not today.");
  assert.equal(await refusedIdentityAction(lookalike), undefined);
  const expired = Object.assign(new Error("expired"), { name: "ExpiredToken" });
  assert.equal(await rejectsCredentials(new RuntimeError("x", { cause: expired })), false);
});

Deno.test("a refusal to tag the session, and rejected credentials, are told by class", async () => {
  await using aws = await LocalAws.start();
  aws.failNext(
    "AssumeRole",
    "AccessDenied",
    {
      message: `User: ${USER} is not authorized to perform: sts:TagSession on resource: ${ROLE}`,
    },
  );
  assert.equal(
    await refusedIdentityAction(await thrownBy(stsCall(aws, "AssumeRole"))),
    "sts:TagSession",
  );
  aws.failNext("AssumeRole", "ExpiredToken");
  const expired = await thrownBy(stsCall(aws, "AssumeRole"));
  // The SDK's error, and one that explains it, both say the credentials were refused.
  assert.equal(await rejectsCredentials(expired), true);
  assert.equal(await rejectsCredentials(new RuntimeError("x", { cause: expired })), true);
  aws.failNext("AssumeRole", "Throttling");
  assert.equal(await rejectsCredentials(await thrownBy(stsCall(aws, "AssumeRole"))), false);
});

Deno.test("mfa provision's IAM refusals are told by class: a taken device name, two wrong codes", async () => {
  await using aws = await LocalAws.start();
  const client = new IAMClient({
    region: "us-east-1",
    endpoint: aws.url,
    credentials: aws.defaultUser,
    maxAttempts: 1,
  });
  try {
    const { serialNumber } = aws.addMfaDevice({ deviceName: "taken", userName: null });
    await assert.rejects(() => createVirtualMfaDevice(client, "taken"), (error: RuntimeError) => {
      assert.equal(error.message, 'A virtual MFA device named "taken" exists already');
      assert.match(error.hint ?? "", /^pass --device-name NAME, or delete the unused one: /);
      return true;
    });
    const codes = { code1: "000000", code2: "000001" };
    const request = { userName: "developer", serial: serialNumber, ...codes };
    await assert.rejects(() => enableMfaDevice(client, request), (error: RuntimeError) => {
      assert.equal(error.message, "AWS refused the two codes: they must be two consecutive codes");
      return true;
    });
  } finally {
    client.destroy();
  }
});
