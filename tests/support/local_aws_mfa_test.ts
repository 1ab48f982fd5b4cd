// The local endpoint's MFA, as AWS documents it: TOTP codes checked (±1 step), GetSessionToken,
// the MFA condition keys in trust policies, and the IAM MFA device actions.
import assert from "node:assert/strict";
import { AssumeRoleCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import {
  CreateVirtualMFADeviceCommand,
  DeactivateMFADeviceCommand,
  DeleteVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  IAMClient,
  ListMFADevicesCommand,
} from "@aws-sdk/client-iam";
import { Secret, TOTP } from "otpauth";
import { conditionsMet } from "./conditions.ts";
import { LocalAws, type LocalCredentials } from "./local_aws.ts";

const MFA_TRUST = {
  Version: "2012-10-17",
  Statement: [{
    Effect: "Allow",
    Principal: { AWS: "arn:aws:iam::123456789012:root" },
    Action: "sts:AssumeRole",
    Condition: {
      Bool: { "aws:MultiFactorAuthPresent": "true" },
      NumericLessThan: { "aws:MultiFactorAuthAge": "3600" },
    },
  }],
};

function sts(aws: LocalAws, credentials: LocalCredentials = aws.defaultUser) {
  return new STSClient({ region: "us-east-1", endpoint: aws.url, credentials, maxAttempts: 1 });
}

function iam(aws: LocalAws) {
  return new IAMClient({
    region: "us-east-1",
    endpoint: aws.url,
    credentials: aws.defaultUser,
    maxAttempts: 1,
  });
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error("expected a failure");
}

function session(credentials: {
  AccessKeyId?: string;
  SecretAccessKey?: string;
  SessionToken?: string;
}): LocalCredentials {
  return {
    accessKeyId: credentials.AccessKeyId!,
    secretAccessKey: credentials.SecretAccessKey!,
    sessionToken: credentials.SessionToken,
    arn: "",
    accountId: "123456789012",
  };
}

Deno.test("conditionsMet() evaluates IAM's operators, IfExists and missing keys", async (t) => {
  const cases: Array<[string, Record<string, unknown>, Record<string, string>, boolean]> = [
    ["Bool true", { Bool: { "aws:MultiFactorAuthPresent": "true" } }, {
      "aws:MultiFactorAuthPresent": "true",
    }, true],
    ["Bool with the key missing", { Bool: { "aws:MultiFactorAuthPresent": "true" } }, {}, false],
    [
      "BoolIfExists with the key missing",
      {
        BoolIfExists: { "aws:MultiFactorAuthPresent": "false" },
      },
      {},
      true,
    ],
    ["NumericLessThan under", { NumericLessThan: { "aws:MultiFactorAuthAge": "3600" } }, {
      "aws:MultiFactorAuthAge": "3599",
    }, true],
    ["NumericLessThan at", { NumericLessThan: { "aws:MultiFactorAuthAge": "3600" } }, {
      "aws:MultiFactorAuthAge": "3600",
    }, false],
    ["Null true with the key missing", { Null: { "aws:MultiFactorAuthAge": "true" } }, {}, true],
    ["StringLike", { StringLike: { "aws:SourceIdentity": "alice*" } }, {
      "aws:SourceIdentity": "alice@example.com",
    }, true],
    ["keys compare without case", { Bool: { "AWS:multifactorauthpresent": "TRUE" } }, {
      "aws:MultiFactorAuthPresent": "true",
    }, true],
    ["an unknown operator is never met", { Fancy: { "aws:X": "1" } }, { "aws:X": "1" }, false],
    // IAM: a negated operator on a missing key is met; ForAllValues is met vacuously;
    // ForAnyValue is not.
    [
      "StringNotLike with the key missing",
      { StringNotLike: { "aws:RequestTag/x": "*iam*" } },
      {},
      true,
    ],
    ["StringNotEquals with the key missing", { StringNotEquals: { "aws:X": "a" } }, {}, true],
    ["ArnNotLike with the key missing", { ArnNotLike: { "aws:X": "arn:*" } }, {}, true],
    ["StringNotLike on a matching value", { StringNotLike: { "aws:X": "*iam*" } }, {
      "aws:X": "iam:full",
    }, false],
    [
      "ForAllValues with the key missing",
      { "ForAllValues:StringEquals": { "aws:TagKeys": "a" } },
      {},
      true,
    ],
    [
      "ForAnyValue with the key missing",
      { "ForAnyValue:StringEquals": { "aws:TagKeys": "a" } },
      {},
      false,
    ],
    [
      "ForAnyValue:StringNotEquals with the key missing",
      { "ForAnyValue:StringNotEquals": { "aws:TagKeys": "a" } },
      {},
      false,
    ],
  ];
  for (const [name, condition, context, expected] of cases) {
    await t.step(name, () => assert.equal(conditionsMet(condition, context), expected));
  }
});

Deno.test("GetSessionToken: with a valid code the session carries MFA, and trust conditions see it", async () => {
  await using aws = await LocalAws.start();
  aws.addRole({ roleName: "timebound-iam-broker", trustPolicy: MFA_TRUST });
  const { serialNumber } = aws.addMfaDevice();
  const client = sts(aws);
  try {
    // Long-term keys carry no MFA context: refused.
    const denied = await failure(client.send(
      new AssumeRoleCommand({ RoleArn: aws.brokerRoleArn, RoleSessionName: "no-mfa" }),
    ));
    assert.equal(denied.name, "AccessDenied");
    // A code one step old is still accepted; a wrong one is not.
    const wrong = String((Number(aws.mfaCode(serialNumber)) + 1) % 1_000_000).padStart(6, "0");
    const bad = await failure(client.send(
      new GetSessionTokenCommand({ SerialNumber: serialNumber, TokenCode: wrong }),
    ));
    assert.deepEqual(bad, {
      name: "AccessDenied",
      message: "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    });
    const out = await client.send(
      new GetSessionTokenCommand({
        SerialNumber: serialNumber,
        TokenCode: aws.mfaCode(serialNumber, -1),
        DurationSeconds: 7200,
      }),
    );
    const mfaSession = session(out.Credentials!);
    const withMfa = sts(aws, mfaSession);
    try {
      const assumed = await withMfa.send(
        new AssumeRoleCommand({ RoleArn: aws.brokerRoleArn, RoleSessionName: "with-mfa" }),
      );
      assert.match(assumed.AssumedRoleUser?.Arn ?? "", /assumed-role\/timebound-iam-broker\//);
      // Session credentials may not start another session.
      const again = await failure(withMfa.send(new GetSessionTokenCommand({})));
      assert.deepEqual(again, {
        name: "AccessDenied",
        message: "Cannot call GetSessionToken with session credentials",
      });
      // An hour after the code, aws:MultiFactorAuthAge is over the trust's 3600.
      aws.clock.advance(3600_000);
      const old = await failure(withMfa.send(
        new AssumeRoleCommand({ RoleArn: aws.brokerRoleArn, RoleSessionName: "too-old" }),
      ));
      assert.equal(old.name, "AccessDenied");
    } finally {
      withMfa.destroy();
    }
    // AssumeRole with the code itself works too (the seed's script).
    const direct = await client.send(
      new AssumeRoleCommand({
        RoleArn: aws.brokerRoleArn,
        RoleSessionName: "direct",
        SerialNumber: serialNumber,
        TokenCode: aws.mfaCode(serialNumber),
      }),
    );
    assert.ok(direct.Credentials?.AccessKeyId?.startsWith("ASIA"));
  } finally {
    client.destroy();
  }
});

Deno.test("IAM: create a virtual device, enable it with two consecutive codes, deactivate, delete", async () => {
  await using aws = await LocalAws.start();
  const client = iam(aws);
  try {
    const created = await client.send(
      new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "developer" }),
    );
    const device = created.VirtualMFADevice!;
    const serial = device.SerialNumber!;
    assert.equal(serial, "arn:aws:iam::123456789012:mfa/developer");
    const seed = new TextDecoder().decode(device.Base32StringSeed);
    assert.match(seed, /^[A-Z2-7]{32}$/);
    assert.deepEqual([...device.QRCodePNG!.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    const exists = await failure(
      client.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "developer" })),
    );
    assert.equal(exists.name, "EntityAlreadyExistsException");

    // The test's own TOTP, from the seed AWS returned.
    const totp = new TOTP({ secret: Secret.fromBase32(seed), digits: 6, period: 30 });
    const at = (steps: number) =>
      totp.generate({ timestamp: aws.clock.now().getTime() + steps * 30_000 });
    const notConsecutive = await failure(client.send(
      new EnableMFADeviceCommand({
        UserName: "developer",
        SerialNumber: serial,
        AuthenticationCode1: at(0),
        AuthenticationCode2: at(-1),
      }),
    ));
    assert.equal(notConsecutive.name, "InvalidAuthenticationCodeException");
    await client.send(
      new EnableMFADeviceCommand({
        UserName: "developer",
        SerialNumber: serial,
        AuthenticationCode1: at(-1),
        AuthenticationCode2: at(0),
      }),
    );
    const listed = await client.send(new ListMFADevicesCommand({}));
    assert.deepEqual(listed.MFADevices?.map((d) => [d.UserName, d.SerialNumber]), [
      ["developer", serial],
    ]);
    const inUse = await failure(
      client.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: serial })),
    );
    assert.equal(inUse.name, "DeleteConflictException");
    await client.send(
      new DeactivateMFADeviceCommand({ UserName: "developer", SerialNumber: serial }),
    );
    await client.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: serial }));
    assert.deepEqual((await client.send(new ListMFADevicesCommand({}))).MFADevices, []);
    assert.deepEqual(aws.mfaDevices(), []);
  } finally {
    client.destroy();
  }
});
