import assert from "node:assert/strict";
import { type SharedFiles, walkRoleChain } from "../lib/aws/role_chain.ts";
import { UsageError } from "../lib/core/errors.ts";

const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;

/** Walks `profile` over `config` (and `credentials`), with keys in the vault for `vault`. */
function walk(
  profile: string,
  files: { config: SharedFiles["configFile"]; credentials?: SharedFiles["credentialsFile"] },
  vault: string[] = ["base"],
) {
  return walkRoleChain(profile, {
    files: { configFile: files.config, credentialsFile: files.credentials },
    vaultKeys: (name) => Promise.resolve(vault.includes(name) ? `keys of ${name}` : undefined),
  });
}

Deno.test("walkRoleChain() assumes the role nearest the vault's keys first", async () => {
  const end = await walk("prod", {
    config: {
      prod: { role_arn: role("prod"), source_profile: "mid", mfa_serial: undefined },
      mid: { role_arn: role("mid"), source_profile: "base", region: "eu-west-1" },
    },
  });
  assert.equal(end.kind, "vault");
  if (end.kind !== "vault") return;
  assert.equal(end.source, "base");
  assert.equal(end.holding, "keys of base");
  assert.deepEqual(end.steps.map((s) => [s.profile, s.roleArn, s.region]), [
    ["mid", role("mid"), "eu-west-1"],
    ["prod", role("prod"), undefined],
  ]);
});

Deno.test("walkRoleChain() leaves to the SDK a chain that ends at a source it resolves", async (t) => {
  const cases: [string, Record<string, string>][] = [
    ["keys in ~/.aws/credentials", { aws_access_key_id: "AKIAEXAMPLE" }],
    ["credential_process", { credential_process: "my-tool" }],
    ["SSO", { sso_session: "corp" }],
    ["a role with credential_source", { role_arn: role("x"), credential_source: "Environment" }],
  ];
  for (const [what, settings] of cases) {
    await t.step(what, async () => {
      const end = await walk("prod", {
        config: { prod: { role_arn: role("prod"), source_profile: "base" } },
        credentials: { base: settings },
      }, []);
      assert.deepEqual(end, { kind: "sdk" });
    });
  }
});

Deno.test("walkRoleChain(): keys win over a role_arn after the first profile, as for the AWS CLI", async () => {
  const end = await walk("prod", {
    config: {
      prod: { role_arn: role("prod"), source_profile: "base" },
      base: { role_arn: role("base"), source_profile: "base" },
    },
  });
  assert.equal(end.kind === "vault" && end.steps.length, 1);
});

Deno.test("walkRoleChain() refuses a cycle, a chain too long and a source without keys", async (t) => {
  const refused = async (
    config: SharedFiles["configFile"],
    message: RegExp,
  ) => {
    await assert.rejects(() => walk("prod", { config }), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, message);
      return true;
    });
  };
  await t.step("a profile that names itself, without keys", () =>
    refused(
      { prod: { role_arn: role("p"), source_profile: "prod" } },
      /^Profile "prod" has a cycle in its source_profile chain: prod → prod$/,
    ));
  await t.step("a chain longer than the bound", () => {
    const config: Record<string, Record<string, string>> = {};
    // Nine roles, one more than the bound.
    for (let i = 0; i <= 8; i++) {
      config[i === 0 ? "prod" : `p${i}`] = { role_arn: role(`r${i}`), source_profile: `p${i + 1}` };
    }
    return refused(config, /^Profile "prod" chains more than 8 roles through source_profile$/);
  });
  await t.step("a source that does not exist", () =>
    refused(
      { prod: { role_arn: role("p"), source_profile: "gone" } },
      /^Profile "gone", the source_profile of "prod", does not exist: none in the timebound-iam vault or ~\/\.aws\/credentials$/,
    ));
});

Deno.test("walkRoleChain() checks each role's settings against AWS's bounds", async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "duration_seconds under 15m",
      { duration_seconds: "600" },
      /^UsageError: Invalid duration_seconds "600"/,
    ],
    [
      "duration_seconds over 12h",
      { duration_seconds: "50000" },
      /^UsageError: Invalid duration_seconds/,
    ],
    [
      "duration_seconds not a number",
      { duration_seconds: "1h" },
      /^UsageError: Invalid duration_seconds "1h"/,
    ],
    [
      "a short external_id",
      { external_id: "x" },
      /^UsageError: Invalid external_id of profile "prod"/,
    ],
    [
      "a role_session_name with a space",
      { role_session_name: "a b" },
      /^UsageError: Invalid role_session_name "a b"/,
    ],
    [
      "an mfa_serial that is no device",
      { mfa_serial: "alice" },
      /^UsageError: Invalid mfa_serial "alice"/,
    ],
  ];
  for (const [what, settings, message] of cases) {
    await t.step(what, async () => {
      await assert.rejects(
        () =>
          walk("prod", {
            config: { prod: { role_arn: role("p"), source_profile: "base", ...settings } },
          }),
        message,
      );
    });
  }
  await t.step("a role assumed with another role's session: an hour at most", async () => {
    await assert.rejects(
      () =>
        walk("prod", {
          config: {
            prod: { role_arn: role("p"), source_profile: "mid", duration_seconds: "7200" },
            mid: { role_arn: role("m"), source_profile: "base", duration_seconds: "7200" },
          },
        }),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^Invalid duration_seconds "7200" of profile "prod"/);
        assert.match(error.hint ?? "", /role chaining/);
        return true;
      },
    );
  });
});
