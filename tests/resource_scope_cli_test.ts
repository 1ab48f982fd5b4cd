// Scopes narrowed to named resources through the real CLI: what reaches the local STS endpoint
// is what `policy` prints for the same account and region, and bad resources are usage errors.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";

const SCOPES = ["-s", "s3:full@my-bucket/uploads/*", "-s", "dynamodb:ro@Orders,sqs:full@jobs"];

Deno.test("exec sends AssumeRole the policy that policy prints for the caller's account and region", async () => {
  await using fx = await startFixture({ prefix: "tbi-resource-" });
  const { aws } = fx;
  const grant = ["--no-confirm", ...SCOPES, "-t", "15m", "--region", "eu-west-1"];
  const result = await fx.run(["exec", ...grant, "--", Deno.execPath(), "eval", "0"]);
  assert.equal(result.code, 0, result.stderr);
  const calls = aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(calls.length, 1);
  const printed = await runCli([
    "policy",
    ...SCOPES,
    "--account",
    "123456789012",
    "--region",
    "eu-west-1",
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stderr, "");
  assert.equal(calls[0].params.Policy, JSON.stringify(JSON.parse(printed.stdout)));
  const statements = JSON.parse(calls[0].params.Policy).Statement;
  assert.deepEqual(statements.slice(1), [
    { Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::my-bucket/uploads/*"] },
    {
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: ["arn:aws:s3:::my-bucket"],
      Condition: { StringLike: { "s3:prefix": ["uploads/*"] } },
    },
    {
      Effect: "Allow",
      Action: statements[3].Action,
      Resource: [
        "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/*",
      ],
    },
    { Effect: "Allow", Action: ["sqs:*"], Resource: ["arn:aws:sqs:eu-west-1:123456789012:jobs"] },
  ]);
  assert.equal(statements[0].Resource, "*");
  assert.ok(statements[0].Action.includes("dynamodb:ListTables"), statements[0].Action);
  assert.ok(!statements[0].Action.some((a: string) => a.startsWith("s3:")), statements[0].Action);
});

Deno.test("--dry-run says what is on the named resources and what is account-wide", async () => {
  await using fx = await startFixture({ prefix: "tbi-resource-" });
  const { aws, env } = fx;
  const result = await runCli(
    [
      "env",
      "--dry-run",
      "-s",
      "s3:ro@my-bucket,sqs:full@jobs",
      "-t",
      "15m",
      "--region",
      "eu-west-1",
    ],
    { env },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /^ {2}scopes {3}s3:ro@my-bucket {2}Amazon S3, Read and List actions only \(4 patterns\)\n {11}\s+on arn:aws:s3:::my-bucket, arn:aws:s3:::my-bucket\/\* only \(\d+ actions\)\n {11}\s+account-wide: \d+ patterns for actions that name no resource \(s3:/m,
  );
  assert.match(
    result.stderr,
    /^ {11}sqs:full@jobs {4}every Amazon SQS action \(sqs:\*\)\n\s+on arn:aws:sqs:eu-west-1:123456789012:jobs only \(\d+ actions\)\n\s+nothing account-wide$/m,
  );
  assert.equal(aws.requests.filter((r) => r.action === "AssumeRole").length, 0);
});

Deno.test("a full S3 object ARN is on the object actions, as its bare path is, its bucket listed only for the bare path", async () => {
  await using fx = await startFixture({ prefix: "tbi-resource-" });
  const onResources = async (scope: string) => {
    const args = ["env", "--dry-run", "-s", scope, "-t", "15m", "--region", "eu-west-1"];
    const result = await runCli(args, { env: fx.env });
    assert.equal(result.code, 0, result.stderr);
    const line = result.stderr.split("\n").find((l) => l.trim().startsWith("on arn:"));
    return line?.trim();
  };
  for (
    const [arn, path] of [["arn:aws:s3:::bk1/reports/*", "bk1/reports/*"], [
      "arn:aws:s3:::bk1/reports/x.csv",
      "bk1/reports/x.csv",
    ]]
  ) {
    // The bare path's count: the Read and List actions on objects (GetObject…), not a bucket's.
    const bare = await onResources(`s3:ro@${path}`);
    assert.match(bare ?? "", /^on arn:aws:s3:::bk1\/reports\/\S+ only \(\d+ actions\)$/);
    assert.equal(await onResources(`s3:ro@${arn}`), bare);
  }
  const policy = await runCli(["policy", "-s", "s3:ro@arn:aws:s3:::bk1/reports/*"]);
  assert.equal(policy.code, 0, policy.stderr);
  assert.deepEqual(JSON.parse(policy.stdout).Statement.slice(1), [{
    Effect: "Allow",
    Action: ["s3:Allow*", "s3:Describe*", "s3:Get*", "s3:List*"],
    Resource: ["arn:aws:s3:::bk1/reports/*"],
  }]);
  assert.equal(fx.aws.requests.filter((r) => r.action === "AssumeRole").length, 0);
});

Deno.test("the summary says that s3express:ro reads objects through ReadOnly sessions only", async () => {
  await using fx = await startFixture({ prefix: "tbi-resource-" });
  const bucket = "arn:aws:s3express:us-west-2:123456789012:bucket/data--usw2-az1--x-s3";
  const args = ["env", "--dry-run", "-s", `s3express:ro@${bucket}`, "-t", "15m"];
  const result = await runCli([...args, "--region", "us-west-2"], { env: fx.env });
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stderr.split("\n").map((line) => line.trim());
  const on = lines.indexOf(`on ${bucket} only (7 actions)`);
  assert.ok(on > 0, result.stderr);
  assert.equal(
    lines[on - 1],
    "and s3express:CreateSession only with s3express:SessionMode ReadOnly (to read)",
  );
  const list = await runCli(["env", "--dry-run", "-s", "s3express:list", "-t", "15m"], {
    env: fx.env,
  });
  assert.equal(list.code, 0, list.stderr);
  assert.ok(!list.stderr.includes("CreateSession"), list.stderr);
});

Deno.test("policy without --account expands bare names with * and says so", async () => {
  const result = await runCli(["policy", "-s", "sqs:ro@jobs"], { env: { AWS_REGION: "" } });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout).Statement.at(-1).Resource, ["arn:aws:sqs:*:*:jobs"]);
  assert.match(result.stderr, /^note: bare names were expanded with \* for the account and region/);
  const bad = await runCli(["policy", "-s", "sqs:ro@jobs", "--account", "12345"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'error: Invalid account "12345": an account is 12 digits\n');
});

const BAD_RESOURCES: Array<[string, string, RegExp]> = [
  ["empty after @", "s3:ro@", /^error: Invalid scope "s3:ro@": no resource after "@"$/],
  [
    "a shell substitution for a bucket",
    "s3:ro@$(echo)",
    /^error: Invalid S3 bucket "\$\(echo\)": a bucket name has lowercase letters, digits, dots and hyphens only, not "\$"$/,
  ],
  [
    "a command after a bucket",
    "s3:full@bucket;rm/key",
    /^error: Invalid S3 bucket "bucket;rm": a bucket name has lowercase letters, digits, dots and hyphens only, not ";"$/,
  ],
  [
    "a full ARN whose bucket is too short to be one",
    "s3:ro@arn:aws:s3:::a/reports/*",
    /^error: Invalid S3 bucket "a": a bucket name has 3 to 63 characters$/,
  ],
  [
    "a full ARN whose bucket has a shell substitution, in another partition",
    "s3:ro@arn:aws-cn:s3:::$(echo)",
    /^error: Invalid S3 bucket "\$\(echo\)": a bucket name has lowercase letters, digits, dots and hyphens only, not "\$"$/,
  ],
  [
    "an ARN of another service",
    "s3:ro@arn:aws:sqs:eu-west-1:123456789012:jobs",
    /^error: ARN "arn:aws:sqs:eu-west-1:123456789012:jobs" belongs to sqs, not s3$/,
  ],
  [
    "a bare name for a service without one",
    "ec2:ro@i-0123",
    /^error: Resource "i-0123" of ec2 is not an ARN: ec2 takes no bare names, only ARNs, e\.g\. arn:aws:ec2:/,
  ],
  [
    "a region in an S3 bucket ARN",
    "s3:ro@arn:aws:s3:eu-west-1:123456789012:my-bucket",
    /^error: Invalid ARN "arn:aws:s3:eu-west-1:123456789012:my-bucket": s3 bucket ARNs have no region \("eu-west-1"\)$/,
  ],
  [
    "no region in a table ARN",
    "dynamodb:ro@arn:aws:dynamodb::123456789012:table/Orders",
    /^error: Invalid ARN "arn:aws:dynamodb::123456789012:table\/Orders": dynamodb table ARNs need a region \(e\.g\. eu-west-1, or \*\)$/,
  ],
  [
    "an account that is not 12 digits",
    "dynamodb:ro@arn:aws:dynamodb:eu-west-1:12345:table/Orders",
    /^error: Invalid ARN "arn:aws:dynamodb:eu-west-1:12345:table\/Orders": "12345" is not an account \(12 digits\)$/,
  ],
];

Deno.test("bad resources are usage errors: one line, exit 2, before any AWS call", async (t) => {
  for (const [label, scope, message] of BAD_RESOURCES) {
    await t.step(label, async () => {
      const result = await runCli(["policy", "-s", scope]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      const lines = result.stderr.trimEnd().split("\n");
      assert.match(lines[0], message);
      assert.ok(lines.length === 1 || (lines.length === 2 && lines[1].startsWith("hint: ")));
    });
  }
  await t.step("exec refuses the same way, with no endpoint to call", async () => {
    const result = await runCli(
      ["exec", "--no-confirm", "-s", "ec2:ro@i-0123", "-t", "15m", "--", "true"],
      { env: { AWS_ENDPOINT_URL: "http://127.0.0.1:9" } },
    );
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^error: Resource "i-0123" of ec2 is not an ARN/);
  });
});

Deno.test("policy refuses a bucket name too short to be one: one line, exit 2", async () => {
  const result = await runCli(["policy", "-s", "s3:ro@a"]);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr,
    'error: Invalid S3 bucket "a": a bucket name has 3 to 63 characters\n',
  );
});

Deno.test("a legacy bucket name is granted as written, with a note in policy and the summary", async () => {
  const note = 'note: "Old_Logs" can only be a bucket created in us-east-1 before March 2018 ' +
    "(uppercase letters, underscores): if it is not one, check the spelling";
  const policy = await runCli(["policy", "-s", "s3:ro@Old_Logs,s3:ro@logs-*"]);
  assert.equal(policy.code, 0, policy.stderr);
  const resources = JSON.parse(policy.stdout).Statement.flatMap((s: { Resource: string[] }) =>
    s.Resource
  );
  assert.ok(resources.includes("arn:aws:s3:::Old_Logs"), policy.stdout);
  assert.ok(resources.includes("arn:aws:s3:::logs-*"), policy.stdout);
  assert.equal(policy.stderr.split("\n").filter((line) => line.startsWith('note: "')).length, 1);
  assert.ok(policy.stderr.includes(`${note}\n`), policy.stderr);
  await using fx = await startFixture({ prefix: "tbi-resource-" });
  const dryRun = await runCli(
    ["env", "--dry-run", "-s", "s3:ro@Old_Logs", "-t", "15m", "--region", "eu-west-1"],
    { env: fx.env },
  );
  assert.equal(dryRun.code, 0, dryRun.stderr);
  const lines = dryRun.stderr.split("\n");
  const on = lines.findIndex((line) => line.trim().startsWith("on arn:aws:s3:::Old_Logs, "));
  assert.ok(on > 0, dryRun.stderr);
  assert.equal(lines[on + 1].trim(), note);
});

Deno.test("an S3 scope on a name S3 keeps for another resource is refused, with that resource's scope as the hint", async (t) => {
  const cases: Array<[string, string, string]> = [
    [
      "s3:ro@my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias",
      `"my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias": a name ending in -s3alias is an ` +
      "access point's alias, not a bucket, and no policy can name an alias",
      "name the access point by its ARN, e.g. " +
      "s3:ro@arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME (its objects: …/NAME/object/*)",
    ],
    [
      "s3:ro@my-olap-1a4n8yjrb3kda96f67zwrwiiuse1a--ol-s3/k",
      `"my-olap-1a4n8yjrb3kda96f67zwrwiiuse1a--ol-s3": a name ending in --ol-s3 is an Object ` +
      "Lambda Access Point's alias, not a bucket",
      "name the Object Lambda Access Point by its ARN, e.g. " +
      "s3-object-lambda:ro@arn:aws:s3-object-lambda:REGION:ACCOUNT:accesspoint/NAME",
    ],
    [
      "s3:full@mfzwi23gnjvgw.mrap",
      `"mfzwi23gnjvgw.mrap": a name ending in .mrap is a Multi-Region Access Point's alias, ` +
      "not a bucket",
      "name it by its ARN, e.g. s3:ro@arn:aws:s3::ACCOUNT:accesspoint/mfzwi23gnjvgw.mrap " +
      "(its objects: …/mfzwi23gnjvgw.mrap/object/*)",
    ],
    [
      "s3:ro@data--usw2-az1--x-s3",
      `"data--usw2-az1--x-s3": a name ending in --x-s3 is a directory bucket, whose actions ` +
      "are s3express's, not s3's",
      "name it in an s3express scope by its ARN, e.g. " +
      "s3express:ro@arn:aws:s3express:REGION:ACCOUNT:bucket/data--usw2-az1--x-s3",
    ],
    [
      "s3:ro@arn:aws-us-gov:s3:::data--usw2-az1--x-s3/k",
      `"data--usw2-az1--x-s3": a name ending in --x-s3 is a directory bucket, whose actions ` +
      "are s3express's, not s3's",
      "name it in an s3express scope by its ARN, e.g. " +
      "s3express:ro@arn:aws-us-gov:s3express:REGION:ACCOUNT:bucket/data--usw2-az1--x-s3",
    ],
    [
      "s3:ro@arn:aws:s3:::63a8e430-6e0b-46f5-k833abtwr6s8tmtsycedn8s4yc3xhuse1b--table-s3/*",
      `"63a8e430-6e0b-46f5-k833abtwr6s8tmtsycedn8s4yc3xhuse1b--table-s3": a name ending in ` +
      "--table-s3 is an S3 table's storage (its warehouse location), whose reads are " +
      "s3tables:GetTableData on the table, not s3's",
      "name the table in an s3tables scope by its ARN, e.g. " +
      "s3tables:ro@arn:aws:s3tables:REGION:ACCOUNT:bucket/TABLE-BUCKET/table/TABLE-ID",
    ],
  ];
  for (const [scope, message, hint] of cases) {
    await t.step(scope, async () => {
      const result = await runCli(["policy", "-s", scope]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr, `error: Invalid S3 bucket ${message}\nhint: ${hint}\n`);
    });
  }
  await t.step(
    "each hint's form, with an account and a region, is a scope that works",
    async () => {
      const hinted = [
        "s3:ro@arn:aws:s3:eu-west-1:123456789012:accesspoint/my-ap",
        "s3:ro@arn:aws:s3:eu-west-1:123456789012:accesspoint/my-ap/object/*",
        "s3-object-lambda:ro@arn:aws:s3-object-lambda:eu-west-1:123456789012:accesspoint/my-olap",
        "s3:ro@arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap",
        "s3:ro@arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/object/*",
        "s3express:ro@arn:aws:s3express:us-west-2:123456789012:bucket/data--usw2-az1--x-s3",
        "s3tables:ro@arn:aws:s3tables:us-west-2:123456789012:bucket/my-tables/table/" +
        "0b7c1e9a-1f2d-4f55-9e6b-0123456789ab",
      ];
      const result = await runCli(["policy", "-s", hinted.join(",")]);
      assert.equal(result.code, 0, result.stderr);
      const statements = JSON.parse(result.stdout).Statement as Array<{ Resource: unknown }>;
      const resources = statements.flatMap((s) => [s.Resource].flat());
      for (const scope of hinted) {
        assert.ok(resources.includes(scope.slice(scope.indexOf("@") + 1)), scope);
      }
      assert.ok(
        statements.some((s) =>
          [s.Resource].flat().includes(
            "arn:aws:s3express:us-west-2:123456789012:bucket/data--usw2-az1--x-s3",
          ) && JSON.stringify(s) ===
            '{"Effect":"Allow","Action":["s3express:CreateSession"],"Resource":' +
              '["arn:aws:s3express:us-west-2:123456789012:bucket/data--usw2-az1--x-s3"],' +
              '"Condition":{"StringEquals":{"s3express:SessionMode":"ReadOnly"}}}'
        ),
        result.stdout,
      );
      assert.ok(
        statements.some((s) =>
          [s.Resource].flat().includes(hinted.at(-1)!.slice(hinted.at(-1)!.indexOf("@") + 1)) &&
          JSON.stringify(s).includes('"s3tables:Get*"')
        ),
        result.stdout,
      );
    },
  );
  await t.step("serve --allow refuses such a name the same way, before serving", async () => {
    const result = await runCli(["serve", "--allow", "s3:ro@t1--table-s3"]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      'error: Invalid S3 bucket "t1--table-s3": a name ending in --table-s3 is an S3 table\'s ' +
        "storage (its warehouse location), whose reads are s3tables:GetTableData on the table, " +
        "not s3's\nhint: name the table in an s3tables scope by its ARN, e.g. " +
        "s3tables:ro@arn:aws:s3tables:REGION:ACCOUNT:bucket/TABLE-BUCKET/table/TABLE-ID\n",
    );
  });
});

Deno.test("a full S3 ARN with a legacy bucket name is granted as written, with the same note", async () => {
  const result = await runCli(["policy", "-s", "s3:ro@arn:aws:s3:::Old_Logs/app/*"]);
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.stdout.includes('"arn:aws:s3:::Old_Logs/app/*"'), result.stdout);
  assert.ok(
    result.stderr.includes(
      'note: "Old_Logs" can only be a bucket created in us-east-1 before March 2018 ' +
        "(uppercase letters, underscores): if it is not one, check the spelling\n",
    ),
    result.stderr,
  );
});

/** Writes `config` as the config file of `home` (`~/.config/timebound-iam/config.json`). */
async function writeConfig(home: string, config: string): Promise<string> {
  const dir = join(home, ".config", "timebound-iam");
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, "config.json");
  await Deno.writeTextFile(file, config);
  return file;
}

Deno.test("with the config file's broker role and region, policy prints what exec sends", async () => {
  await using fx = await startFixture({ prefix: "tbi-resource-" });
  const { aws, env } = fx;
  await writeConfig(
    env.HOME,
    JSON.stringify({
      region: "eu-west-1",
      profiles: {
        default: { roleArn: "arn:aws:iam::123456789012:role/timebound-iam-broker" },
      },
    }),
  );
  // No region in the environment: the config file's applies.
  const { AWS_REGION: _, AWS_DEFAULT_REGION: __, ...withoutRegion } = env;
  const scopes = ["-s", "sqs:full@jobs,dynamodb:ro@Orders"];
  const exec = await runCli(
    ["exec", "--no-confirm", ...scopes, "-t", "15m", "--", Deno.execPath(), "eval", "0"],
    { env: withoutRegion },
  );
  assert.equal(exec.code, 0, exec.stderr);
  const calls = aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].params.RoleArn, "arn:aws:iam::123456789012:role/timebound-iam-broker");
  const printed = await runCli(["policy", ...scopes], { env: withoutRegion });
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stderr, "", "no note: the account and the region are known");
  assert.equal(calls[0].params.Policy, JSON.stringify(JSON.parse(printed.stdout)));
  const [, sqs, dynamodb] = JSON.parse(printed.stdout).Statement;
  assert.deepEqual(sqs.Resource, ["arn:aws:sqs:eu-west-1:123456789012:jobs"]);
  assert.deepEqual(dynamodb.Resource, [
    "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders",
    "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/*",
  ]);
});

Deno.test("policy takes the account and region from the config file's entry for the profile; flags and the environment win", async (t) => {
  await using fx = await startFixture({ aws: false, prefix: "tbi-policy-config-" });
  const { home } = fx;
  await writeConfig(
    home,
    JSON.stringify({
      region: "eu-west-1",
      profiles: {
        default: { roleArn: "arn:aws:iam::111111111111:role/broker" },
        prod: { roleArn: "arn:aws:iam::222222222222:role/broker", region: "us-west-2" },
        china: { roleArn: "arn:aws-cn:iam::333333333333:role/broker", region: "cn-north-1" },
      },
    }),
  );
  const cases: Array<[string, string[], Record<string, string>, string]> = [
    [
      "the default profile's role, the top-level region",
      [],
      {},
      "arn:aws:sqs:eu-west-1:111111111111:jobs",
    ],
    ["--profile's entry", ["--profile", "prod"], {}, "arn:aws:sqs:us-west-2:222222222222:jobs"],
    [
      "AWS_PROFILE's entry",
      [],
      { AWS_PROFILE: "prod" },
      "arn:aws:sqs:us-west-2:222222222222:jobs",
    ],
    [
      "the role's partition",
      ["--profile", "china"],
      {},
      "arn:aws-cn:sqs:cn-north-1:333333333333:jobs",
    ],
    [
      "--account and --region",
      ["--profile", "prod", "--account", "444444444444", "--region", "ap-south-1"],
      {},
      "arn:aws:sqs:ap-south-1:444444444444:jobs",
    ],
    [
      "TIMEBOUND_IAM_ROLE_ARN and AWS_REGION",
      [],
      { TIMEBOUND_IAM_ROLE_ARN: "arn:aws:iam::555555555555:role/other", AWS_REGION: "sa-east-1" },
      "arn:aws:sqs:sa-east-1:555555555555:jobs",
    ],
  ];
  for (const [label, args, env, resource] of cases) {
    await t.step(label, async () => {
      const result = await runCli(["policy", "-s", "sqs:ro@jobs", ...args], {
        env: { HOME: home, ...env },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.deepEqual(JSON.parse(result.stdout).Statement.at(-1).Resource, [resource]);
    });
  }
});

Deno.test("a malformed config file stops policy, naming the file and the field", async (t) => {
  await using fx = await startFixture({ aws: false, prefix: "tbi-policy-config-" });
  const { home } = fx;
  const file = await writeConfig(home, `{"region": "Mars"}`);
  await t.step("a field of the wrong form", async () => {
    const result = await runCli(["policy", "-s", "s3:ro"], { env: { HOME: home } });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      `error: Invalid config file "${file}": field "region": "Mars" is not an AWS region ` +
        "(e.g. eu-west-1)\n" +
        "hint: fix the file, or move it aside and run: timebound-iam setup aws --apply (it writes a new one)\n",
    );
  });
  await t.step("a broker role that is not a role ARN", async () => {
    await writeConfig(home, `{"profiles": {"default": {"roleArn": "broker"}}}`);
    const result = await runCli(["policy", "-s", "s3:ro"], { env: { HOME: home } });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr.split("\n")[0],
      `error: Invalid config file "${file}": field "profiles.default.roleArn": "broker" ` +
        "is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
    );
  });
});
