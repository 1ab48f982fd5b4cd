// Scopes with resources, without AWS: parsing, merging, expansion of bare names into ARNs per
// service (the expected ARNs are written out here), ARN coverage and the allow list.
import assert from "node:assert/strict";
import { brokerTarget } from "../lib/aws/broker.ts";
import { UsageError } from "../lib/core/errors.ts";
import { accountWideLevel, checkAllowed, parseAllowList } from "../lib/request/allow_list.ts";
import { forTarget, prepareGrant } from "../lib/request/grant_request.ts";
import { loadCatalog } from "../lib/request/catalog.ts";
import { arnCovers, checkBucketName, expandResource } from "../lib/request/resource.ts";
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
      /^name the access point by its ARN, e\.g\. s3:ro@arn:aws:s3:REGION:ACCOUNT:accesspoint\/NAME /,
    ],
    [
      "*-s3alias",
      /^a name ending in -s3alias /,
      /accesspoint\/NAME/,
    ],
    [
      "my-olap-1a4n8yjrb3kda96f67zwrwiiuse1a--ol-s3",
      /^a name ending in --ol-s3 is an Object Lambda Access Point's alias, not a bucket$/,
      /s3-object-lambda:ro@arn:aws:s3-object-lambda:REGION:ACCOUNT:accesspoint\/NAME$/,
    ],
    [
      "mfzwi23gnjvgw.mrap",
      /^a name ending in \.mrap is a Multi-Region Access Point's alias, not a bucket$/,
      /s3:ro@arn:aws:s3::ACCOUNT:accesspoint\/mfzwi23gnjvgw\.mrap /,
    ],
    [
      "data--usw2-az1--x-s3",
      /^a name ending in --x-s3 is a directory bucket, whose actions are s3express's, not s3's$/,
      /s3express:full@arn:aws:s3express:REGION:ACCOUNT:bucket\/data--usw2-az1--x-s3 /,
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
  await t.step("a pattern that also matches buckets passes", () => {
    for (const name of ["logs-*", "logs-s3alia?", "data--x-s3-*", "my-s3alias-logs"]) {
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
  await t.step("a directory bucket's hint is in the ARN's partition", async () => {
    const error = await expand("s3", "arn:aws-us-gov:s3:::d--usw2-az1--x-s3/k").then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof UsageError, String(error));
    assert.match(
      error.hint ?? "",
      /s3express:full@arn:aws-us-gov:s3express:REGION:ACCOUNT:bucket\/d--usw2-az1--x-s3 /,
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
