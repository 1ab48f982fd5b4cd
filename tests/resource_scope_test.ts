// Scopes with resources, without AWS: parsing, merging, expansion of bare names into ARNs per
// service (the expected ARNs are written out here), ARN coverage and the allow list.
import assert from "node:assert/strict";
import { brokerTarget } from "../lib/aws/broker.ts";
import { UsageError } from "../lib/core/errors.ts";
import { accountWideLevel, checkAllowed, parseAllowList } from "../lib/request/allow_list.ts";
import { forTarget, prepareGrant } from "../lib/request/grant_request.ts";
import { loadCatalog } from "../lib/request/catalog.ts";
import {
  ANY_TARGET,
  arnCovers,
  checkBucketName,
  checkResourceText,
  describeBareName,
  expandResource,
  partitionOf,
  type ResourceType,
} from "../lib/request/resource.ts";
import { formatScopes, mergeScopes, parseScopes } from "../lib/request/scope.ts";

const catalog = await loadCatalog();
const target = { account: "123456789012", region: "eu-west-1", partition: "aws" };

async function expand(service: string, name: string) {
  return expandResource(service, name, await catalog.resourceTypes(service), target);
}

Deno.test("parseScopes() reads resources after @, ARNs with their colons included", () => {
  assert.deepEqual(parseScopes(["s3:ro@my-bucket, dynamodb:FULL@arn:aws:dynamodb:*:*:table/T"]), [
    { service: "s3", level: "ro", resources: ["my-bucket"] },
    { service: "dynamodb", level: "full", resources: ["arn:aws:dynamodb:*:*:table/T"] },
  ]);
  assert.throws(() => parseScopes(["s3:ro@"]), /no resource after "@"/);
  assert.deepEqual(parseScopes(["s3:ro@ my-bucket"]), [
    { service: "s3", level: "ro", resources: ["my-bucket"] },
  ]);
  assert.throws(() => parseScopes(["s3:admin@x"]), /Unknown level "admin"/);
});

Deno.test("mergeScopes() unites resources of a level; a scope on every resource covers them", () => {
  assert.deepEqual(
    mergeScopes([
      { service: "s3", level: "ro", resources: ["a"] },
      { service: "sqs", level: "full", resources: ["q"] },
      { service: "s3", level: "ro", resources: ["b", "a"] },
      { service: "s3", level: "full", resources: ["c"] },
      { service: "sqs", level: "ro" },
      { service: "sns", level: "ro", resources: ["t"] },
      { service: "sns", level: "full" },
    ]),
    [
      { service: "s3", level: "ro", resources: ["a", "b"] },
      { service: "s3", level: "full", resources: ["c"] },
      { service: "sqs", level: "full", resources: ["q"] },
      { service: "sqs", level: "ro" },
      { service: "sns", level: "full" },
    ],
  );
  assert.equal(
    formatScopes([{ service: "s3", level: "ro", resources: ["a", "b"] }]),
    "s3:ro@a,s3:ro@b",
  );
});

Deno.test("mergeScopes() widens a level named on resources and on every resource to every resource", () => {
  const onBucket = { service: "s3", level: "ro" as const, resources: ["a"] };
  const everywhere = { service: "s3", level: "ro" as const };
  assert.deepEqual(mergeScopes([onBucket, everywhere]), [everywhere]);
  assert.deepEqual(mergeScopes([everywhere, onBucket]), [everywhere]);
});

Deno.test("bare names expand into the catalog's ARN formats, with what AWS names after them", async (t) => {
  const cases: Array<[string, string, string[]]> = [
    ["s3", "my-bucket", ["arn:aws:s3:::my-bucket", "arn:aws:s3:::my-bucket/*"]],
    ["s3", "my-bucket/uploads/*", ["arn:aws:s3:::my-bucket/uploads/*"]],
    ["dynamodb", "Orders", [
      "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders",
      "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/*",
    ]],
    ["sqs", "jobs", ["arn:aws:sqs:eu-west-1:123456789012:jobs"]],
    ["sns", "alerts", ["arn:aws:sns:eu-west-1:123456789012:alerts"]],
    ["lambda", "my-fn", [
      "arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
      "arn:aws:lambda:eu-west-1:123456789012:function:my-fn:*",
    ]],
    ["logs", "/aws/lambda/my-fn", [
      "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/my-fn",
      "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/my-fn:*",
    ]],
    ["secretsmanager", "prod/db", [
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-??????",
    ]],
    ["ssm", "/app/db-password", ["arn:aws:ssm:eu-west-1:123456789012:parameter/app/db-password"]],
    ["ecr", "web", ["arn:aws:ecr:eu-west-1:123456789012:repository/web"]],
  ];
  for (const [service, name, arns] of cases) {
    await t.step(`${service}:…@${name}`, async () => {
      assert.deepEqual((await expand(service, name)).arns, arns);
    });
  }
  await t.step("states: the state machine, its versions, aliases and executions", async () => {
    const { arns } = await expand("states", "flow");
    const base = "arn:aws:states:eu-west-1:123456789012";
    assert.ok(arns.includes(`${base}:stateMachine:flow`), arns.join(" "));
    assert.ok(arns.includes(`${base}:stateMachine:flow:*`), arns.join(" "));
    assert.ok(arns.includes(`${base}:execution:flow:*`), arns.join(" "));
    assert.ok(arns.every((arn) => arn.startsWith(`${base}:`) && arn.includes(":flow")));
  });
  await t.step("a full ARN is kept as written", async () => {
    const arn = "arn:aws:dynamodb:*:123456789012:table/Orders-*";
    assert.deepEqual((await expand("dynamodb", arn)).arns, [arn]);
  });
});

Deno.test("a bare name expands whole: its ARNs, the types they are of, an S3 path's listing", async () => {
  const arn = (service: string, rest: string) =>
    `arn:aws:${service}:eu-west-1:123456789012:${rest}`;
  const cases: Array<[string, string, object]> = [
    ["s3", "my-bucket/uploads/*", {
      written: "my-bucket/uploads/*",
      arns: ["arn:aws:s3:::my-bucket/uploads/*"],
      types: ["object"],
      // What `aws s3 ls` and `sync` need: the bucket, listed under the path only.
      listing: { bucketArn: "arn:aws:s3:::my-bucket", prefix: "uploads/*" },
    }],
    ["s3", "my-bucket", {
      written: "my-bucket",
      arns: ["arn:aws:s3:::my-bucket", "arn:aws:s3:::my-bucket/*"],
      types: ["bucket", "object"],
    }],
    // Only S3 names are held to the bucket rules: no note, no refusal.
    ["dynamodb", "ab", {
      written: "ab",
      arns: [arn("dynamodb", "table/ab"), arn("dynamodb", "table/ab/*")],
      types: ["table", "backup", "export", "import", "index", "stream"],
    }],
    ["sqs", "Jobs_1", {
      written: "Jobs_1",
      arns: [arn("sqs", "Jobs_1")],
      types: ["queue"],
    }],
    // A parameter's slashes are its path: only a leading one is dropped.
    ["ssm", "app/db-password", {
      written: "app/db-password",
      arns: [arn("ssm", "parameter/app/db-password")],
      types: ["parameter"],
    }],
    // A secret name ending in * already covers the random suffix.
    ["secretsmanager", "prod/*", {
      written: "prod/*",
      arns: [arn("secretsmanager", "secret:prod/*")],
      types: ["secret"],
    }],
    ["states", "flow", {
      written: "flow",
      arns: [
        "stateMachine:flow",
        "execution:flow:*",
        "express:flow:*:*",
        "execution:flow/*:*",
        "express:flow/*:*:*",
        "mapRun:flow/*:*",
        "stateMachine:flow:*",
      ].map((rest) => arn("states", rest)),
      types: [
        "statemachine",
        "execution",
        "express",
        "labelled execution",
        "labelled express",
        "maprun",
        "statemachinealias",
        "statemachineversion",
      ],
    }],
  ];
  for (const [service, name, expanded] of cases) {
    assert.deepEqual(await expand(service, name), expanded, `${service}:…@${name}`);
  }
});

Deno.test("a related type's ARN is widened to everything under the name only after / or :", () => {
  const format = (rest: string) => `arn:\${Partition}:sqs:\${Region}:\${Account}:${rest}`;
  const types = [
    { key: "queue", arn: format("${QueueName}") },
    // Under the name, after a separator: everything there.
    { key: "message", arn: format("${QueueName}/${MessageId}") },
    // The name, then more of a name: another resource, named as it is.
    { key: "dead-letter", arn: format("${QueueName}-dlq") },
    // A "/" where the name would end, but not after the name.
    { key: "mirror", arn: format("abcd/${QueueName}") },
  ];
  const arn = (rest: string) => `arn:aws:sqs:eu-west-1:123456789012:${rest}`;
  assert.deepEqual(expandResource("sqs", "jobs", types, target), {
    written: "jobs",
    arns: [arn("jobs"), arn("jobs/*"), arn("jobs-dlq"), arn("abcd/jobs")],
    types: ["queue", "message", "dead-letter", "mirror"],
  });
});

Deno.test("a service's resource types shape what its refusals and expansions say", async (t) => {
  const format = (rest: string) => `arn:\${Partition}:sqs:\${Region}:\${Account}:${rest}`;
  const arn = (rest: string) => `arn:aws:sqs:eu-west-1:123456789012:${rest}`;
  const refusal = (service: string, name: string, types: ResourceType[]) => {
    try {
      expandResource(service, name, types, target);
    } catch (error) {
      assert.ok(error instanceof UsageError, String(error));
      return error.message;
    }
    assert.fail(`${name} was accepted`);
  };
  await t.step("no resource type: no example of one", () => {
    assert.equal(
      refusal("nobare", "x", []),
      'Resource "x" of nobare is not an ARN: nobare takes no bare names, only ARNs',
    );
  });
  await t.step("four types are all named, with no … after them", () => {
    const four = ["a", "b", "c", "d"].map((key) => ({ key, arn: format(`${key}/\${Name}`) }));
    assert.equal(
      refusal("sqs", arn("e/x"), four),
      `ARN "${arn("e/x")}" names no sqs resource type: expected ` +
        "arn:aws:sqs:REGION:ACCOUNT:a/Name, arn:aws:sqs:REGION:ACCOUNT:b/Name, " +
        "arn:aws:sqs:REGION:ACCOUNT:c/Name, arn:aws:sqs:REGION:ACCOUNT:d/Name",
    );
  });
  await t.step("a format's dots and other pattern characters are matched as themselves", () => {
    const types = [{ key: "thing", arn: format("a.b+c/\${Name}") }];
    assert.deepEqual(expandResource("sqs", arn("a.b+c/x"), types, target).types, ["thing"]);
    assert.match(refusal("sqs", arn("aXbbc/x"), types), /names no sqs resource type/);
  });
  await t.step("an ARN is of the type with the most fixed text, not the most variables", () => {
    const types = [
      { key: "wide", arn: format("\${A}/\${B}/\${C}") },
      { key: "narrow", arn: format("x/item/\${Name}") },
    ];
    assert.deepEqual(expandResource("sqs", arn("x/item/y"), types, target).types, ["narrow"]);
    assert.deepEqual(expandResource("sqs", arn("x/other/y"), types, target).types, ["wide"]);
  });
  await t.step("an ARN's resource keeps its colons: log-group:x is not log-groupx", () => {
    const types = [{ key: "group", arn: format("log-group:\${Name}") }];
    assert.deepEqual(expandResource("sqs", arn("log-group:x"), types, target).types, ["group"]);
    assert.match(refusal("sqs", arn("log-groupx"), types), /names no sqs resource type/);
  });
  await t.step("S3 paths need the catalog's bucket and object types", () => {
    const types = [{ key: "bucket", arn: "arn:${Partition}:s3:::${BucketName}" }];
    assert.equal(refusal("s3", "bk1/key", types), "The catalog has no S3 bucket or object type");
  });
  await t.step("a bare name fills the name's variable, wherever the fixed ones stand", () => {
    const types = [{
      key: "queue",
      arn: format("\${QueueName}/\${Partition}/\${Region}/\${Account}"),
    }];
    assert.deepEqual(expandResource("sqs", "jobs", types, target).arns, [
      arn("jobs/aws/eu-west-1/123456789012"),
    ]);
  });
  await t.step("a related ARN that a wildcard name already covers is dropped", () => {
    const types = [
      { key: "queue", arn: format("\${QueueName}") },
      { key: "archive", arn: format("jobs-\${QueueName}") },
    ];
    assert.deepEqual(expandResource("sqs", "*", types, target).arns, [arn("*")]);
  });
  await t.step("without a target, bare names are in any account and region", () => {
    assert.deepEqual(ANY_TARGET, { account: "*", region: "*", partition: "aws" });
    const types = [{ key: "queue", arn: format("\${QueueName}") }];
    assert.deepEqual(expandResource("sqs", "jobs", types, ANY_TARGET).arns, [
      "arn:aws:sqs:*:*:jobs",
    ]);
  });
});

Deno.test("a full ARN is checked against the service's resource types, each refusal saying why", async (t) => {
  const cases: Array<[string, string, string, string?]> = [
    [
      "s3",
      "arn:aws:s3",
      'Invalid ARN "arn:aws:s3": expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE',
    ],
    [
      "s3",
      "arn:aws:s3:::",
      'Invalid ARN "arn:aws:s3:::": expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE',
    ],
    [
      "s3",
      "arn:aws::::bk1",
      'Invalid ARN "arn:aws::::bk1": expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE',
    ],
    ["s3", "arn:foo:s3:::bk1", 'Invalid ARN "arn:foo:s3:::bk1": "foo" is not an AWS partition'],
    ["s3", "arn::s3:::bk1", 'Invalid ARN "arn::s3:::bk1": "" is not an AWS partition'],
    ["s3", "arn:xaws:s3:::bk1", 'Invalid ARN "arn:xaws:s3:::bk1": "xaws" is not an AWS partition'],
    ["s3", "arn:aws1:s3:::bk1", 'Invalid ARN "arn:aws1:s3:::bk1": "aws1" is not an AWS partition'],
    ["s3", "arn:*x:s3:::bk1", 'Invalid ARN "arn:*x:s3:::bk1": "*x" is not an AWS partition'],
    [
      "s3",
      "arn:aws:sqs:eu-west-1:123456789012:q",
      'ARN "arn:aws:sqs:eu-west-1:123456789012:q" belongs to sqs, not s3',
      "name it in a sqs scope, e.g. sqs:ro@arn:aws:sqs:eu-west-1:123456789012:q",
    ],
    [
      "s3",
      "arn:aws:s3:eu-west-1::bk1",
      'Invalid ARN "arn:aws:s3:eu-west-1::bk1": s3 bucket ARNs have no region ("eu-west-1")',
    ],
    [
      "sqs",
      "arn:aws:sqs::123456789012:q",
      'Invalid ARN "arn:aws:sqs::123456789012:q": sqs queue ARNs need a region (e.g. eu-west-1, or *)',
    ],
    [
      "sqs",
      "arn:aws:sqs:eu-west-1::q",
      'Invalid ARN "arn:aws:sqs:eu-west-1::q": sqs queue ARNs need an account (e.g. 123456789012, or *)',
    ],
    [
      "sqs",
      "arn:aws:sqs:EU_WEST:123456789012:q",
      'Invalid ARN "arn:aws:sqs:EU_WEST:123456789012:q": "EU_WEST" is not a region',
    ],
    [
      "sqs",
      "arn:aws:sqs:eu-west-1:12345:q",
      'Invalid ARN "arn:aws:sqs:eu-west-1:12345:q": "12345" is not an account (12 digits)',
    ],
    [
      "sqs",
      "arn:aws:sqs:eu-west-1:1234567890123:q",
      'Invalid ARN "arn:aws:sqs:eu-west-1:1234567890123:q": "1234567890123" is not an account (12 digits)',
    ],
    [
      "iam",
      "arn:aws:iam:eu-west-1:123456789012:role/x",
      'Invalid ARN "arn:aws:iam:eu-west-1:123456789012:role/x": iam role ARNs have no region ("eu-west-1")',
    ],
    [
      "ec2",
      "arn:aws:ec2:us-east-1:123456789012:image/ami-1",
      'Invalid ARN "arn:aws:ec2:us-east-1:123456789012:image/ami-1": ec2 image ARNs have no account ' +
      '("123456789012")',
    ],
    [
      "s3",
      "arn:aws:s3:eu-west-1:123456789012:async-request/mrap/op/t",
      'Invalid ARN "arn:aws:s3:eu-west-1:123456789012:async-request/mrap/op/t": s3 ' +
      'multiregionaccesspointrequestarn ARNs are in region "us-west-2", not "eu-west-1"',
    ],
    // The problem told is that of the type whose format fits closest: an object's, not a
    // bucket's.
    [
      "s3",
      "arn:aws:s3:eu-west-1::bk1/key",
      'Invalid ARN "arn:aws:s3:eu-west-1::bk1/key": s3 object ARNs have no region ("eu-west-1")',
    ],
    [
      "dynamodb",
      "arn:aws:dynamodb:eu-west-1:123456789012:nothing/x",
      'ARN "arn:aws:dynamodb:eu-west-1:123456789012:nothing/x" names no dynamodb resource type: expected ' +
      "arn:aws:dynamodb:REGION:ACCOUNT:table/TableName/backup/BackupName, " +
      "arn:aws:dynamodb:REGION:ACCOUNT:table/TableName/export/ExportName, " +
      "arn:aws:dynamodb::ACCOUNT:global-table/GlobalTableName, " +
      "arn:aws:dynamodb:REGION:ACCOUNT:table/TableName/import/ImportName, …",
    ],
  ];
  for (const [service, arn, message, hint] of cases) {
    await t.step(arn, async () => {
      const error = await expand(service, arn).then(() => undefined, (e) => e);
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(error.message, message);
      assert.equal(error.hint, hint);
    });
  }
  await t.step(
    "accepted: wildcards for the partition, region and account, or a short account pattern",
    async () => {
      const accepted: Array<[string, string, string[]]> = [
        ["sqs", "arn:aws:sqs:eu-west-1:123456789012:q", ["queue"]],
        ["sqs", "arn:*:sqs:*:*:q", ["queue"]],
        ["sqs", "arn:aws-cn:sqs:cn-north-1:1234*:q", ["queue"]],
        ["sqs", "arn:aws:sqs:eu-west-1:123456789012:q:extra", ["queue"]],
        ["iam", "arn:aws:iam::123456789012:role/x", ["role"]],
        // A type that lives in one region: that region, or *.
        ["s3", "arn:aws:s3:us-west-2:123456789012:async-request/mrap/op/t", [
          "multiregionaccesspointrequestarn",
        ]],
        ["s3", "arn:aws:s3:*:123456789012:async-request/mrap/op/t", [
          "multiregionaccesspointrequestarn",
        ]],
        // The type whose format fits closest: a bucket's name format matches any text, "/"
        // included, and a log group's any text, ":log-stream:" included.
        ["s3", "arn:aws:s3:::bk1", ["bucket"]],
        ["s3", "arn:aws:s3:::bk1/reports/x.csv", ["object"]],
        ["s3", "arn:aws:s3:::bk1/reports/*", ["object"]],
        ["s3", "arn:aws:s3:eu-west-1:123456789012:accesspoint/ap", ["accesspoint"]],
        ["s3", "arn:aws:s3:eu-west-1:123456789012:accesspoint/ap/object/k", [
          "accesspointobject",
        ]],
        ["logs", "arn:aws:logs:eu-west-1:123456789012:log-group:app", ["log-group"]],
        ["logs", "arn:aws:logs:eu-west-1:123456789012:log-group:app:log-stream:s1", [
          "log-stream",
        ]],
      ];
      for (const [service, arn, types] of accepted) {
        assert.deepEqual(await expand(service, arn), { written: arn, arns: [arn], types });
      }
    },
  );
});

Deno.test("checkResourceText() wants printable ASCII after @, up to 512 characters", () => {
  assert.throws(() => checkResourceText("", "s3:ro@"), {
    message: 'Invalid scope "s3:ro@": no resource after "@"',
    hint: "name a resource (e.g. s3:ro@my-bucket) or drop the @",
  });
  checkResourceText("x".repeat(512), "s3:ro@…");
  const long = "x".repeat(513);
  assert.throws(() => checkResourceText(long, `s3:ro@${long}`), {
    message: `Invalid scope "s3:ro@${"x".repeat(74)}…": the resource is over 512 characters`,
  });
  for (
    const [text, shown] of [["a b", "a b"], ["é", "é"], ["a\x1b", "a\\u{1b}"], ["\tb", "\\u{9}b"]]
  ) {
    assert.throws(() => checkResourceText(text, `s3:ro@${text}`), {
      message: `Invalid resource "${shown}": only printable ASCII characters, no spaces`,
    });
  }
});

Deno.test("describeBareName() tells what a bare name means for each service that takes one", () => {
  assert.deepEqual(
    [
      "s3",
      "dynamodb",
      "sqs",
      "sns",
      "lambda",
      "logs",
      "secretsmanager",
      "ssm",
      "ecr",
      "states",
      "iam",
    ]
      .map((service) => describeBareName(service)),
    [
      "a bucket name, with its objects (my-bucket), or objects under a path (my-bucket/path/*)",
      "a table name, with its indexes, streams, backups, exports and imports (Orders)",
      "a queue name (jobs)",
      "a topic name (alerts)",
      "a function name, with its versions and aliases (my-fn)",
      "a log group name, with its log streams (/aws/lambda/my-fn)",
      "a secret name, without AWS's random suffix (prod/db)",
      "a parameter name (/app/db-password)",
      "a repository name (web)",
      "a state machine name, with its versions, aliases and executions (my-flow)",
      undefined,
    ],
  );
});

Deno.test("partitionOf() knows China's and GovCloud's regions by their start only", () => {
  assert.deepEqual(
    ["cn-north-1", "us-gov-west-1", "eu-west-1", "us-east-1", "x-cn-1", "xus-gov-1"].map(
      partitionOf,
    ),
    ["aws-cn", "aws-us-gov", "aws", "aws", "aws", "aws"],
  );
});

Deno.test("a service without bare names says so, and which services have them", async () => {
  const error = await expand("iam", "x").then(() => undefined, (e) => e);
  assert.ok(error instanceof UsageError, String(error));
  assert.match(
    error.message,
    /^Resource "x" of iam is not an ARN: iam takes no bare names, only ARNs, e\.g\. arn:aws:iam::/,
  );
  assert.equal(
    error.hint,
    "bare names work for s3, dynamodb, sqs, sns, lambda, logs, secretsmanager, ssm, ecr, states",
  );
});

Deno.test("checkBucketName() takes today's names and IAM's wildcards in them", async (t) => {
  const names = [
    "my-bucket",
    "abc",
    "a".repeat(63),
    "logs.example.com",
    "1-2-3",
    "a-.b",
    "logs-*",
    "*",
    "*-logs",
    "my-bucket-?",
    "???",
    `${"a".repeat(63)}*`,
    "10.0.*",
    // Like an IP address, but not one.
    "a10.0.0.1",
    "10.0.0.1a",
  ];
  for (const name of names) {
    await t.step(name, () => assert.deepEqual(checkBucketName(name), {}));
  }
});

Deno.test("checkBucketName() takes a name only us-east-1 gave before March 2018, saying why", async (t) => {
  const cases: Array<[string, string]> = [
    ["My_Bucket", "uppercase letters, underscores"],
    ["Logs-*", "uppercase letters"],
    ["old_logs", "underscores"],
    ["a".repeat(64), "over 63 characters"],
    ["a".repeat(255), "over 63 characters"],
    ["bucket-", '"-" at the end'],
    ["bucket.", '"." at the end'],
    ["my..bucket", "two dots in a row"],
  ];
  for (const [name, legacy] of cases) {
    await t.step(name.length > 20 ? `${name.length} characters` : name, () => {
      assert.deepEqual(checkBucketName(name), { legacy });
    });
  }
});

Deno.test("checkBucketName() refuses what no bucket can be called, saying which rule", async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ["one character", "a", /^a bucket name has 3 to 63 characters$/],
    ["two", "ab", /^a bucket name has 3 to 63 characters$/],
    ["two wildcards of one character", "??", /^a bucket name has 3 to 63 characters$/],
    [
      "256 characters",
      "a".repeat(256),
      /3 to 63 characters \(up to 255 for one created in us-east-1 before March 2018\)$/,
    ],
    ["256 without the stars", `${"a".repeat(128)}*${"a".repeat(128)}`, /up to 255/],
    [
      "a shell substitution",
      "$(echo)",
      /^a bucket name has lowercase letters, digits, dots and hyphens only, not "\$"$/,
    ],
    ["a command after a semicolon", "bucket;rm", /, not ";"$/],
    ["a space", "my bucket", /, not " "$/],
    ["a quote", 'my"bucket', /, not "\\""$/],
    ["a control character", "my\x1bbucket", /, not U\+001B$/],
    ["a letter outside ASCII", "bücket", /, not U\+00FC$/],
    ["a hyphen first", "-abc", /^a bucket name begins with a letter or a digit$/],
    ["a dot first", ".abc", /begins with a letter or a digit/],
    ["an underscore first", "_abc", /begins with a letter or a digit/],
    ["an IP address", "192.168.5.4", /^a bucket name is not an IP address$/],
  ];
  for (const [label, name, message] of cases) {
    await t.step(label, () => {
      const { invalid, legacy } = checkBucketName(name);
      assert.match(invalid ?? "", message);
      assert.equal(legacy, undefined);
    });
  }
});

Deno.test("checkBucketName() refuses the suffixes S3 keeps for other resources, with their scope as a hint", async (t) => {
  const cases: Array<[string, RegExp, RegExp]> = [
    [
      "my-ap-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias",
      /^a name ending in -s3alias is an access point's alias, not a bucket, and no policy can name an alias$/,
      /^name the access point by its ARN, e\.g\. s3:ro@arn:aws:s3:REGION:ACCOUNT:accesspoint\/NAME \(its objects: …\/NAME\/object\/\*\)$/,
    ],
    [
      "*-s3alias",
      /^a name ending in -s3alias /,
      /accesspoint\/NAME/,
    ],
    [
      "my-olap-1a4n8yjrb3kda96f67zwrwiiuse1a--ol-s3",
      /^a name ending in --ol-s3 is an Object Lambda Access Point's alias, not a bucket$/,
      /^name the Object Lambda Access Point by its ARN, e\.g\. s3-object-lambda:ro@arn:aws:s3-object-lambda:REGION:ACCOUNT:accesspoint\/NAME$/,
    ],
    [
      "mfzwi23gnjvgw.mrap",
      /^a name ending in \.mrap is a Multi-Region Access Point's alias, not a bucket$/,
      /^name it by its ARN, e\.g\. s3:ro@arn:aws:s3::ACCOUNT:accesspoint\/mfzwi23gnjvgw\.mrap \(its objects: …\/mfzwi23gnjvgw\.mrap\/object\/\*\)$/,
    ],
    [
      "data--usw2-az1--x-s3",
      /^a name ending in --x-s3 is a directory bucket, whose actions are s3express's, not s3's$/,
      /^name it in an s3express scope by its ARN, e\.g\. s3express:ro@arn:aws:s3express:REGION:ACCOUNT:bucket\/data--usw2-az1--x-s3$/,
    ],
    [
      "63a8e430-6e0b-46f5-k833abtwr6s8tmtsycedn8s4yc3xhuse1b--table-s3",
      /^a name ending in --table-s3 is an S3 table's storage \(its warehouse location\), whose reads are s3tables:GetTableData on the table, not s3's$/,
      /^name the table in an s3tables scope by its ARN, e\.g\. s3tables:ro@arn:aws:s3tables:REGION:ACCOUNT:bucket\/TABLE-BUCKET\/table\/TABLE-ID$/,
    ],
  ];
  for (const [name, invalid, hint] of cases) {
    await t.step(name, () => {
      const check = checkBucketName(name);
      assert.match(check.invalid ?? "", invalid);
      assert.match(check.hint ?? "", hint);
      assert.equal(check.legacy, undefined);
    });
  }
  await t.step("the hint's ARNs are in the partition asked for", () => {
    assert.match(
      checkBucketName("d--usw2-az1--x-s3", "aws-cn").hint ?? "",
      /@arn:aws-cn:s3express:/,
    );
  });
  await t.step(
    "names AWS keeps only from new buckets, or from no general purpose bucket, pass",
    () => {
      // xn-- is refused only for buckets created after February 2020; sthree- and amzn-s3-demo-
      // are rules for new names too. --xa--s3 (a directory bucket's access point) is not among
      // the suffixes AWS's general purpose naming rules reserve.
      for (
        const name of [
          "xn--bcher-kva",
          "sthree-logs",
          "amzn-s3-demo-bucket",
          "ap--usw2-az1--xa--s3",
        ]
      ) {
        assert.deepEqual(checkBucketName(name), {}, name);
      }
    },
  );
  await t.step("a pattern that also matches buckets passes", () => {
    for (
      const name of ["logs-*", "logs-s3alia?", "data--x-s3-*", "my-s3alias-logs", "t--table-s3-*"]
    ) {
      assert.deepEqual(checkBucketName(name), {}, name);
    }
  });
});

Deno.test("a full S3 ARN's bucket is checked as a bare name's: the same errors and notes", async (t) => {
  const cases: Array<[string, RegExp]> = [
    ["arn:aws:s3:::a", /^Invalid S3 bucket "a": a bucket name has 3 to 63 characters$/],
    ["arn:aws:s3:::a/reports/*", /^Invalid S3 bucket "a": /],
    ["arn:aws-cn:s3:::bucket;rm/key", /^Invalid S3 bucket "bucket;rm": .*, not ";"$/],
    [
      "arn:*:s3:::-abc",
      /^Invalid S3 bucket "-abc": a bucket name begins with a letter or a digit$/,
    ],
    [
      "arn:aws:s3:::mfzwi23gnjvgw.mrap",
      /^Invalid S3 bucket "mfzwi23gnjvgw\.mrap": a name ending in \.mrap/,
    ],
  ];
  for (const [arn, message] of cases) {
    await t.step(arn, async () => {
      const error = await expand("s3", arn).then(() => undefined, (e) => e);
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, message);
    });
  }
  await t.step("an ARN in any partition (*) gets its hint in aws's", async () => {
    const error = await expand("s3", "arn:*:s3:::d--usw2-az1--x-s3").then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(
      error.hint,
      "name it in an s3express scope by its ARN, e.g. " +
        "s3express:ro@arn:aws:s3express:REGION:ACCOUNT:bucket/d--usw2-az1--x-s3",
    );
  });
  await t.step("only an s3 ARN without region and account names a bucket", async () => {
    // Other services' ARNs without region and account: their resource is no bucket name.
    for (
      const [service, arn] of [
        ["mapcredits", "arn:aws:mapcredits:::a/1"],
        ["vendor-insights", "arn:aws:vendor-insights:::data-source:ds1"],
      ]
    ) {
      const resource = await expand(service, arn);
      assert.deepEqual(resource.arns, [arn]);
      assert.equal(resource.note, undefined);
    }
  });
  await t.step("a directory bucket's hint is in the ARN's partition", async () => {
    const error = await expand("s3", "arn:aws-us-gov:s3:::d--usw2-az1--x-s3/k").then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof UsageError, String(error));
    assert.match(
      error.hint ?? "",
      /s3express:ro@arn:aws-us-gov:s3express:REGION:ACCOUNT:bucket\/d--usw2-az1--x-s3$/,
    );
  });
  await t.step("a legacy name: kept as written, with the note", async () => {
    const legacy = await expand("s3", "arn:aws:s3:::My_Bucket/reports/*");
    assert.deepEqual(legacy.arns, ["arn:aws:s3:::My_Bucket/reports/*"]);
    assert.equal(
      legacy.note,
      '"My_Bucket" can only be a bucket created in us-east-1 before March 2018 (uppercase ' +
        "letters, underscores): if it is not one, check the spelling",
    );
  });
  await t.step(
    "today's names, patterns and policy variables: kept as written, no note",
    async () => {
      for (
        const arn of [
          "arn:aws:s3:::my-bucket",
          "arn:aws:s3:::my-bucket/*",
          "arn:aws:s3:::*",
          "arn:aws:s3:::logs-*/app/*",
          "arn:aws:s3:::${aws:username}-home/*",
        ]
      ) {
        const resource = await expand("s3", arn);
        assert.deepEqual(resource.arns, [arn]);
        assert.equal(resource.note, undefined, arn);
      }
    },
  );
  await t.step("an access point's ARN is no bucket: not checked", async () => {
    const arn = "arn:aws:s3:eu-west-1:123456789012:accesspoint/ap";
    assert.deepEqual((await expand("s3", arn)).arns, [arn]);
  });
});

Deno.test("an S3 resource whose bucket cannot be one is a usage error that quotes it safely", async (t) => {
  const cases: Array<[string, RegExp]> = [
    ["a", /^Invalid S3 bucket "a": a bucket name has 3 to 63 characters$/],
    ["a/reports/*", /^Invalid S3 bucket "a": a bucket name has 3 to 63 characters$/],
    ["$(echo)", /^Invalid S3 bucket "\$\(echo\)": .*, not "\$"$/],
    ["bucket;rm/key", /^Invalid S3 bucket "bucket;rm": .*, not ";"$/],
    ["-x.example.com", /^Invalid S3 bucket "-x\.example\.com": a bucket name begins with/],
    // No bucket: the path's own error says what is missing.
    [
      "/reports/*",
      /^Invalid S3 resource "\/reports\/\*": expected a bucket \(my-bucket\) or objects/,
    ],
  ];
  for (const [name, message] of cases) {
    await t.step(name, async () => {
      const error = await expand("s3", name).then(() => undefined, (e) => e);
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, message);
    });
  }
  await t.step("a long hostile name: bounded, no control character echoed", async () => {
    const name = `\x1b[2J\n${"x".repeat(500)}`;
    const error = await expand("s3", name).then(() => undefined, (e) => e);
    assert.ok(error instanceof UsageError);
    assert.ok(error.message.length < 200, error.message);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(error.message, /[\x00-\x1f\x7f]/);
    assert.match(
      error.message,
      /^Invalid S3 bucket "\\u\{1b\}\[2J\\u\{a\}x+… \(\d+ more characters\)": .*, not U\+001B$/,
    );
  });
});

Deno.test("an S3 resource with a legacy bucket name expands as written, with a note", async () => {
  const legacy = await expand("s3", "My_Bucket/reports/*");
  assert.deepEqual(legacy.arns, ["arn:aws:s3:::My_Bucket/reports/*"]);
  assert.equal(
    legacy.note,
    '"My_Bucket" can only be a bucket created in us-east-1 before March 2018 (uppercase ' +
      "letters, underscores): if it is not one, check the spelling",
  );
  const wildcard = await expand("s3", "logs-*");
  // IAM's * also matches a "/": the bucket pattern covers the objects.
  assert.deepEqual(wildcard.arns, ["arn:aws:s3:::logs-*"]);
  assert.equal(wildcard.note, undefined);
  assert.equal((await expand("s3", "my-bucket")).note, undefined);
});

Deno.test("arnCovers() compares ARN patterns as sets, wildcards included", async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ["arn:aws:s3:::b/*", "arn:aws:s3:::b/uploads/*", true],
    ["arn:aws:s3:::b/uploads/*", "arn:aws:s3:::b/*", false],
    ["arn:aws:s3:::b", "arn:aws:s3:::b", true],
    ["arn:aws:s3:::b", "arn:aws:s3:::b*", false],
    ["arn:aws:s3:::b?", "arn:aws:s3:::b*", false],
    ["arn:aws:s3:::b?", "arn:aws:s3:::bc", true],
    ["arn:aws:sqs:*:*:jobs", "arn:aws:sqs:eu-west-1:123456789012:jobs", true],
    ["arn:aws:sqs:eu-west-1:123456789012:jobs", "arn:aws:sqs:*:123456789012:jobs", false],
    // A policy variable stands for whatever text IAM fills in: any length, any character.
    ["arn:aws:s3:::b/*", "arn:aws:s3:::b/home/${aws:username}/*", true],
    ["arn:aws:s3:::team-*", "arn:aws:s3:::team-${aws:PrincipalTag/team}", true],
    ["arn:aws:s3:::b-???????????????", "arn:aws:s3:::b-${aws:username}", false],
    ["arn:aws:s3:::b-????", "arn:aws:s3:::b-${?}", false],
    ["arn:aws:s3:::*-public/*", "arn:aws:s3:::secret${aws:PrincipalTag/x-public/y}", false],
    ["arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/${aws:username}/*", true],
    ["arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/${aws:userid}/*", false],
    // A variable first: all of the pattern is whatever IAM fills in.
    ["???????????????", "${aws:username}", false],
    ["*", "${aws:username}", true],
    // A * that would have to match past the end, or a name that ends too soon.
    ["arn:aws:s3:::b*-logs", "arn:aws:s3:::bc", false],
    ["arn:aws:s3:::b*", "arn:aws:s3:::b", true],
    ["arn:aws:s3:::b/k", "arn:aws:s3:::b/", false],
  ];
  for (const [outer, inner, expected] of cases) {
    await t.step(`${outer} ⊇ ${inner}: ${expected}`, () => {
      assert.equal(arnCovers(outer, inner), expected);
    });
  }
});

Deno.test("checkAllowed() compares resources on expanded ARNs, and asks for the account only then", async () => {
  const allow = await parseAllowList("s3:full@my-bucket,sqs:ro@jobs-*,*:list", catalog);
  assert.equal(allow.text, "*:list,s3:full@my-bucket,sqs:ro@jobs-*");
  let asked = 0;
  const options = {
    catalog,
    target: () => {
      asked++;
      return Promise.resolve(target);
    },
  };
  const check = (scopes: string) =>
    checkAllowed(mergeScopes(parseScopes([scopes])), allow, options);
  await check("s3:list,ec2:list");
  assert.equal(asked, 0);
  await check("s3:ro@my-bucket/reports/*,sqs:ro@jobs-eu");
  await check("s3:full@arn:aws:s3:::my-bucket,sqs:ro@jobs-2");
  const refusals = [
    "s3:ro",
    "s3:full@my-bucket2",
    "sqs:full@jobs-eu",
    "sqs:ro@other",
    // an allowed resource does not carry another one beside it
    "sqs:ro@jobs-eu,sqs:ro@other",
  ];
  for (const refused of refusals) {
    await assert.rejects(
      () => check(refused),
      (e) =>
        e instanceof UsageError &&
        e.message ===
          `Not allowed by this server: ${refused}: the allowed scopes are *:list,s3:full@my-bucket,sqs:ro@jobs-*`,
    );
  }
  assert.ok(asked > 0);
  await assert.rejects(() => parseAllowList("ec2:full@i-123", catalog), /ec2 takes no bare names/);
});

Deno.test("checkAllowed() takes a policy variable in a requested resource as any text IAM may fill in", async () => {
  const allow = await parseAllowList(
    "s3:ro@logs-????????????????,s3:ro@*-public,s3:ro@team-*," +
      "s3:ro@arn:aws:s3:::home/${aws:username}/*",
    catalog,
  );
  const options = { catalog, target: () => Promise.resolve(target) };
  const check = (scopes: string) =>
    checkAllowed(mergeScopes(parseScopes([scopes])), allow, options);
  await check("s3:ro@arn:aws:s3:::team-${aws:PrincipalTag/team}");
  await check("s3:ro@arn:aws:s3:::home/${aws:username}/*");
  await check("s3:ro@team-a/${aws:username}/*");
  for (
    const refused of [
      // sixteen characters that ? matched one by one, where IAM writes the caller's User-Agent
      "s3:ro@arn:aws:s3:::logs-${aws:UserAgent}",
      // -public/ inside the variable's own text, which IAM replaces
      "s3:ro@arn:aws:s3:::secret${aws:PrincipalTag/x-public/y}",
      "s3:ro@arn:aws:s3:::home/${aws:username}/../*",
    ]
  ) {
    await assert.rejects(
      () => check(refused),
      (e) =>
        e instanceof UsageError && e.message.startsWith(`Not allowed by this server: ${refused}:`),
      refused,
    );
  }
});

Deno.test("checkAllowed() takes a bare S3 path only where the list allows its bucket listing too", async (t) => {
  const options = { catalog, target: () => Promise.resolve(target) };
  const cases: Array<[allowed: string, requested: string, ok: boolean]> = [
    // An allowed object ARN is that ARN: the bare path would add s3:ListBucket on bk1.
    ["s3:ro@arn:aws:s3:::bk1/reports/*", "s3:ro@bk1/reports/*", false],
    ["s3:full@arn:aws:s3:::bk1/reports/*", "s3:list@bk1/reports/2024/*", false],
    ["s3:ro@arn:aws:s3:::bk1/reports/*", "s3:ro@arn:aws:s3:::bk1/reports/*", true],
    ["s3:ro@arn:aws:s3:::bk1/reports/*", "s3:ro@arn:aws:s3:::bk1/reports/2024/*", true],
    // A bare path lists what it names, and no more.
    ["s3:ro@bk1/reports/*", "s3:ro@bk1/reports/*", true],
    ["s3:ro@bk1/reports/*", "s3:ro@bk1/reports/2024/*", true],
    ["s3:ro@bk1/reports/2024/*", "s3:ro@bk1/reports/*", false],
    ["s3:ro@bk1/reports/*,s3:ro@arn:aws:s3:::bk1/*", "s3:ro@bk1/logs/*", false],
    ["s3:ro@bk*/reports/*", "s3:ro@bk1/reports/*", true],
    // The bucket itself, at any level, or any level on every bucket, lists it whole.
    ["s3:ro@bk1", "s3:ro@bk1/reports/*", true],
    ["s3:ro@arn:aws:s3:::bk1/reports/*,s3:list@bk1", "s3:ro@bk1/reports/*", true],
    ["s3:ro@arn:aws:s3:::bk1/reports/*,s3:list", "s3:ro@bk1/reports/*", true],
  ];
  for (const [allowed, requested, ok] of cases) {
    await t.step(`${allowed}: ${requested} ${ok ? "allowed" : "refused"}`, async () => {
      const allow = await parseAllowList(allowed, catalog);
      const check = checkAllowed(mergeScopes(parseScopes([requested])), allow, options);
      if (ok) await check;
      else await assert.rejects(check, /^UsageError: Not allowed by this server: /);
    });
  }
});

Deno.test("accountWideLevel() gives the widest level the list allows on every resource, or list/ro on named ones", async (t) => {
  const cases: Array<[string | undefined, string, string | undefined]> = [
    [undefined, "s3", "full"],
    ["s3:full", "s3", "full"],
    ["s3:full@my-bucket", "s3", undefined],
    ["s3:full@my-bucket,*:list", "s3", "list"],
    ["s3:full@my-bucket,*:ro", "s3", "ro"],
    ["s3:full@my-bucket,s3:ro@other", "s3", "ro"],
    ["s3:full@my-bucket,s3:list@other", "s3", "list"],
    ["s3:list@other,s3:ro@my-bucket", "s3", "ro"],
    ["s3:list,s3:ro@my-bucket", "s3", "ro"],
    ["s3:ro,s3:list@my-bucket", "s3", "ro"],
    ["sqs:ro@jobs,s3:full@my-bucket", "s3", undefined],
    ["sqs:ro@jobs", "sqs", "ro"],
  ];
  for (const [list, prefix, expected] of cases) {
    await t.step(`${list ?? "no list"}: ${prefix} ${expected ?? "none"}`, async () => {
      const allow = list === undefined ? undefined : await parseAllowList(list, catalog);
      assert.equal(accountWideLevel(allow, prefix), expected);
    });
  }
});

Deno.test("a narrower level on resources allowed at full is accepted, and its policy keeps to those resources", async (t) => {
  const role = "arn:aws:iam::123456789012:role/app-";
  const cases: Array<[string, string, string[]]> = [
    ["lambda:full@my-fn", "lambda:ro@my-fn", [
      "arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
      "arn:aws:lambda:eu-west-1:123456789012:function:my-fn:*",
    ]],
    [`iam:full@${role}*`, `iam:ro@${role}x`, [`${role}x`]],
    ["s3:full@my-bucket", "s3:list@my-bucket", [
      "arn:aws:s3:::my-bucket",
      "arn:aws:s3:::my-bucket/*",
    ]],
  ];
  for (const [list, requested, arns] of cases) {
    await t.step(`${requested} under ${list}`, async () => {
      const allow = await parseAllowList(list, catalog);
      await checkAllowed(mergeScopes(parseScopes([requested])), allow, {
        catalog,
        target: () => Promise.resolve(target),
      });
      const { policy } = await prepareGrant({ scopes: [requested], ttl: "15m" }, {
        catalog,
        target,
        allow,
      });
      assert.deepEqual(policy.document.Statement.map((s) => s.Resource), [arns]);
      assert.deepEqual(policy.parts[0].accountWide, []);
      // Without the list (policy, exec) the same scope keeps the level's account-wide actions.
      const own = await prepareGrant({ scopes: [requested], ttl: "15m" }, { catalog, target });
      assert.equal(own.policy.document.Statement[0].Resource, "*");
    });
  }
  await t.step("the policy rebuilt for the account keeps to them too", async () => {
    const allow = await parseAllowList("lambda:full@my-fn", catalog);
    const request = await prepareGrant({ scopes: ["lambda:ro@my-fn"], ttl: "15m" }, {
      catalog,
      allow,
    });
    const placed = await forTarget(request, target, catalog);
    assert.deepEqual(placed.policy.document.Statement.map((s) => s.Resource), [[
      "arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
      "arn:aws:lambda:eu-west-1:123456789012:function:my-fn:*",
    ]]);
  });
});

Deno.test("brokerTarget() expands bare names in the broker role's account, where the session acts", () => {
  const broker = {
    region: "eu-west-1",
    account: "111111111111",
    callerArn: "arn:aws:iam::111111111111:user/dev",
    chained: false,
    roleArn: "arn:aws:iam::222222222222:role/timebound-iam-broker",
    client: {} as Parameters<typeof brokerTarget>[0]["client"],
  };
  assert.deepEqual(brokerTarget(broker), {
    account: "222222222222",
    region: "eu-west-1",
    partition: "aws",
  });
  assert.deepEqual(
    brokerTarget({
      ...broker,
      roleArn: "arn:aws-cn:iam::333333333333:role/b",
      region: "cn-north-1",
    }),
    { account: "333333333333", region: "cn-north-1", partition: "aws-cn" },
  );
});
