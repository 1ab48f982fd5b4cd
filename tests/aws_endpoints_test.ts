// Where the signing proxy sends a call: the host the AWS SDK itself would use for the client's
// signing name and region (the real session never goes anywhere else), or the parent's
// AWS_ENDPOINT_URL*, and S3's virtual-hosted addressing.
import assert from "node:assert/strict";
import {
  endpointVariableSuffix,
  partitionOf,
  readEndpointOverrides,
  REGION_PATTERN,
  resolveEndpoint,
  s3Address,
} from "../lib/delivery/aws_endpoints.ts";
import { UsageError } from "../lib/core/errors.ts";

function at(
  service: string,
  region: string,
  options: { path?: string; headers?: Record<string, string> } = {},
) {
  return resolveEndpoint(
    { service, region, path: options.path ?? "/", headers: new Headers(options.headers) },
    new Map(),
  );
}

Deno.test("each region goes to its partition's domain", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["us-east-1", "aws", "sqs.us-east-1.amazonaws.com"],
    ["eu-central-2", "aws", "sqs.eu-central-2.amazonaws.com"],
    ["cn-north-1", "aws-cn", "sqs.cn-north-1.amazonaws.com.cn"],
    ["us-gov-west-1", "aws-us-gov", "sqs.us-gov-west-1.amazonaws.com"],
    ["us-isob-east-1", "aws-iso-b", "sqs.us-isob-east-1.sc2s.sgov.gov"],
    ["us-isof-south-1", "aws-iso-f", "sqs.us-isof-south-1.csp.hci.ic.gov"],
    ["us-iso-east-1", "aws-iso", "sqs.us-iso-east-1.c2s.ic.gov"],
    ["eu-isoe-west-1", "aws-iso-e", "sqs.eu-isoe-west-1.cloud.adc-e.uk"],
    ["eusc-de-east-1", "aws-eusc", "sqs.eusc-de-east-1.amazonaws.eu"],
  ];
  for (const [region, partition, host] of cases) {
    await t.step(region, () => {
      assert.equal(partitionOf(region).name, partition);
      const endpoint = at("sqs", region)!;
      assert.equal(endpoint.url.href, `https://${host}/`);
      assert.equal(endpoint.serviceId, "sqs");
      assert.equal(endpoint.overridden, false);
    });
  }
});

Deno.test("the global services have one host per partition", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["iam", "us-east-1", "iam.amazonaws.com"],
    ["iam", "cn-north-1", "iam.cn-north-1.amazonaws.com.cn"],
    ["iam", "us-gov-west-1", "iam.us-gov.amazonaws.com"],
    ["iam", "us-iso-east-1", "iam.us-iso-east-1.c2s.ic.gov"],
    ["cloudfront", "us-east-1", "cloudfront.amazonaws.com"],
    ["cloudfront", "cn-northwest-1", "cloudfront.cn-northwest-1.amazonaws.com.cn"],
    ["route53", "us-east-1", "route53.amazonaws.com"],
    ["route53", "cn-northwest-1", "route53.amazonaws.com.cn"],
    ["route53", "us-gov-west-1", "route53.us-gov.amazonaws.com"],
    ["organizations", "us-east-1", "organizations.us-east-1.amazonaws.com"],
    ["organizations", "cn-northwest-1", "organizations.cn-northwest-1.amazonaws.com.cn"],
    ["organizations", "us-gov-west-1", "organizations.us-gov-west-1.amazonaws.com"],
    ["waf", "us-east-1", "waf.amazonaws.com"],
    ["budgets", "us-east-1", "budgets.amazonaws.com"],
    ["budgets", "cn-northwest-1", "budgets.amazonaws.com.cn"],
    ["shield", "us-east-1", "shield.us-east-1.amazonaws.com"],
    ["globalaccelerator", "us-west-2", "globalaccelerator.us-west-2.amazonaws.com"],
    ["ce", "us-east-1", "ce.us-east-1.amazonaws.com"],
    ["ce", "cn-northwest-1", "ce.cn-northwest-1.amazonaws.com.cn"],
    ["route53domains", "us-east-1", "route53domains.us-east-1.amazonaws.com"],
    ["networkmanager", "us-west-2", "networkmanager.us-west-2.amazonaws.com"],
  ];
  for (const [service, region, host] of cases) {
    await t.step(`${service} in ${region}`, () => {
      assert.equal(at(service, region)!.url.host, host);
    });
  }
});

Deno.test("signing names whose host prefix differs, and calls told apart by what they send", async (t) => {
  await t.step("prefixes", () => {
    const cases: Array<[string, string]> = [
      ["ses", "email.eu-west-1.amazonaws.com"],
      ["mobiletargeting", "pinpoint.eu-west-1.amazonaws.com"],
      ["ecr", "api.ecr.eu-west-1.amazonaws.com"],
      ["ecr-public", "api.ecr-public.eu-west-1.amazonaws.com"],
      ["pricing", "api.pricing.eu-west-1.amazonaws.com"],
      ["awsssoportal", "portal.sso.eu-west-1.amazonaws.com"],
      ["iotdata", "data-ats.iot.eu-west-1.amazonaws.com"],
      ["logs", "logs.eu-west-1.amazonaws.com"],
    ];
    for (const [service, host] of cases) assert.equal(at(service, "eu-west-1")!.url.host, host);
  });
  await t.step("DynamoDB Streams by its target", () => {
    const streams = at("dynamodb", "eu-west-1", {
      headers: { "x-amz-target": "DynamoDBStreams_20120810.GetRecords" },
    })!;
    assert.equal(streams.url.host, "streams.dynamodb.eu-west-1.amazonaws.com");
    assert.equal(streams.serviceId, "DynamoDB Streams");
    const table = at("dynamodb", "eu-west-1", {
      headers: { "x-amz-target": "DynamoDB_20120810.GetItem" },
    })!;
    assert.equal(table.url.host, "dynamodb.eu-west-1.amazonaws.com");
    assert.equal(table.serviceId, "DynamoDB");
  });
  await t.step("SageMaker Runtime has no target", () => {
    const runtime = at("sagemaker", "eu-west-1", { path: "/endpoints/e/invocations" })!;
    assert.equal(runtime.url.host, "runtime.sagemaker.eu-west-1.amazonaws.com");
    assert.equal(runtime.serviceId, "SageMaker Runtime");
    const api = at("sagemaker", "eu-west-1", {
      headers: { "x-amz-target": "SageMaker.ListEndpoints" },
    })!;
    assert.equal(api.url.host, "sagemaker.eu-west-1.amazonaws.com");
  });
  await t.step("Bedrock Runtime by its path", () => {
    for (const path of ["/model/m/invoke", "/guardrail/g/version/1/apply"]) {
      const runtime = at("bedrock", "us-east-1", { path })!;
      assert.equal(runtime.url.host, "bedrock-runtime.us-east-1.amazonaws.com");
      assert.equal(runtime.serviceId, "Bedrock Runtime");
    }
    for (const path of ["/foundation-models", "/x/model/m"]) {
      assert.equal(
        at("bedrock", "us-east-1", { path })!.url.host,
        "bedrock.us-east-1.amazonaws.com",
      );
    }
  });
  await t.step("S3 Control: the account in the host only when it is twelve digits", () => {
    const control = (account?: string) =>
      at("s3", "eu-west-1", {
        path: "/v20180820/jobs",
        headers: account === undefined ? {} : { "x-amz-account-id": account },
      })!;
    assert.equal(
      control("123456789012").url.host,
      "123456789012.s3-control.eu-west-1.amazonaws.com",
    );
    assert.equal(control("123456789012").serviceId, "S3 Control");
    for (const bad of [undefined, "12345678901", "1234567890123", "evil.com#", "12345678901a"]) {
      assert.equal(control(bad).url.host, "s3-control.eu-west-1.amazonaws.com", String(bad));
    }
    assert.equal(
      at("s3", "eu-west-1", { path: "/b/v20180820/" })!.url.host,
      "s3.eu-west-1.amazonaws.com",
    );
  });
});

Deno.test("a scope that names no real region or service gets no endpoint", async (t) => {
  const bad: Array<[string, string]> = [
    ["s3", "evil.com"],
    ["s3", "us-east-1.evil.com/x"],
    ["s3", "us-east"],
    ["s3", "us-east-123"],
    ["s3", "u-east-1"],
    ["s3", "abcde-east-1"],
    ["s3", "us-a-1"],
    ["s3", "us-abcdefghijk-1"],
    ["s3", "us-a1-b2-c3-d4-1"],
    ["s3", "US-EAST-1"],
    ["s3", " us-east-1"],
    ["evil.com", "us-east-1"],
    ["-s3", "us-east-1"],
    ["S3", "us-east-1"],
    ["", "us-east-1"],
    ["a".repeat(64), "us-east-1"],
    ["s3/", "us-east-1"],
  ];
  for (const [service, region] of bad) {
    await t.step(`${service.slice(0, 20)} in ${region}`, () => {
      assert.equal(at(service, region), undefined);
    });
  }
  await t.step("the longest names that are real still resolve", () => {
    assert.equal(REGION_PATTERN.source, "^[a-z]{2,4}(-[a-z]{2,10}){1,3}-\\d{1,2}$");
    assert.ok(REGION_PATTERN.test("ap-southeast-12"));
    assert.ok(REGION_PATTERN.test("us-gov-east-1"));
    assert.ok(REGION_PATTERN.test("us-isob-east-1"));
    assert.equal(
      at("a".repeat(63), "us-east-1")!.url.host,
      `${"a".repeat(63)}.us-east-1.amazonaws.com`,
    );
    assert.equal(at("9s", "us-east-1")!.serviceId, "9s");
  });
});

Deno.test("the parent's AWS_ENDPOINT_URL_<SERVICE> wins, then AWS_ENDPOINT_URL", async (t) => {
  const overrides = readEndpointOverrides({
    AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
    AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000/base",
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: "https://logs.internal",
    AWS_ENDPOINT_URL_DYNAMODB_STREAMS: "http://127.0.0.1:8001",
    AWS_ENDPOINT_URL_API_GATEWAY: "http://127.0.0.1:8002",
    AWS_ENDPOINT_URL_EC2: "",
    AWS_ENDPOINT_URLS: "http://ignored",
    PATH: "/usr/bin",
  });
  assert.deepEqual([...overrides.keys()].sort(), [
    "",
    "API_GATEWAY",
    "CLOUDWATCH_LOGS",
    "DYNAMODB_STREAMS",
    "S3",
  ]);
  const resolve = (service: string, headers: Record<string, string> = {}) =>
    resolveEndpoint(
      { service, region: "eu-west-1", path: "/", headers: new Headers(headers) },
      overrides,
    )!;
  await t.step("a service's own variable", () => {
    const s3 = resolve("s3");
    assert.equal(s3.url.href, "http://127.0.0.1:9000/base");
    assert.equal(s3.overridden, true);
    assert.equal(resolve("logs").url.href, "https://logs.internal/");
    assert.equal(resolve("apigateway").url.href, "http://127.0.0.1:8002/");
    assert.equal(
      resolve("dynamodb", { "x-amz-target": "DynamoDBStreams_20120810.ListStreams" }).url.href,
      "http://127.0.0.1:8001/",
    );
  });
  await t.step("the general variable for the others", () => {
    assert.equal(resolve("dynamodb").url.href, "http://127.0.0.1:4566/");
    assert.equal(resolve("ec2").url.href, "http://127.0.0.1:4566/");
    assert.equal(resolve("iam").overridden, true);
  });
  await t.step("each call gets its own URL object", () => {
    const a = resolve("s3");
    a.url.pathname = "/changed";
    assert.equal(resolve("s3").url.pathname, "/base");
  });
  await t.step("an unlisted signing name's id and variable", () => {
    assert.equal(endpointVariableSuffix("Elastic Load Balancing v2"), "ELASTIC_LOAD_BALANCING_V2");
    assert.equal(endpointVariableSuffix("ecr-public"), "ECR_PUBLIC");
    const only = readEndpointOverrides({ AWS_ENDPOINT_URL_SSO_OIDC: "http://127.0.0.1:7" });
    const sso = resolveEndpoint(
      { service: "sso-oidc", region: "eu-west-1", path: "/", headers: new Headers() },
      only,
    )!;
    assert.equal(sso.serviceId, "sso oidc");
    assert.equal(sso.url.href, "http://127.0.0.1:7/");
  });
});

Deno.test("an endpoint variable that is not a plain http(s) URL is refused with its name and why", async (t) => {
  const bad: Array<[string, string]> = [
    ["not a url", "it is not a URL"],
    ["ftp://127.0.0.1/", 'its scheme is "ftp:"'],
    ["file:///etc/passwd", 'its scheme is "file:"'],
    ["http://127.0.0.1/?x=1", "it has a query or fragment"],
    ["http://127.0.0.1/#x", "it has a query or fragment"],
    ["http://user@127.0.0.1/", "it holds a user name or password"],
    ["http://:pw@127.0.0.1/", "it holds a user name or password"],
  ];
  for (const [value, why] of bad) {
    await t.step(value, () => {
      assert.throws(
        () => readEndpointOverrides({ AWS_ENDPOINT_URL_STS: value }),
        (error: Error) => {
          assert.ok(error instanceof UsageError);
          assert.equal(error.message, `Invalid AWS_ENDPOINT_URL_STS: ${why}`);
          return true;
        },
      );
    });
  }
  await t.step("the value itself is never repeated (it may hold a password)", () => {
    const long = `x${"y".repeat(300)}`;
    assert.throws(
      () => readEndpointOverrides({ AWS_ENDPOINT_URL: long }),
      { message: "Invalid AWS_ENDPOINT_URL: it is not a URL" },
    );
  });
});

Deno.test("s3Address() puts a DNS-safe bucket into the host, as the SDKs do", async (t) => {
  const s3 = at("s3", "eu-west-1")!;
  const cases: Array<[string, { host?: string; path: string }]> = [
    ["/photos/cat.jpg", { host: "photos.s3.eu-west-1.amazonaws.com", path: "/cat.jpg" }],
    ["/photos", { host: "photos.s3.eu-west-1.amazonaws.com", path: "/" }],
    ["/photos/", { host: "photos.s3.eu-west-1.amazonaws.com", path: "/" }],
    ["/a-b9/k/l", { host: "a-b9.s3.eu-west-1.amazonaws.com", path: "/k/l" }],
    ["/", { path: "/" }],
    ["/my.bucket/k", { path: "/my.bucket/k" }],
    ["/My-Bucket/k", { path: "/My-Bucket/k" }],
    ["/ab/k", { path: "/ab/k" }],
    ["/-ab/k", { path: "/-ab/k" }],
    ["/ab-/k", { path: "/ab-/k" }],
    [`/${"a".repeat(64)}/k`, { path: `/${"a".repeat(64)}/k` }],
    ["/b_c/k", { path: "/b_c/k" }],
    ["photos/k", { path: "photos/k" }],
  ];
  for (const [path, address] of cases) {
    await t.step(path.slice(0, 30), () => assert.deepEqual(s3Address(s3, path), address));
  }
  await t.step("the longest bucket name still moves", () => {
    const name = "a".repeat(63);
    assert.equal(s3Address(s3, `/${name}/k`).host, `${name}.s3.eu-west-1.amazonaws.com`);
  });
  await t.step("an overridden endpoint or another service keeps the path", () => {
    const local = resolveEndpoint(
      { service: "s3", region: "eu-west-1", path: "/", headers: new Headers() },
      readEndpointOverrides({ AWS_ENDPOINT_URL: "http://127.0.0.1:9000" }),
    )!;
    assert.deepEqual(s3Address(local, "/photos/cat.jpg"), { path: "/photos/cat.jpg" });
    assert.deepEqual(s3Address(at("sqs", "eu-west-1")!, "/photos/cat.jpg"), {
      path: "/photos/cat.jpg",
    });
  });
});

Deno.test("each signing name follows the AWS_ENDPOINT_URL_<SERVICE> the SDKs document for it", () => {
  // Signing name → the variable's suffix, from the SDKs' service-specific endpoint table.
  const variables: Record<string, string> = {
    "s3": "S3",
    "dynamodb": "DYNAMODB",
    "sts": "STS",
    "iam": "IAM",
    "logs": "CLOUDWATCH_LOGS",
    "monitoring": "CLOUDWATCH",
    "events": "EVENTBRIDGE",
    "states": "SFN",
    "elasticloadbalancing": "ELASTIC_LOAD_BALANCING_V2",
    "cognito-idp": "COGNITO_IDENTITY_PROVIDER",
    "cognito-identity": "COGNITO_IDENTITY",
    "es": "OPENSEARCH",
    "ses": "SES",
    "mobiletargeting": "PINPOINT",
    "elasticmapreduce": "EMR",
    "elasticfilesystem": "EFS",
    "application-autoscaling": "APPLICATION_AUTO_SCALING",
    "autoscaling": "AUTO_SCALING",
    "secretsmanager": "SECRETS_MANAGER",
    "route53": "ROUTE_53",
    "route53domains": "ROUTE_53_DOMAINS",
    "apigateway": "API_GATEWAY",
    "servicecatalog": "SERVICE_CATALOG",
    "ce": "COST_EXPLORER",
    "ecr": "ECR",
    "ecr-public": "ECR_PUBLIC",
    "pricing": "PRICING",
    "awsssoportal": "SSO",
    "iotdata": "IOT_DATA_PLANE",
    "kinesisanalytics": "KINESIS_ANALYTICS_V2",
    "cloudhsm": "CLOUDHSM_V2",
    "sqs": "SQS",
    "lambda": "LAMBDA",
    "sso-oidc": "SSO_OIDC",
  };
  for (const [service, suffix] of Object.entries(variables)) {
    const overrides = readEndpointOverrides({
      [`AWS_ENDPOINT_URL_${suffix}`]: "http://127.0.0.1:1",
    });
    const endpoint = resolveEndpoint(
      { service, region: "eu-west-1", path: "/", headers: new Headers() },
      overrides,
    )!;
    assert.equal(endpoint.url.href, "http://127.0.0.1:1/", `${service} → ${suffix}`);
    assert.equal(endpointVariableSuffix(endpoint.serviceId), suffix);
  }
});

Deno.test("a global service answers at its one host whatever region the client signs for", () => {
  const cases: Array<[string, string, string]> = [
    ["organizations", "eu-west-1", "organizations.us-east-1.amazonaws.com"],
    ["organizations", "cn-north-1", "organizations.cn-northwest-1.amazonaws.com.cn"],
    ["organizations", "us-gov-east-1", "organizations.us-gov-west-1.amazonaws.com"],
    ["shield", "eu-west-1", "shield.us-east-1.amazonaws.com"],
    ["globalaccelerator", "us-east-1", "globalaccelerator.us-west-2.amazonaws.com"],
    ["ce", "eu-west-1", "ce.us-east-1.amazonaws.com"],
    ["ce", "cn-north-1", "ce.cn-northwest-1.amazonaws.com.cn"],
    ["route53domains", "eu-west-1", "route53domains.us-east-1.amazonaws.com"],
    ["networkmanager", "us-east-1", "networkmanager.us-west-2.amazonaws.com"],
  ];
  for (const [service, region, host] of cases) {
    assert.equal(at(service, region)!.url.host, host, `${service} signed for ${region}`);
  }
});

Deno.test("what tells a variant apart counts only for its own signing name", () => {
  const streams = { "x-amz-target": "DynamoDBStreams_20120810.GetRecords" };
  assert.equal(
    at("kinesis", "eu-west-1", { headers: streams })!.url.host,
    "kinesis.eu-west-1.amazonaws.com",
  );
  assert.equal(
    at("lambda", "eu-west-1", { path: "/model/m/invoke" })!.url.host,
    "lambda.eu-west-1.amazonaws.com",
  );
  assert.equal(
    at("s3-outposts", "eu-west-1", {
      path: "/v20180820/jobs",
      headers: { "x-amz-account-id": "123456789012" },
    })!
      .url.host,
    "s3-outposts.eu-west-1.amazonaws.com",
  );
  const control = at("s3", "eu-west-1", { path: "/v20180820/jobs" })!;
  assert.equal(control.serviceId, "S3 Control");
  const overridden = resolveEndpoint(
    { service: "s3", region: "eu-west-1", path: "/v20180820/jobs", headers: new Headers() },
    readEndpointOverrides({
      AWS_ENDPOINT_URL_S3_CONTROL: "http://127.0.0.1:5",
      AWS_ENDPOINT_URL: "http://127.0.0.1:6",
    }),
  )!;
  assert.equal(overridden.url.href, "http://127.0.0.1:5/");
});

Deno.test("only AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> are endpoint variables", () => {
  const overrides = readEndpointOverrides({
    MY_AWS_ENDPOINT_URL: "not even a url",
    XAWS_ENDPOINT_URL_S3: "http://127.0.0.1:1",
  });
  assert.equal(overrides.size, 0);
});

Deno.test("a refused endpoint variable comes with a hint of what to give", () => {
  assert.throws(
    () => readEndpointOverrides({ AWS_ENDPOINT_URL_S3: "ftp://127.0.0.1/" }),
    (error: Error) =>
      error instanceof UsageError &&
      error.hint === "give an http(s) URL such as http://127.0.0.1:4566, without credentials in it",
  );
});
