// The config file: where it is, what it may say, how a malformed one is reported, how it is
// written, and how it ranks against flags and the environment.
import assert from "node:assert/strict";
import {
  configPath,
  loadConfig,
  saveConfig,
  withBrokerRole,
  withIdentityRefusal,
  withoutIdentityRefusals,
} from "../lib/grant/config_file.ts";
import { parseConfig } from "../lib/grant/config_schema.ts";
import { readConfigText } from "../lib/grant/config_shape.ts";
import { resolveGrantSettings } from "../lib/grant/settings.ts";
import { RuntimeError, UsageError } from "../lib/core/errors.ts";
import { tempDir } from "./support/fixture.ts";

const ROLE = "arn:aws:iam::123456789012:role/timebound-iam-broker";

Deno.test("configPath() prefers TIMEBOUND_IAM_CONFIG, then XDG_CONFIG_HOME, then ~/.config", async (t) => {
  const cases: Array<[Record<string, string>, string, string]> = [
    [{ TIMEBOUND_IAM_CONFIG: "/c.json", XDG_CONFIG_HOME: "/x", HOME: "/h" }, "linux", "/c.json"],
    [{ XDG_CONFIG_HOME: "/x", HOME: "/h" }, "linux", "/x/timebound-iam/config.json"],
    [{ HOME: "/h" }, "linux", "/h/.config/timebound-iam/config.json"],
    [{ HOME: "/h" }, "darwin", "/h/.config/timebound-iam/config.json"],
    [{ APPDATA: "C:\\AD", USERPROFILE: "C:\\U" }, "windows", "C:\\AD\\timebound-iam\\config.json"],
  ];
  for (const [env, os, expected] of cases) {
    await t.step(`${JSON.stringify(env)} on ${os}`, () => {
      assert.equal(configPath(env, { os }), expected);
    });
  }
});

Deno.test("parseConfig() reads every field", () => {
  const config = parseConfig(
    JSON.stringify({
      region: "eu-west-1",
      profiles: {
        default: { roleArn: ROLE },
        prod: { roleArn: ROLE, region: "us-west-2" },
        dev: { region: "sa-east-1" },
        empty: {},
      },
      serve: { allow: "s3:full,*:ro", maxTtl: "30m", approve: "full", auditLog: "/tmp/a.log" },
    }),
    "/c.json",
  );
  assert.deepEqual(config, {
    region: "eu-west-1",
    profiles: {
      default: { roleArn: ROLE },
      prod: { roleArn: ROLE, region: "us-west-2" },
      dev: { region: "sa-east-1" },
      empty: {},
    },
    serve: { allow: "s3:full,*:ro", maxTtl: "30m", approve: "full", auditLog: "/tmp/a.log" },
  });
  assert.deepEqual(parseConfig("{}", "/c.json"), {});
});

/** Malformed config files, and what the error says after the file's name. */
const MALFORMED: Array<[string, string]> = [
  ["{", `Invalid config file "/c.json": not valid JSON`],
  ["[]", `Invalid config file "/c.json": field "(top level)": expected an object, got a list`],
  [`{"region": 3}`, `field "region": expected a string, got 3`],
  [`{"region": "Europe"}`, `field "region": "Europe" is not an AWS region (e.g. eu-west-1)`],
  [`{"rgion": "eu-west-1"}`, `unknown field "rgion": expected region, profiles, serve`],
  [`{"profiles": []}`, `field "profiles": expected an object, got a list`],
  [`{"masked": "yes"}`, `field "masked": expected true or false, got "yes"`],
  [`{"profiles": {"prod": "x"}}`, `field "profiles.prod": expected an object, got "x"`],
  [
    `{"profiles": {"prod": {"roleArn": "broker"}}}`,
    `field "profiles.prod.roleArn": "broker" is not a role ARN`,
  ],
  [
    `{"profiles": {"prod": {"role": "x"}}}`,
    `unknown field "profiles.prod.role": expected roleArn, region`,
  ],
  [`{"serve": {"maxTtl": "2d"}}`, `field "serve.maxTtl": Invalid TTL "2d"`],
  [`{"serve": {"approve": "yes"}}`, `field "serve.approve": "yes" is not one of never, full`],
  [`{"serve": {"allow": "s3"}}`, `field "serve.allow": "s3" is not a scope list`],
  [`{"serve": {"allow": ["s3:ro"]}}`, `field "serve.allow": expected a string, got a list`],
  [
    `{"profiles": {"prod": {"mfaSerial": "abc"}}}`,
    `field "profiles.prod.mfaSerial": "abc" is not an MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME)`,
  ],
  [
    `{"serve": {"allowProfiles": "a,,b"}}`,
    `field "serve.allowProfiles": Empty serve.allowProfiles: give a value or leave it out`,
  ],
  [
    `{"rolesWithoutIdentity": "x"}`,
    `field "rolesWithoutIdentity": expected a list of role ARNs, got "x"`,
  ],
  [
    `{"rolesWithoutIdentity": ["broker"]}`,
    `field "rolesWithoutIdentity.0": "broker" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`,
  ],
  [
    `{"identityRefusals": ["arn:aws:iam::123456789012:role/b"]}`,
    `field "identityRefusals.0": expected an object, got "arn:aws:iam::123456789012:role/b"`,
  ],
  [
    `{"identityRefusals": [{"role": "arn:aws:iam::123456789012:role/b", "caller": "alice"}]}`,
    `field "identityRefusals.0.caller": "alice" is not an IAM or STS ARN`,
  ],
  [
    `{"identityRefusals": [{"role": "b", "caller": "arn:aws:iam::123456789012:user/a"}]}`,
    `field "identityRefusals.0.role": "b" is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)`,
  ],
  [
    `{"identityRefusals": [{"role": "arn:aws:iam::123456789012:role/b"}]}`,
    `field "identityRefusals.0.caller": expected a string, got undefined`,
  ],
  ...[
    "xarn:aws:iam::123456789012:user/a",
    "arn:aws:iam::123456789012:user/a b",
    "arn:aws:s3:::bucket",
    "arn:aws:iam::12345:user/a",
  ].map((caller): [string, string] => [
    JSON.stringify({ identityRefusals: [{ role: ROLE, caller }] }),
    `field "identityRefusals.0.caller": "${caller}" is not an IAM or STS ARN`,
  ]),
  ...[
    "2030-01-01",
    "x2030-01-01T00:00:00Z",
    "2030-01-01T00:00:00Zx",
    "2030-01-01T00:00:00.1234Z",
    "2030-01-01T00:00:00+01:00",
    "2030-13-45T00:00:00Z",
    "2030-1-01T00:00:00Z",
  ].map((at): [string, string] => [
    JSON.stringify({
      identityRefusals: [{ role: ROLE, caller: "arn:aws:iam::123456789012:user/a", at }],
    }),
    `field "identityRefusals.0.at": "${at}" is not a time like 2030-01-01T00:00:00.000Z`,
  ]),
];

Deno.test("parseConfig() names the file and the field of a malformed config", async (t) => {
  for (const [text, expected] of MALFORMED) {
    await t.step(text, () => {
      assert.throws(() => parseConfig(text, "/c.json"), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.ok(error.message.startsWith(`Invalid config file "/c.json": `), error.message);
        assert.ok(error.message.includes(expected), error.message);
        assert.match(error.hint ?? "", /setup aws --apply/);
        return true;
      });
    });
  }
});

Deno.test("saveConfig() writes 0600 atomically, creating a 0700 directory, and loadConfig() reads it back", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = `${dir}/nested/timebound-iam/config.json`;
  const env = { TIMEBOUND_IAM_CONFIG: path };
  assert.deepEqual(await loadConfig(env), { path, exists: false, config: {} });
  const config = withBrokerRole({ region: "eu-west-1" }, "default", { roleArn: ROLE });
  await saveConfig(path, config);
  await saveConfig(path, withBrokerRole(config, "prod", { roleArn: ROLE, region: "us-west-2" }));
  assert.deepEqual(await loadConfig(env), {
    path,
    exists: true,
    config: {
      region: "eu-west-1",
      profiles: { default: { roleArn: ROLE }, prod: { roleArn: ROLE, region: "us-west-2" } },
    },
  });
  if (Deno.build.os !== "windows") {
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/nested/timebound-iam`)).mode! & 0o777, 0o700);
  }
  const left = await Array.fromAsync(Deno.readDir(`${dir}/nested/timebound-iam`));
  assert.deepEqual(left.map((e) => e.name), ["config.json"], "no temporary file is left");
});

Deno.test("loadConfig() checks a grant's file by hand, and every value with the schema when asked; it writes nothing", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = `${dir}/config.json`;
  const cache = `${dir}/cache`;
  const env = { TIMEBOUND_IAM_CONFIG: path, XDG_CACHE_HOME: cache };
  const full = {
    region: "eu-west-1",
    profiles: { default: { roleArn: ROLE, mfaSerial: "arn:aws:iam::123456789012:mfa/me" } },
    serve: { allow: "s3:full,*:ro", maxTtl: "30m", approve: "full", allowProfiles: "a,b" },
    masked: true,
    vaultBackend: "file",
    identityRefusals: [{ role: ROLE, caller: "arn:aws:sts::123456789012:assumed-role/Dev" }],
    rolesWithoutIdentity: [ROLE],
  };
  const text = JSON.stringify(full);
  await Deno.writeTextFile(path, text);
  assert.deepEqual((await loadConfig(env)).config, full);
  assert.deepEqual((await loadConfig(env, { whole: true })).config, full);
  // Nothing is remembered between runs.
  await assert.rejects(() => Deno.stat(cache), Deno.errors.NotFound);

  // A value only serve uses is the schema's to check: a grant reads past it, serve does not.
  await Deno.writeTextFile(path, text.replace('"full"', '"sometimes"'));
  assert.equal((await loadConfig(env)).config.serve?.approve, "sometimes");
  await assert.rejects(() => loadConfig(env, { whole: true }), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /field "serve.approve": "sometimes" is not one of/);
    return true;
  });

  // A value a grant uses is checked either way.
  await Deno.writeTextFile(path, JSON.stringify({ region: "nowhere" }));
  for (const whole of [false, true]) {
    await assert.rejects(() => loadConfig(env, { whole }), /"nowhere" is not an AWS region/);
  }
});

Deno.test("a grant's check of the config file says what the schema says, for every field it checks", async (t) => {
  // Values only the schema checks: serve's (serve checks its file whole) and the refusals' form.
  const schemaOnly =
    /^field "(serve\.(maxTtl|approve|allow|allowProfiles)|identityRefusals\.0\.(caller|at))": (?!expected )/;
  const unknownFields = [
    `{"zz": 1}`,
    `{"profiles": {"p": {"zz": 1}}}`,
    `{"serve": {"zz": 1}}`,
    `{"identityRefusals": [{"role": "${ROLE}", "caller": "arn:aws:iam::123456789012:user/a", "zz": 1}]}`,
  ];
  const cases = [...MALFORMED.map(([text]) => text), ...unknownFields, `{"masked": "yes"}`];
  for (const text of cases) {
    await t.step(text, () => {
      let schema: string | undefined;
      try {
        parseConfig(text, "/c.json");
      } catch (error) {
        schema = (error as Error).message;
      }
      assert.ok(schema, "the schema refuses it");
      const detail = schema.slice(`Invalid config file "/c.json": `.length);
      if (schemaOnly.test(detail)) {
        assert.doesNotThrow(() => readConfigText(text, "/c.json"));
        return;
      }
      assert.throws(() => readConfigText(text, "/c.json"), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.message, schema);
        assert.match(error.hint ?? "", /setup aws --apply/);
        return true;
      });
    });
  }
});

Deno.test("resolveGrantSettings(): flags, then the environment, then the config file", async (t) => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = `${dir}/config.json`;
  const other = "arn:aws:iam::123456789012:role/other";
  await saveConfig(path, {
    region: "eu-west-1",
    profiles: {
      default: { roleArn: ROLE },
      prod: { roleArn: other, region: "us-west-2" },
      regional: { region: "sa-east-1" },
      mfa: { mfaSerial: "arn:aws:iam::123456789012:mfa/me" },
    },
  });
  const base = { TIMEBOUND_IAM_CONFIG: path };
  const cases: Array<[string, object, Record<string, string>, object]> = [
    ["the config file alone", {}, {}, {
      roleArn: ROLE,
      roleArnSource: "config file",
      region: "eu-west-1",
    }],
    ["a profile's entry", { profile: "prod" }, {}, {
      roleArn: other,
      roleArnSource: "config file",
      region: "us-west-2",
    }],
    ["AWS_PROFILE picks the entry", {}, { AWS_PROFILE: "prod" }, {
      roleArn: other,
      roleArnSource: "config file",
      region: "us-west-2",
    }],
    ["the environment wins", {}, {
      TIMEBOUND_IAM_ROLE_ARN: "arn:aws:iam::111111111111:role/env",
      AWS_REGION: "ap-south-1",
    }, {
      roleArn: "arn:aws:iam::111111111111:role/env",
      roleArnSource: "environment",
      region: "ap-south-1",
    }],
    [
      "flags win over everything",
      {
        roleArn: "arn:aws:iam::111111111111:role/flag",
        region: "ca-central-1",
      },
      { TIMEBOUND_IAM_ROLE_ARN: "arn:aws:iam::111111111111:role/env", AWS_REGION: "ap-south-1" },
      {
        roleArn: "arn:aws:iam::111111111111:role/flag",
        roleArnSource: "flag",
        region: "ca-central-1",
      },
    ],
    ["a profile with only a region keeps it, and the default role", { profile: "regional" }, {}, {
      roleArn: undefined,
      roleArnSource: "default",
      region: "sa-east-1",
    }],
    ["a profile's MFA device", { profile: "mfa" }, {}, {
      roleArn: undefined,
      roleArnSource: "default",
      region: "eu-west-1",
      mfaSerial: "arn:aws:iam::123456789012:mfa/me",
    }],
    ["an unknown profile has no entry", { profile: "dev" }, {}, {
      roleArn: undefined,
      roleArnSource: "default",
      region: "eu-west-1",
    }],
  ];
  for (const [name, flags, env, expected] of cases) {
    await t.step(name, async () => {
      const { roleArn, roleArnSource, region, mfaSerial } = await resolveGrantSettings(flags, {
        ...base,
        ...env,
      });
      const mfa = mfaSerial === undefined ? {} : { mfaSerial };
      assert.deepEqual({ roleArn, roleArnSource, region, ...mfa }, expected);
    });
  }
});

Deno.test("parseConfig() checks a region and a scope list whole, and says what it got", async (t) => {
  const refused: Array<[string, string]> = [
    [`{"region": "xeu-west-1"}`, `field "region": "xeu-west-1" is not an AWS region`],
    [`{"region": "eu-west-1x"}`, `field "region": "eu-west-1x" is not an AWS region`],
    [`{"region": "eu-west"}`, `field "region": "eu-west" is not an AWS region`],
    [`{"region": null}`, `field "region": expected a string, got null`],
    [`{"region": {}}`, `field "region": expected a string, got an object`],
    [`{"region": true}`, `field "region": expected a string, got true`],
    [`{"serve": {"allow": " ,s3:ro"}}`, `field "serve.allow": " ,s3:ro" is not a scope list`],
    [`{"serve": {"allow": "s3:ro,"}}`, `field "serve.allow": "s3:ro," is not a scope list`],
    [`{"serve": {"allow": "x s3:ro"}}`, `field "serve.allow": "x s3:ro" is not a scope list`],
    [`{"serve": {"allow": "s3:ro x"}}`, `field "serve.allow": "s3:ro x" is not a scope list`],
    [`{"serve": {"allow": "s3:ro,x ec2:ro"}}`, `"s3:ro,x ec2:ro" is not a scope list`],
    [`{"serve": {"allow": "s3:ro, ,ec2:ro"}}`, `"s3:ro, ,ec2:ro" is not a scope list`],
    [`{"serve": {"allow": "s3:ro,ec2:r o"}}`, `"s3:ro,ec2:r o" is not a scope list`],
  ];
  for (const [text, expected] of refused) {
    await t.step(text, () => {
      assert.throws(() => parseConfig(text, "/c.json"), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.ok(error.message.includes(expected), error.message);
        assert.equal(
          error.hint,
          "fix the file, or move it aside and run: timebound-iam setup aws --apply (it writes a new one)",
        );
        return true;
      });
    });
  }
  const accepted: Array<[string, object]> = [
    [`{"region": "us-gov-west-1"}`, { region: "us-gov-west-1" }],
    [`{"region": "eu-west-12"}`, { region: "eu-west-12" }],
    [`{"serve": {"allow": " s3:ro , ec2:full,*:list "}}`, {
      serve: { allow: " s3:ro , ec2:full,*:list " },
    }],
  ];
  for (const [text, expected] of accepted) {
    await t.step(text, () => assert.deepEqual(parseConfig(text, "/c.json"), expected));
  }
});

Deno.test("configPath() on Windows without APPDATA, and with no home at all", () => {
  assert.equal(
    configPath({ USERPROFILE: "C:\\U" }, { os: "windows" }),
    "C:\\U\\.config\\timebound-iam\\config.json",
  );
  assert.equal(
    configPath({ APPDATA: "/ad", HOME: "/h" }, { os: "linux" }),
    "/h/.config/timebound-iam/config.json",
  );
  assert.throws(() => configPath({}, { os: "linux" }), (error: unknown) => {
    assert.ok(error instanceof RuntimeError);
    assert.equal(
      error.message,
      "Cannot find the config file: neither HOME nor XDG_CONFIG_HOME is set",
    );
    assert.equal(error.hint, "set TIMEBOUND_IAM_CONFIG to the path of the config file");
    return true;
  });
});

Deno.test("loadConfig() and saveConfig() name the file they cannot read or write", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  // A directory where the file should be: reading and writing it fail.
  const path = `${dir}/config.json`;
  await Deno.mkdir(path);
  await assert.rejects(() => loadConfig({ TIMEBOUND_IAM_CONFIG: path }), (error: unknown) => {
    assert.ok(error instanceof RuntimeError);
    assert.ok(error.message.startsWith(`Cannot read config file "${path}": `), error.message);
    assert.ok(error.cause instanceof Error);
    return true;
  });
  await assert.rejects(() => saveConfig(path, {}), (error: unknown) => {
    assert.ok(error instanceof RuntimeError);
    assert.ok(error.message.startsWith(`Cannot write config file "${path}": `), error.message);
    return true;
  });
  assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), [
    "config.json",
  ]);
});

Deno.test({
  name:
    "saveConfig() refuses a directory that others can write, or a symlink to one, and writes nothing",
  // Windows has no POSIX modes.
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await using tmp = await tempDir();
    const dir = await Deno.realPath(tmp.path);
    const shared = `${dir}/shared`;
    await Deno.mkdir(shared);
    await Deno.chmod(shared, 0o777);
    await assert.rejects(() => saveConfig(`${shared}/config.json`, {}), (error: unknown) => {
      assert.ok(error instanceof RuntimeError);
      assert.equal(
        error.message,
        `Cannot write config file "${shared}/config.json": Directory "${shared}" is writable ` +
          "by other users (mode 0777)",
      );
      assert.equal(error.hint, `make it private: chmod 700 "${shared}"`);
      return true;
    });
    await Deno.symlink(shared, `${dir}/link`);
    await assert.rejects(
      () => saveConfig(`${dir}/link/config.json`, {}),
      /^RuntimeError: Cannot write config file ".*\/link\/config.json": ".*\/link" is a symbolic link, not a directory: refusing to follow it$/,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(shared)), []);
  },
});

Deno.test("withIdentityRefusal() remembers each role and caller once, sorted, and drops the entries of earlier versions", () => {
  const a = "arn:aws:iam::123456789012:role/a";
  const b = "arn:aws:iam::123456789012:role/b";
  const alice = "arn:aws:iam::123456789012:user/alice";
  const bob = "arn:aws:iam::123456789012:user/bob";
  assert.deepEqual(
    withIdentityRefusal({
      region: "eu-west-1",
      identityRefusals: [{ role: b, caller: alice }],
      rolesWithoutIdentity: [b],
    }, { role: a, caller: bob }),
    {
      region: "eu-west-1",
      identityRefusals: [{ role: a, caller: bob }, { role: b, caller: alice }],
    },
  );
  const both = { identityRefusals: [{ role: a, caller: alice }, { role: a, caller: bob }] };
  assert.deepEqual(withIdentityRefusal(both, { role: a, caller: bob }), both);
  assert.deepEqual(withIdentityRefusal(both, { role: a, caller: alice }), both);
});

Deno.test("withoutIdentityRefusals() forgets a role's refusals to every caller, and keeps other roles'", () => {
  const a = "arn:aws:iam::123456789012:role/a";
  const b = "arn:aws:iam::123456789012:role/b";
  const alice = "arn:aws:iam::123456789012:user/alice";
  const bob = "arn:aws:iam::123456789012:user/bob";
  assert.deepEqual(
    withoutIdentityRefusals({
      region: "eu-west-1",
      identityRefusals: [{ role: a, caller: alice }, { role: a, caller: bob }, {
        role: b,
        caller: alice,
      }],
      rolesWithoutIdentity: [a],
    }, a),
    { region: "eu-west-1", identityRefusals: [{ role: b, caller: alice }] },
  );
  assert.deepEqual(
    withoutIdentityRefusals({ identityRefusals: [{ role: a, caller: bob }] }, a),
    {},
  );
});

Deno.test("withBrokerRole() adds a profile to a config without profiles, keeping the rest", () => {
  assert.deepEqual(withBrokerRole({ region: "eu-west-1" }, "dev", { roleArn: ROLE }), {
    region: "eu-west-1",
    profiles: { dev: { roleArn: ROLE } },
  });
  assert.deepEqual(
    withBrokerRole({ profiles: { dev: { region: "sa-east-1" } } }, "dev", { roleArn: ROLE }),
    { profiles: { dev: { region: "sa-east-1", roleArn: ROLE } } },
  );
});

Deno.test({
  name:
    "the config file is read only if nobody but you (or root) can change it; a symlink's target is what counts",
  ignore: Deno.build.os === "windows",
  async fn() {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "tbi-config-trust-" }));
    const text = JSON.stringify({ profiles: { default: { roleArn: ROLE } } });
    const refused = async (path: string, reason: string, hint?: RegExp) => {
      await assert.rejects(() => loadConfig({ TIMEBOUND_IAM_CONFIG: path }), (error: unknown) => {
        assert.ok(error instanceof RuntimeError);
        assert.equal(error.message, `Cannot read config file "${path}": ${reason}`);
        if (hint) assert.match(error.hint ?? "", hint);
        return true;
      });
    };
    try {
      await Deno.mkdir(`${root}/mine`, { mode: 0o700 });
      const good = `${root}/mine/config.json`;
      await Deno.writeTextFile(good, text, { mode: 0o644 });
      assert.equal(
        (await loadConfig({ TIMEBOUND_IAM_CONFIG: good })).config.profiles?.default?.roleArn,
        ROLE,
      );

      // As a dotfile manager links it: the target is read, and checked.
      await Deno.symlink(good, `${root}/mine/linked.json`);
      assert.equal(
        (await loadConfig({ TIMEBOUND_IAM_CONFIG: `${root}/mine/linked.json` })).config.profiles
          ?.default?.roleArn,
        ROLE,
      );

      const open = `${root}/mine/open.json`;
      await Deno.writeTextFile(open, text);
      await Deno.chmod(open, 0o666);
      await refused(open, "it is writable by other users (mode 666)", /chmod go-w/);
      await Deno.symlink(open, `${root}/mine/to-open.json`);
      await refused(
        `${root}/mine/to-open.json`,
        `"${open}" (where it points) is writable by other users (mode 666)`,
      );

      // A directory others can write: they could put their own file in its place.
      await Deno.mkdir(`${root}/shared`);
      await Deno.chmod(`${root}/shared`, 0o777);
      await Deno.writeTextFile(`${root}/shared/config.json`, text, { mode: 0o600 });
      await refused(
        `${root}/shared/config.json`,
        `Directory "${root}/shared" is writable by other users and not sticky: they could replace what timebound-iam writes under it`,
        /^keep it in a directory that only you \(or root\) can write$/,
      );

      // serve reads it at each grant: a huge one is refused, not read whole each time.
      const big = `${root}/mine/big.json`;
      await Deno.writeTextFile(big, `${text}${" ".repeat(1024 * 1024)}`, { mode: 0o600 });
      await refused(big, "it is over 1 MiB", /^a settings file is a few kilobytes/);
      const edge = `${root}/mine/edge.json`;
      await Deno.writeTextFile(edge, text.padEnd(1024 * 1024), { mode: 0o600 });
      assert.equal(
        (await loadConfig({ TIMEBOUND_IAM_CONFIG: edge })).config.profiles?.default?.roleArn,
        ROLE,
      );

      // A FIFO is refused at once, never waited on.
      await new Deno.Command("mkfifo", { args: [`${root}/mine/fifo.json`] }).output();
      await refused(`${root}/mine/fifo.json`, "it is not a regular file");

      if (Deno.uid() === 0) {
        const theirs = `${root}/mine/theirs.json`;
        await Deno.writeTextFile(theirs, text, { mode: 0o644 });
        await Deno.chown(theirs, 1000, 1000);
        await refused(theirs, "it belongs to another user (uid 1000)");
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("saveConfig() never writes a file that the next command would refuse to read", async () => {
  await using tmp = await tempDir();
  const dir = tmp.path;
  const path = `${dir}/config.json`;
  await assert.rejects(
    saveConfig(path, { identityRefusals: [{ role: ROLE, caller: "" }] }),
    (error: unknown) => {
      assert.ok(error instanceof RuntimeError);
      assert.equal(
        error.message,
        `Cannot write config file "${path}": it would be invalid: Invalid config file ` +
          `"${path}": field "identityRefusals.0.caller": "" is not an IAM or STS ARN`,
      );
      assert.equal(
        error.hint,
        "please report it: timebound-iam wrote a value it cannot read back",
      );
      return true;
    },
  );
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
});

Deno.test("parseConfig() accepts the refusals timebound-iam writes: any partition, a path with DEL, a time with or without milliseconds", () => {
  const refusals = [
    {
      role: ROLE,
      caller: "arn:aws-cn:iam::123456789012:user/ops\u007f/alice",
      at: "2030-01-01T00:00:00Z",
    },
    {
      role: ROLE,
      caller: "arn:aws-us-gov:sts::123456789012:assumed-role/Dev",
      at: "2030-01-01T00:00:00.5Z",
    },
    {
      role: ROLE,
      caller: "arn:aws:sts::123456789012:federated-user/bob",
      at: "2030-01-01T00:00:00.123Z",
    },
  ];
  const text = JSON.stringify({ identityRefusals: refusals });
  assert.deepEqual(parseConfig(text, "/c.json"), { identityRefusals: refusals });
});

Deno.test("withIdentityRefusal() keeps another role's refusal of the same caller, and sorts by role, then caller", () => {
  const a = "arn:aws:iam::123456789012:role/a";
  const b = "arn:aws:iam::123456789012:role/b";
  const alice = "arn:aws:iam::123456789012:user/alice";
  const bob = "arn:aws:iam::123456789012:user/bob";
  let config = withIdentityRefusal({}, { role: b, caller: bob });
  config = withIdentityRefusal(config, { role: a, caller: bob });
  config = withIdentityRefusal(config, { role: b, caller: alice });
  config = withIdentityRefusal(config, { role: a, caller: alice });
  assert.deepEqual(config.identityRefusals, [
    { role: a, caller: alice },
    { role: a, caller: bob },
    { role: b, caller: alice },
    { role: b, caller: bob },
  ]);
  assert.deepEqual(withoutIdentityRefusals({}, a), {});
});

Deno.test("resolveGrantSettings(): a grant is masked only when the flag or the config file says so", async () => {
  const file = (masked?: boolean) => ({
    path: "/nonexistent/config.json",
    exists: masked !== undefined,
    config: masked === undefined ? {} : { masked },
  });
  const masked = async (flag: boolean | undefined, config: boolean | undefined) =>
    (await resolveGrantSettings(flag === undefined ? {} : { masked: flag }, {}, file(config)))
      .masked;
  assert.equal(await masked(undefined, undefined), false);
  assert.equal(await masked(undefined, true), true);
  assert.equal(await masked(undefined, false), false);
  assert.equal(await masked(true, undefined), true);
  assert.equal(await masked(false, true), false);
});

Deno.test("resolveGrantSettings(): an MFA code given is passed on, an empty one is none", async () => {
  const file = { path: "/nonexistent/config.json", exists: false, config: {} };
  assert.equal((await resolveGrantSettings({ mfaCode: "123456" }, {}, file)).mfaCode, "123456");
  assert.equal((await resolveGrantSettings({ mfaCode: "" }, {}, file)).mfaCode, undefined);
  assert.equal((await resolveGrantSettings({}, {}, file)).mfaCode, undefined);
});

Deno.test("parseConfig(): the vault backend is keychain or file; identity refusals' shape is said", async (t) => {
  await t.step("keychain and file are taken", () => {
    assert.deepEqual(parseConfig(`{"vaultBackend": "file"}`, "/c.json"), { vaultBackend: "file" });
    assert.deepEqual(parseConfig(`{"vaultBackend": "keychain"}`, "/c.json"), {
      vaultBackend: "keychain",
    });
  });
  const refused: Array<[string, string]> = [
    [`{"vaultBackend": "nosuch"}`, `field "vaultBackend": "nosuch" is not one of keychain, file`],
    [
      `{"identityRefusals": "x"}`,
      `field "identityRefusals": expected a list of {role, caller}, got "x"`,
    ],
    [
      JSON.stringify({
        identityRefusals: [{
          role: "arn:aws:iam::123456789012:role/b",
          caller: "arn:aws:iam::123456789012:user/a",
          at: 5,
        }],
      }),
      `field "identityRefusals.0.at": expected a string, got 5`,
    ],
  ];
  // Both readers: the full schema, and the fast one a grant reads the file with.
  for (const read of [parseConfig, readConfigText]) {
    for (const [text, detail] of refused) {
      await t.step(`${read.name}: ${text.slice(0, 40)}`, () => {
        assert.throws(
          () => read(text, "/c.json"),
          (error: unknown) =>
            error instanceof UsageError &&
            error.message === `Invalid config file "/c.json": ${detail}`,
        );
      });
    }
    assert.deepEqual(read(`{"vaultBackend": "file"}`, "/c.json"), { vaultBackend: "file" });
  }
});
