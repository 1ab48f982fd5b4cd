// The variables a grant sets, and the environment a child gets: the parent's, minus every
// credential or profile that would win over the grant, plus the grant.
import assert from "node:assert/strict";
import {
  childEnvironment,
  GRANT_VARIABLES,
  grantVariables,
  PROFILE_VARIABLES,
} from "../lib/delivery/credential_env.ts";

const CREDENTIALS = {
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: "secret",
  sessionToken: "token",
  expiration: new Date("2030-01-01T00:15:00Z"),
};

const GRANT = grantVariables(CREDENTIALS, { region: "eu-west-1", sessionName: "timebound-iam-1" });

Deno.test("grantVariables() sets the keys, the expiry, both regions and the session name", () => {
  assert.deepEqual(GRANT, {
    AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_SESSION_TOKEN: "token",
    AWS_CREDENTIAL_EXPIRATION: "2030-01-01T00:15:00.000Z",
    AWS_REGION: "eu-west-1",
    AWS_DEFAULT_REGION: "eu-west-1",
    TIMEBOUND_IAM_SESSION: "timebound-iam-1",
  });
});

Deno.test("the variable lists name what env sets and what it unsets", () => {
  assert.deepEqual([...GRANT_VARIABLES], [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "TIMEBOUND_IAM_SESSION",
  ]);
  assert.deepEqual([...PROFILE_VARIABLES], ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]);
});

Deno.test("childEnvironment() drops every inherited credential and profile, keeps the rest", () => {
  const parent = {
    PATH: "/bin",
    HOME: "/home/me",
    AWS_ACCESS_KEY_ID: "AKIAOLD",
    AWS_SECRET_ACCESS_KEY: "old",
    AWS_SESSION_TOKEN: "old-token",
    AWS_SECURITY_TOKEN: "older-token",
    AWS_CREDENTIAL_EXPIRATION: "2020-01-01T00:00:00Z",
    AWS_PROFILE: "prod",
    AWS_DEFAULT_PROFILE: "prod",
    AWS_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/home/me/.aws/config",
    TIMEBOUND_IAM_MFA_CODE: "123456",
  };
  assert.deepEqual(childEnvironment(parent, GRANT), {
    PATH: "/bin",
    HOME: "/home/me",
    AWS_CONFIG_FILE: "/home/me/.aws/config",
    ...GRANT,
  });
  assert.deepEqual(childEnvironment(parent, {}), {
    PATH: "/bin",
    HOME: "/home/me",
    AWS_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/home/me/.aws/config",
  });
  assert.equal(parent.AWS_PROFILE, "prod", "the parent's own object is left alone");
});
