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
  await t.step("loopback http is refused where fetch would send it through a proxy", () => {
    const url = "http://127.0.0.1:8080/federation";
    const proxied = { ...env(url), HTTP_PROXY: "http://proxy.example:3128" };
    assert.throws(
      () => federationUrl("us-east-1", proxied),
      (e) =>
        e instanceof UsageError &&
        e.message.endsWith(
          "plain http would go through the proxy in HTTP_PROXY, session included",
        ) &&
        e.hint === "add 127.0.0.1 to NO_PROXY, or use an https URL",
    );
    const bypassed = { ...proxied, NO_PROXY: "localhost,127.0.0.1" };
    assert.equal(federationUrl("us-east-1", bypassed).href, url);
    const https = { ...proxied, TIMEBOUND_IAM_SIGNIN_URL: "https://proxy.example/federation" };
    assert.equal(federationUrl("us-east-1", https).href, "https://proxy.example/federation");
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

Deno.test("--service opens each service's own console page", () => {
  const pages: Record<string, string> = {
    apigateway: "apigateway/main/apis",
    athena: "athena/home",
    cloudformation: "cloudformation/home",
    cloudfront: "cloudfront/v4/home",
    cloudtrail: "cloudtrail/home",
    cloudwatch: "cloudwatch/home",
    dynamodb: "dynamodbv2/home",
    ec2: "ec2/home",
    ecr: "ecr/private-registry/repositories",
    ecs: "ecs/v2/home",
    eks: "eks/home",
    events: "events/home",
    eventbridge: "events/home",
    glue: "glue/home",
    iam: "iam/home",
    kinesis: "kinesis/home",
    kms: "kms/home",
    lambda: "lambda/home",
    logs: "cloudwatch/home",
    rds: "rds/home",
    route53: "route53/v2/home",
    s3: "s3/home",
    secretsmanager: "secretsmanager/listsecrets",
    sns: "sns/v3/home",
    sqs: "sqs/v3/home",
    ssm: "systems-manager/home",
    states: "states/home",
    stepfunctions: "states/home",
  };
  for (const [service, page] of Object.entries(pages)) {
    const url = new URL(consoleDestination("us-west-2", { service }));
    assert.equal(url.pathname, `/${page}`, service);
  }
});

Deno.test("consoleDestination() keeps what a path says and bounds what it takes", async (t) => {
  const home = "https://us-east-1.console.aws.amazon.com/";
  await t.step("a path without a leading slash", () => {
    assert.equal(
      consoleDestination("us-east-1", { path: "s3/buckets/my-bucket" }),
      `${home}s3/buckets/my-bucket?region=us-east-1`,
    );
  });
  await t.step("a colon after the first word is part of the page, not a scheme", () => {
    assert.equal(
      consoleDestination("us-east-1", { path: "cloudwatch/home#logsV2:log-groups" }),
      `${home}cloudwatch/home?region=us-east-1#logsV2:log-groups`,
    );
  });
  await t.step("a path's own region is kept", () => {
    assert.equal(
      consoleDestination("us-east-1", { path: "ec2/home?region=eu-west-1#Instances:" }),
      `${home}ec2/home?region=eu-west-1#Instances:`,
    );
  });
  await t.step("512 characters are taken, 513 refused with the limit and a hint", () => {
    const page = `s3/${"a".repeat(509)}`;
    assert.equal(new URL(consoleDestination("us-east-1", { path: page })).pathname, `/${page}`);
    assert.throws(
      () => consoleDestination("us-east-1", { path: `${page}b` }),
      (e) =>
        e instanceof UsageError && /": longer than 512 characters$/.test(e.message) &&
        e.hint === "give the page's path on the console host, e.g. --path s3/buckets/my-bucket",
    );
  });
  await t.step("the refusals say why, with the path hint", () => {
    const cases: Array<[string, string]> = [
      ["s3\thome", "spaces, backslashes or control characters"],
      ["javascript:alert(1)", "a path, not a URL"],
    ];
    for (const [path, why] of cases) {
      assert.throws(
        () => consoleDestination("us-east-1", { path }),
        (e) =>
          e instanceof UsageError && e.message.endsWith(`": ${why}`) &&
          /^give the page's path/.test(e.hint ?? ""),
      );
    }
  });
  await t.step("an unknown service's hint lists the services", () => {
    assert.throws(
      () => consoleDestination("us-east-1", { service: "nosuch" }),
      (e) =>
        e instanceof UsageError &&
        e.message === 'Unknown --service "nosuch": no console page known for it' &&
        e.hint ===
          "use one of apigateway, athena, cloudformation, cloudfront, cloudtrail, cloudwatch, " +
            "dynamodb, ec2, ecr, ecs, eks, events, glue, iam, kinesis, kms, lambda, logs, rds, " +
            "route53, s3, secretsmanager, sns, sqs, ssm, states, or --path PAGE",
    );
  });
});

Deno.test("the isolated partitions and a bad region are refused, saying where console works", async (t) => {
  for (const region of ["us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "eusc-de-east-1"]) {
    await t.step(region, () => {
      assert.throws(
        () => partitionOf(region),
        (e) =>
          e instanceof UsageError &&
          e.message === `No console sign-in for region "${region}": its partition has none` &&
          e.hint === "timebound-iam console works in the aws, aws-cn and aws-us-gov partitions",
      );
    });
  }
  await t.step("a region over the length limit names the region", () => {
    assert.throws(
      () => partitionOf(`us-east-${"1".repeat(40)}`),
      (e) => e instanceof UsageError && /^Invalid region "/.test(e.message),
    );
  });
});

Deno.test("TIMEBOUND_IAM_SIGNIN_URL: empty is unset; each refusal says why, with a hint", async (t) => {
  const env = (url: string) => ({ TIMEBOUND_IAM_SIGNIN_URL: url });
  await t.step("empty", () => {
    assert.equal(
      federationUrl("eu-west-1", env("")).href,
      "https://eu-west-1.signin.aws.amazon.com/federation",
    );
  });
  await t.step("loopback by name and IPv6", () => {
    for (const url of ["http://localhost:9/federation", "http://[::1]:9/federation"]) {
      assert.equal(federationUrl("us-east-1", env(url)).href, url);
    }
  });
  await t.step("a URL of 2048 characters is taken", () => {
    const url = `https://proxy.example/${"a".repeat(2048 - 22)}`;
    assert.equal(url.length, 2048);
    assert.equal(federationUrl("us-east-1", env(url)).href, url);
  });
  const cases: Array<[string, string]> = [
    [`https://proxy.example/${"a".repeat(2027)}`, "longer than 2048 characters"],
    ["not a url", "not a URL"],
    ["http://proxy.example/federation", "use https (plain http only to this machine)"],
    ["ftp://127.0.0.1/federation", "use https (plain http only to this machine)"],
    ["https://user@proxy.example/federation", "no user, password, query or fragment"],
    ["https://:pw@proxy.example/federation", "no user, password, query or fragment"],
    ["https://proxy.example/federation?x=1", "no user, password, query or fragment"],
    ["https://proxy.example/federation#x", "no user, password, query or fragment"],
  ];
  for (const [url, why] of cases) {
    await t.step(`${url.slice(0, 40)}: ${why}`, () => {
      assert.throws(
        () => federationUrl("us-east-1", env(url)),
        (e) =>
          e instanceof UsageError && e.message.endsWith(`": ${why}`) &&
          e.hint === "e.g. https://signin.aws.amazon.com/federation, or unset it",
      );
    });
  }
});
