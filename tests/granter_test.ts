// The grant engine in-process, against the local STS endpoint, as each front end drives it: the
// command line's granter (one per run, renewed while a child runs) and serve's granters (one per
// profile and MFA session). Both behind a broker role that requires MFA and refuses identity.
import assert from "node:assert/strict";
import { STSClient } from "@aws-sdk/client-sts";
import { openGranter } from "../lib/grant/granter.ts";
import { openGranters } from "../lib/grant/granters.ts";
import { resolveGrantSettings } from "../lib/grant/settings.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";
import { startFixture } from "./support/fixture.ts";
import { BROKER_ROLE_NAME } from "./support/local_aws.ts";

/** A trust that requires MFA and allows no SourceIdentity or session tags (an older role). */
function mfaOnlyTrust(accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${accountId}:root` },
      Action: "sts:AssumeRole",
      Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
    }],
  });
}

/** The fixture (the endpoint, a private home for the caches and the config file), and the STS client seam. */
async function world() {
  const fx = await startFixture({
    env: (home) => ({
      XDG_CACHE_HOME: `${home}/cache`,
      TIMEBOUND_IAM_CONFIG: `${home}/config.json`,
    }),
    prefix: "tbi-granter-",
  });
  const { aws, env } = fx;
  aws.addRole({ roleName: BROKER_ROLE_NAME, trustPolicy: mfaOnlyTrust(aws.accountId) });
  const { serialNumber: serial } = aws.addMfaDevice();
  const createClient = (config: { region: string; credentials?: unknown }) =>
    Promise.resolve(
      new STSClient({
        region: config.region,
        endpoint: aws.url,
        // The profile's own keys (GetSessionToken), else the MFA session's.
        credentials: (config.credentials as LocalAwsKeys | undefined) ?? aws.defaultUser,
      }),
    );
  const asked: string[] = [];
  const ask = (device: string) => {
    asked.push(device);
    return Promise.resolve(aws.mfaCode(device));
  };
  const request = await prepareGrant({ scopes: ["s3:ro"], ttl: "15m" });
  const count = (action: string) => aws.requests.filter((r) => r.action === action).length;
  return {
    aws,
    serial,
    env,
    createClient,
    asked,
    ask,
    request,
    count,
    [Symbol.asyncDispose]: () => fx[Symbol.asyncDispose](),
  };
}

type LocalAwsKeys = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

Deno.test("the command line's granter: one MFA code, a refused identity retried without once, renewals that neither ask nor name anyone", async () => {
  await using w = await world();
  const settings = await resolveGrantSettings({ mfaSerial: w.serial }, w.env);
  const granter = await openGranter(settings, {
    for: "human",
    ask: w.ask,
    createClient: w.createClient,
  });
  try {
    assert.deepEqual(w.asked, [w.serial]);
    assert.equal(granter.base?.mfa?.cached, false);
    assert.equal(w.count("GetSessionToken"), 1);
    const plan = await granter.identity(w.request.tags);
    assert.equal(plan.identity?.sourceIdentity, "developer");
    assert.equal(plan.onRefusal, "retry");

    const { policy, ttlSeconds, tags } = w.request;
    const grant = await granter.assume({ policy, ttlSeconds, tags });
    assert.equal(grant.identityRefused, "sts:SetSourceIdentity");
    assert.equal(grant.identity, undefined);
    const assumed = w.aws.requests.filter((r) => r.action === "AssumeRole");
    assert.deepEqual(assumed.map((r) => [r.status, r.params.SourceIdentity ?? null]), [
      [403, "developer"],
      [403, "developer"],
      [200, null],
    ]);
    // Signed with the MFA session, not the user's own keys.
    assert.notEqual(assumed[2].accessKeyId, w.aws.defaultUser.accessKeyId);

    // A renewal: no code asked, no new MFA session, one AssumeRole without identity.
    const renewed = await granter.assume({ policy, ttlSeconds, tags });
    assert.notEqual(renewed.credentials.accessKeyId, grant.credentials.accessKeyId);
    assert.deepEqual(w.asked, [w.serial]);
    assert.equal(w.count("GetSessionToken"), 1);
    const last = w.aws.requests.at(-1)!;
    assert.deepEqual([last.action, last.status, last.params.SourceIdentity], [
      "AssumeRole",
      200,
      undefined,
    ]);
    assert.equal(w.count("AssumeRole"), 4);
    const next = await granter.identity(tags);
    assert.deepEqual([next.skipped, next.onRefusal], [true, "fail"]);
  } finally {
    granter.close();
  }
});

Deno.test("serve's granters: one per MFA session, asking by elicitation once, an agent's refused identity fails, a remembered refusal goes without", async () => {
  await using w = await world();
  const settings = await resolveGrantSettings({ mfaSerial: w.serial }, w.env);
  const { policy, ttlSeconds, tags } = w.request;
  let remembered = false;
  const skipped: string[] = [];
  const granters = openGranters(settings, {
    createClient: w.createClient,
    refusals: () =>
      Promise.resolve(
        remembered
          ? {
            identityRefusals: [{
              role: w.aws.brokerRoleArn,
              caller: w.aws.defaultUser.arn,
              // A minute ago: stamped when read, it could fall a millisecond after the grant's
              // clock reading, a refusal from the future, which counts for nothing.
              at: new Date(Date.now() - 60_000).toISOString(),
            }],
          }
          : {},
      ),
    onIdentitySkipped: (broker) => skipped.push(broker.roleArn),
  });
  try {
    // An agent's grant never goes without identity: the refusal fails it.
    await assert.rejects(
      () => granters.grant({ policy, ttlSeconds, tags, askMfaCode: w.ask }),
      /refuses this grant's source identity or session tags \(sts:SetSourceIdentity\), and this grant never goes without them/,
    );
    assert.deepEqual(w.asked, [w.serial]);
    assert.equal(w.count("GetSessionToken"), 1);

    // The human's grants met the refusal: the agent's go without, and the log says so. (A failed
    // grant drops its granter: this one connects again.)
    remembered = true;
    const grant = await granters.grant({ policy, ttlSeconds, tags, askMfaCode: w.ask });
    assert.equal(w.count("GetCallerIdentity"), 2);
    assert.equal(grant.identity, undefined);
    assert.deepEqual(skipped, [w.aws.brokerRoleArn]);
    assert.equal(w.aws.requests.at(-1)?.params.SourceIdentity, undefined);
    assert.deepEqual(await granters.identify(), {
      account: w.aws.accountId,
      region: "us-east-1",
      partition: "aws",
    });
    // The same MFA session, the same granter: no code, no new session, the caller known.
    await granters.grant({ policy, ttlSeconds, tags, askMfaCode: w.ask });
    assert.deepEqual(w.asked, [w.serial]);
    assert.equal(w.count("GetSessionToken"), 1);
    assert.equal(w.count("GetCallerIdentity"), 2);

    // The MFA session ends early at AWS: dropped, a new one from a new code, a new granter.
    w.aws.clock.advance(13 * 3600_000);
    const renewed = await granters.grant({ policy, ttlSeconds, tags, askMfaCode: w.ask });
    assert.notEqual(renewed.credentials.accessKeyId, grant.credentials.accessKeyId);
    assert.deepEqual(w.asked, [w.serial, w.serial]);
    assert.equal(w.count("GetSessionToken"), 2);
    assert.equal(w.count("GetCallerIdentity"), 3);

    // Without a way to ask, a missing code is an error that names the device.
    w.aws.clock.advance(13 * 3600_000);
    await assert.rejects(
      () => granters.grant({ policy, ttlSeconds, tags }),
      new RegExp(`An MFA code for ${w.serial} is needed`),
    );
  } finally {
    await granters.close();
  }
});

Deno.test("serve's granters: the granter of an MFA session that has ended is closed at the next grant, not kept for the life of the server", async () => {
  await using w = await world();
  const settings = await resolveGrantSettings({ mfaSerial: w.serial }, w.env);
  const { policy, ttlSeconds, tags } = w.request;
  // Every STS client the granters make, and which of them were closed.
  const made: STSClient[] = [];
  const closed = new Set<STSClient>();
  const createClient = async (config: { region: string; credentials?: unknown }) => {
    const client = await w.createClient(config);
    const destroy = client.destroy.bind(client);
    client.destroy = () => {
      closed.add(client);
      destroy();
    };
    made.push(client);
    return client;
  };
  const granters = openGranters(settings, {
    createClient,
    now: () => w.aws.clock.now(),
    refusals: () =>
      Promise.resolve({
        identityRefusals: [{
          role: w.aws.brokerRoleArn,
          caller: w.aws.defaultUser.arn,
          // A minute ago: stamped when read, it could fall a millisecond after the grant's
          // clock reading, a refusal from the future, which counts for nothing.
          at: new Date(Date.now() - 60_000).toISOString(),
        }],
      }),
  });
  try {
    await granters.grant({ policy, ttlSeconds, tags, askMfaCode: w.ask });
    const first = made.filter((c) => !closed.has(c));
    assert.ok(first.length > 0);
    // The MFA session ends (by the server's clock too): the next grant asks for a new code.
    w.aws.clock.advance(13 * 3600_000);
    await granters.grant({ policy, ttlSeconds, tags, askMfaCode: w.ask });
    assert.deepEqual(w.asked, [w.serial, w.serial]);
    assert.equal(w.count("GetSessionToken"), 2);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(
      first.map((c) => closed.has(c)),
      first.map(() => true),
      "the ended session's STS clients are closed",
    );
    assert.equal(made.filter((c) => !closed.has(c)).length, 1, "the new session's granter only");
  } finally {
    await granters.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(made.filter((c) => !closed.has(c)), [], "close closes every client");
});
