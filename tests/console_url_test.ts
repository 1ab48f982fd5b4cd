import assert from "node:assert/strict";
import {
  consoleDestination,
  federationUrl,
  loginUrl,
  partitionOf,
} from "../lib/aws/console_url.ts";
import { UsageError } from "../lib/core/errors.ts";

Deno.test("federationUrl() follows the region's partition and region", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["us-east-1", "aws", "https://us-east-1.signin.aws.amazon.com/federation"],
    ["eu-west-1", "aws", "https://eu-west-1.signin.aws.amazon.com/federation"],
    ["cn-north-1", "aws-cn", "https://signin.amazonaws.cn/federation"],
    ["cn-northwest-1", "aws-cn", "https://signin.amazonaws.cn/federation"],
    ["us-gov-west-1", "aws-us-gov", "https://signin.amazonaws-us-gov.com/federation"],
  ];
  for (const [region, partition, url] of cases) {
    await t.step(region, () => {
      assert.equal(partitionOf(region), partition);
      assert.equal(federationUrl(region, {}).href, url);
    });
  }
});

Deno.test("federationUrl() takes TIMEBOUND_IAM_SIGNIN_URL: https, or http to this machine only", async (t) => {
  const env = (url: string) => ({ TIMEBOUND_IAM_SIGNIN_URL: url });
  await t.step("a proxy's https URL", () => {
    assert.equal(
      federationUrl("cn-north-1", env("https://proxy.example/aws/federation")).href,
      "https://proxy.example/aws/federation",
    );
  });
  await t.step("loopback http", () => {
    assert.equal(
      federationUrl("us-east-1", env("http://127.0.0.1:8080/federation")).href,
      "http://127.0.0.1:8080/federation",
    );
  });
  for (
    const bad of [
      "http://proxy.example/federation",
      "ftp://x/federation",
      "not a url",
      "https://user:pw@proxy.example/federation",
      "https://proxy.example/federation?x=1",
      "https://proxy.example/federation#x",
      `https://proxy.example/${"a".repeat(3000)}`,
    ]
  ) {
    await t.step(`refuses ${bad.slice(0, 40)}`, () => {
      assert.throws(
        () => federationUrl("us-east-1", env(bad)),
        (e) => e instanceof UsageError && /^Invalid TIMEBOUND_IAM_SIGNIN_URL "/.test(e.message),
      );
    });
  }
});

Deno.test("consoleDestination() lands on the region's home, a service's page or a path", async (t) => {
  await t.step("home", () => {
    assert.equal(
      consoleDestination("us-east-1"),
      "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1",
    );
  });
  await t.step("s3", () => {
    assert.equal(
      consoleDestination("eu-central-1", { service: "s3" }),
      "https://eu-central-1.console.aws.amazon.com/s3/home?region=eu-central-1",
    );
  });
  await t.step("logs keeps its fragment after the query", () => {
    assert.equal(
      consoleDestination("us-east-1", { service: "cloudwatch-logs" }),
      "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups",
    );
  });
  await t.step("every service of the table lands on its console host", () => {
    const services = ["apigateway", "athena", "cloudformation", "cloudfront", "cloudtrail"]
      .concat(["cloudwatch", "dynamodb", "ec2", "ecr", "ecs", "eks", "events", "glue", "iam"])
      .concat(["kinesis", "kms", "lambda", "logs", "rds", "route53", "s3", "secretsmanager"])
      .concat(["sns", "sqs", "ssm", "states"]);
    for (const service of services) {
      const url = new URL(consoleDestination("us-west-2", { service }));
      assert.equal(url.host, "us-west-2.console.aws.amazon.com");
      assert.equal(url.searchParams.get("region"), "us-west-2");
    }
  });
  await t.step("cn and us-gov consoles", () => {
    assert.equal(
      consoleDestination("cn-north-1", { service: "DynamoDB" }),
      "https://cn-north-1.console.amazonaws.cn/dynamodbv2/home?region=cn-north-1",
    );
    assert.equal(
      consoleDestination("us-gov-east-1"),
      "https://us-gov-east-1.console.amazonaws-us-gov.com/console/home?region=us-gov-east-1",
    );
  });
  await t.step("a path, with its own query kept", () => {
    assert.equal(
      consoleDestination("us-east-1", { path: "/s3/buckets/my-bucket?tab=objects" }),
      "https://us-east-1.console.aws.amazon.com/s3/buckets/my-bucket?tab=objects&region=us-east-1",
    );
  });
});

Deno.test("consoleDestination() refuses what would leave the console, with one clear line", async (t) => {
  const cases: Array<[string, { service?: string; path?: string }, RegExp]> = [
    ["unknown service", { service: "nosuch" }, /^Unknown --service "nosuch"/],
    ["both", { service: "s3", path: "x" }, /^Give --service or --path, not both$/],
    ["a URL", { path: "https://evil.example/" }, /^Invalid --path ".*": a path, not a URL$/],
    ["scheme-relative", { path: "//evil.example/x" }, /a path, not a URL/],
    ["backslashes", { path: "\\\\evil.example" }, /backslashes/],
    ["whitespace", { path: "s3 home" }, /spaces/],
    ["dot-dot stays on the host", { path: "../../x" }, /^$/],
  ];
  for (const [name, options, pattern] of cases) {
    await t.step(name, () => {
      if (pattern.source === "^$") {
        assert.equal(
          new URL(consoleDestination("us-east-1", options)).host,
          "us-east-1.console.aws.amazon.com",
        );
        return;
      }
      assert.throws(
        () => consoleDestination("us-east-1", options),
        (e) => e instanceof UsageError && pattern.test(e.message),
      );
    });
  }
  await t.step("a region that could change the host", () => {
    assert.throws(() => consoleDestination("evil.example/x"), UsageError);
  });
  await t.step("an isolated partition", () => {
    assert.throws(() => consoleDestination("us-iso-east-1"), /No console sign-in for region/);
  });
});

Deno.test("loginUrl() carries the token and destination, behind the logout unless told not to", () => {
  const federation = new URL("https://us-east-1.signin.aws.amazon.com/federation");
  const destination = "https://us-east-1.console.aws.amazon.com/s3/home?region=us-east-1";
  const direct = new URL(loginUrl("tok+en/=", { federation, destination, logoutFirst: false }));
  assert.equal(direct.origin + direct.pathname, federation.href);
  assert.deepEqual(Object.fromEntries(direct.searchParams), {
    Action: "login",
    Issuer: "timebound-iam",
    Destination: destination,
    SigninToken: "tok+en/=",
  });
  const first = new URL(loginUrl("tok+en/=", { federation, destination, logoutFirst: true }));
  assert.equal(first.href.split("?")[0], "https://us-east-1.signin.aws.amazon.com/oauth");
  assert.equal(first.searchParams.get("Action"), "logout");
  assert.equal(first.searchParams.get("redirect_uri"), direct.href);
});
