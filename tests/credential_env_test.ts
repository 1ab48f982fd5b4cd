// The variables a grant sets, and the environment a child gets: the parent's, minus every
// credential or profile that would win over the grant, plus the grant.
import assert from "node:assert/strict";
import {
  childEnvironment,
  endpointEnvironment,
  GRANT_VARIABLES,
  grantVariables,
  maskedEnvironment,
  PROFILE_VARIABLES,
  UNSET_VARIABLES,
} from "../lib/delivery/credential_env.ts";
import { renderUnsets } from "../lib/delivery/shell_env.ts";

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

// Every way other than the grant's keys by which an SDK finds credentials: the old token name,
// a container credentials endpoint and its token, and web identity (a role and a token file).
const OTHER_SOURCES = {
  AWS_SECURITY_TOKEN: "older-token",
  AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://169.254.170.23/v1/credentials",
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc",
  AWS_CONTAINER_AUTHORIZATION_TOKEN: "container-token",
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "/var/run/secrets/token",
  AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/ci",
  AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks/token",
  AWS_ROLE_SESSION_NAME: "ci-session",
};

Deno.test("env --unset clears the grant's variables and every other credential source", () => {
  // What `env --unset` prints, in this order.
  const names = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "TIMEBOUND_IAM_SESSION",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
  ];
  assert.deepEqual([...UNSET_VARIABLES], names);
  assert.equal(renderUnsets(UNSET_VARIABLES, "bash"), `unset ${names.join(" ")}\n`);
});

Deno.test("a child started with another credential source in the parent env does not see it", async (t) => {
  for (const [name, value] of Object.entries(OTHER_SOURCES)) {
    await t.step(name, () => {
      const env = childEnvironment({ PATH: "/bin", [name]: value }, GRANT);
      assert.deepEqual(env, { PATH: "/bin", ...GRANT });
    });
  }
});

// Secrets that clients other than the JS SDK read beside the keys: the AWS SDK for Java 1.x's
// older key names, and a Bedrock API key, which the SDKs use before any keys.
const OTHER_SECRETS = {
  AWS_ACCESS_KEY: "AKIAJAVAOLDNAME00000",
  AWS_SECRET_KEY: "the human's own secret",
  AWS_BEARER_TOKEN_BEDROCK: "bedrock-api-key-ABSKQmVkcm9ja0FQSUtleQ==",
};

Deno.test("no child, masked or not, inherits the parent's Bedrock API key or Java's older key names", async (t) => {
  const parent = { PATH: "/bin", ...OTHER_SECRETS };
  const children = {
    exec: childEnvironment(parent, GRANT),
    "exec --refresh": endpointEnvironment(parent, {
      endpoint: { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:4321/credentials" },
      region: "eu-west-1",
      sessionName: "timebound-iam-1",
      hideConfig: false,
    }),
    "exec --masked": maskedEnvironment(parent, {
      proxyUrl: "http://127.0.0.1:5000",
      standIn: { accessKeyId: "ASIASTANDIN", secretAccessKey: "s", sessionToken: "t" },
      region: "eu-west-1",
      sessionName: "timebound-iam-1",
    }),
  };
  for (const [name, env] of Object.entries(children)) {
    await t.step(name, () => {
      for (const secret of Object.keys(OTHER_SECRETS)) assert.ok(!(secret in env), secret);
      assert.equal(env.PATH, "/bin");
    });
  }
});

const ENDPOINT = {
  AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:4321/credentials",
  AWS_CONTAINER_AUTHORIZATION_TOKEN: "ours",
};

function renewing(parent: Record<string, string>, options: { hideConfig: boolean; os?: string }) {
  return endpointEnvironment(parent, {
    endpoint: ENDPOINT,
    region: "eu-west-1",
    sessionName: "timebound-iam-1",
    ...options,
  });
}

Deno.test("endpointEnvironment() gives the child our endpoint, the region and the session, no keys", () => {
  const parent = {
    PATH: "/bin",
    HOME: "/home/me",
    AWS_ACCESS_KEY_ID: "AKIAOLD",
    AWS_SECRET_ACCESS_KEY: "old",
    AWS_SESSION_TOKEN: "old-token",
    AWS_CREDENTIAL_EXPIRATION: "2020-01-01T00:00:00Z",
    AWS_PROFILE: "prod",
    AWS_DEFAULT_PROFILE: "prod",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_SHARED_CREDENTIALS_FILE: "/home/me/.aws/credentials",
    AWS_CONFIG_FILE: "/home/me/.aws/config",
    TIMEBOUND_IAM_MFA_CODE: "123456",
    TIMEBOUND_IAM_VAULT_PASSPHRASE: "the vault's passphrase",
    TIMEBOUND_IAM_SESSION: "timebound-iam-0",
    ...OTHER_SOURCES,
  };
  assert.deepEqual(renewing(parent, { hideConfig: false, os: "linux" }), {
    PATH: "/bin",
    HOME: "/home/me",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_CONFIG_FILE: "/home/me/.aws/config",
    AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:4321/credentials",
    AWS_CONTAINER_AUTHORIZATION_TOKEN: "ours",
    AWS_REGION: "eu-west-1",
    AWS_DEFAULT_REGION: "eu-west-1",
    TIMEBOUND_IAM_SESSION: "timebound-iam-1",
  });
  assert.equal(parent.AWS_PROFILE, "prod", "the parent's own object is left alone");
});

// What the child of `exec --refresh` sees whatever the parent held: our endpoint and nothing else.
const RENEWING_CHILD = {
  PATH: "/bin",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:4321/credentials",
  AWS_CONTAINER_AUTHORIZATION_TOKEN: "ours",
  AWS_REGION: "eu-west-1",
  AWS_DEFAULT_REGION: "eu-west-1",
  TIMEBOUND_IAM_SESSION: "timebound-iam-1",
};

Deno.test("a renewing child started with another credential source in the parent env does not see it", async (t) => {
  for (const [name, value] of Object.entries(OTHER_SOURCES)) {
    await t.step(name, () => {
      const env = renewing({ PATH: "/bin", [name]: value }, { hideConfig: false, os: "linux" });
      assert.deepEqual(env, RENEWING_CHILD);
    });
  }
});

Deno.test("endpointEnvironment() points the credentials file, and the config file when asked, at the null device", async (t) => {
  await t.step("hideConfig on Linux and macOS: /dev/null", () => {
    for (const os of ["linux", "darwin"]) {
      assert.deepEqual(renewing({ PATH: "/bin" }, { hideConfig: true, os }), {
        ...RENEWING_CHILD,
        AWS_CONFIG_FILE: "/dev/null",
      });
    }
  });
  await t.step("Windows: NUL", () => {
    const env = renewing({ PATH: "/bin", AWS_CONFIG_FILE: "C:\\aws\\config" }, {
      hideConfig: false,
      os: "windows",
    });
    assert.equal(env.AWS_SHARED_CREDENTIALS_FILE, "NUL");
    assert.equal(env.AWS_CONFIG_FILE, "C:\\aws\\config", "the config file stays unless hidden");
    const hidden = renewing({ PATH: "/bin" }, { hideConfig: true, os: "windows" });
    assert.equal(hidden.AWS_SHARED_CREDENTIALS_FILE, "NUL");
    assert.equal(hidden.AWS_CONFIG_FILE, "NUL");
  });
  await t.step("without os: this platform's null device", () => {
    const env = renewing({ PATH: "/bin" }, { hideConfig: true });
    const expected = Deno.build.os === "windows" ? "NUL" : "/dev/null";
    assert.equal(env.AWS_SHARED_CREDENTIALS_FILE, expected);
    assert.equal(env.AWS_CONFIG_FILE, expected);
  });
});
