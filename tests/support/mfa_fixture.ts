/**
 * The MFA tests' world: an endpoint whose broker role trusts the account only with MFA, and whose
 * devices check TOTP codes (computed with the TOTP library).
 *
 * @module
 */
import { type Fixture, startFixture } from "./fixture.ts";
import { BROKER_ROLE_NAME, type LocalAws, type RecordedRequest } from "./local_aws.ts";

/** A grant with no summary: `exec --no-confirm -s s3:ro -t 15m`. */
export const GRANT = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m"];

/** The trust policy `setup aws --require-mfa` writes, for the account. */
export function mfaTrust(accountId: string, maxAgeSeconds?: number): Record<string, unknown> {
  const condition: Record<string, unknown> = { Bool: { "aws:MultiFactorAuthPresent": "true" } };
  if (maxAgeSeconds !== undefined) {
    condition.NumericLessThan = { "aws:MultiFactorAuthAge": String(maxAgeSeconds) };
  }
  return {
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${accountId}:root` },
      Action: ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
      Condition: condition,
    }],
  };
}

/** The fixture with an endpoint whose broker role requires MFA, and its user's MFA device. */
export type MfaFixture = Fixture & { serial: string };

/**
 * The fixture whose broker role trusts the account only with MFA, with a device for the default
 * user (`serial`); `assertNoSecret` also fails on any MFA code the endpoint was sent.
 */
export async function startMfaFixture(): Promise<MfaFixture> {
  const fx = await startFixture({ prefix: "tbi-mfa-" });
  fx.aws.addRole({ roleName: BROKER_ROLE_NAME, trustPolicy: mfaTrust(fx.aws.accountId) });
  return Object.assign(fx, { serial: fx.aws.addMfaDevice().serialNumber });
}

/** The requests of `action` the endpoint received. */
export function calls(aws: LocalAws, action: string): RecordedRequest[] {
  return aws.requests.filter((r) => r.action === action);
}

/** The AWS CLI's words that print the caller's ARN, against `aws`. */
export const callerArn = (aws: LocalAws): string[] => [
  "aws",
  "--endpoint-url",
  aws.url,
  "sts",
  "get-caller-identity",
  "--query",
  "Arn",
  "--output",
  "text",
];
