/**
 * Where the signing proxy sends a call: the AWS endpoint that the SDK itself would have used for
 * the signing service and region of the client's credential scope, or the endpoint the parent's
 * own `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` names. Partitions (China, GovCloud, the
 * isolated regions, the European Sovereign Cloud), the global services (IAM, CloudFront, Route 53,
 * Organizations…) and the signing names that differ from the endpoint's prefix (SES signs `ses`
 * at `email.…`, Pinpoint `mobiletargeting` at `pinpoint.…`) are known here; a service not listed
 * lives at `<signing name>.<region>.<partition's domain>`, as most do. Every host built here ends
 * in a partition's own domain: a client's scope cannot send the real session anywhere else.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { ignoresConfiguredEndpoints, sdkBoolean } from "../aws/endpoint_url.ts";

/** What the proxy knows of a call when it picks the endpoint. */
export interface EndpointQuery {
  /** The signing name from the credential scope. */
  service: string;
  /** The signing region from the credential scope. */
  region: string;
  /** The path as sent (percent-encoded). */
  path: string;
  /** The request's headers (`x-amz-target`, `x-amz-account-id`). */
  headers: Headers;
}

/** The endpoint of one call. */
export interface Endpoint {
  /** The URL to send to (origin, path and no query). */
  url: URL;
  /** The SDK's service id the call was matched to, e.g. `S3`, `DynamoDB Streams`. */
  serviceId: string;
  /** Whether the URL came from the parent's `AWS_ENDPOINT_URL*`. */
  overridden: boolean;
}

/** The endpoint variables of the parent, parsed once. */
export type EndpointOverrides = ReadonlyMap<string, URL>;

interface Partition {
  name: string;
  suffix: string;
}

const PARTITIONS: Array<[RegExp, Partition]> = [
  [/^cn-/, { name: "aws-cn", suffix: "amazonaws.com.cn" }],
  [/^us-gov-/, { name: "aws-us-gov", suffix: "amazonaws.com" }],
  [/^us-isob-/, { name: "aws-iso-b", suffix: "sc2s.sgov.gov" }],
  [/^us-isof-/, { name: "aws-iso-f", suffix: "csp.hci.ic.gov" }],
  [/^us-iso-/, { name: "aws-iso", suffix: "c2s.ic.gov" }],
  [/^eu-isoe-/, { name: "aws-iso-e", suffix: "cloud.adc-e.uk" }],
  [/^eusc-/, { name: "aws-eusc", suffix: "amazonaws.eu" }],
];
const AWS: Partition = { name: "aws", suffix: "amazonaws.com" };

/** A region name as AWS spells them (`us-east-1`, `cn-northwest-1`, `us-gov-west-1`). */
export const REGION_PATTERN = /^[a-z]{2,4}(-[a-z]{2,10}){1,3}-\d{1,2}$/;
const SERVICE_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The partition of a region. */
export function partitionOf(region: string): Partition {
  return PARTITIONS.find(([pattern]) => pattern.test(region))?.[1] ?? AWS;
}

/**
 * The global services: one endpoint per partition, whatever region the client signs for (it
 * signs for the partition's home region, e.g. `us-east-1`). A partition not listed uses the
 * regional form.
 */
const GLOBAL_HOSTS: Record<string, Record<string, string>> = {
  iam: {
    "aws": "iam.amazonaws.com",
    "aws-cn": "iam.cn-north-1.amazonaws.com.cn",
    "aws-us-gov": "iam.us-gov.amazonaws.com",
  },
  cloudfront: {
    "aws": "cloudfront.amazonaws.com",
    "aws-cn": "cloudfront.cn-northwest-1.amazonaws.com.cn",
  },
  route53: {
    "aws": "route53.amazonaws.com",
    "aws-cn": "route53.amazonaws.com.cn",
    "aws-us-gov": "route53.us-gov.amazonaws.com",
  },
  organizations: {
    "aws": "organizations.us-east-1.amazonaws.com",
    "aws-cn": "organizations.cn-northwest-1.amazonaws.com.cn",
    "aws-us-gov": "organizations.us-gov-west-1.amazonaws.com",
  },
  waf: { "aws": "waf.amazonaws.com" },
  budgets: { "aws": "budgets.amazonaws.com", "aws-cn": "budgets.amazonaws.com.cn" },
  shield: { "aws": "shield.us-east-1.amazonaws.com" },
  globalaccelerator: { "aws": "globalaccelerator.us-west-2.amazonaws.com" },
  ce: { "aws": "ce.us-east-1.amazonaws.com", "aws-cn": "ce.cn-northwest-1.amazonaws.com.cn" },
  route53domains: { "aws": "route53domains.us-east-1.amazonaws.com" },
  networkmanager: { "aws": "networkmanager.us-west-2.amazonaws.com" },
};

/**
 * A service as the SDKs name it: the endpoint prefix (when it is not the signing name) and the
 * service id, whose upper-case, underscored form names its `AWS_ENDPOINT_URL_<SERVICE>`.
 */
interface ServiceEntry {
  prefix?: string;
  id: string;
}

/** Signing names whose endpoint prefix or service id is not the signing name itself. */
const SERVICES: Record<string, ServiceEntry> = {
  "s3": { id: "S3" },
  "dynamodb": { id: "DynamoDB" },
  "sts": { id: "STS" },
  "iam": { id: "IAM" },
  "logs": { id: "CloudWatch Logs" },
  "monitoring": { id: "CloudWatch" },
  "events": { id: "EventBridge" },
  "states": { id: "SFN" },
  "elasticloadbalancing": { id: "Elastic Load Balancing v2" },
  "cognito-idp": { id: "Cognito Identity Provider" },
  "cognito-identity": { id: "Cognito Identity" },
  "es": { id: "OpenSearch" },
  "ses": { prefix: "email", id: "SES" },
  "mobiletargeting": { prefix: "pinpoint", id: "Pinpoint" },
  "elasticmapreduce": { id: "EMR" },
  "elasticfilesystem": { id: "EFS" },
  "application-autoscaling": { id: "Application Auto Scaling" },
  "autoscaling": { id: "Auto Scaling" },
  "secretsmanager": { id: "Secrets Manager" },
  "route53": { id: "Route 53" },
  "route53domains": { id: "Route 53 Domains" },
  "apigateway": { id: "API Gateway" },
  "servicecatalog": { id: "Service Catalog" },
  "ce": { id: "Cost Explorer" },
  "ecr": { prefix: "api.ecr", id: "ECR" },
  "ecr-public": { prefix: "api.ecr-public", id: "ECR PUBLIC" },
  "pricing": { prefix: "api.pricing", id: "Pricing" },
  "awsssoportal": { prefix: "portal.sso", id: "SSO" },
  "iotdata": { prefix: "data-ats.iot", id: "IoT Data Plane" },
  "kinesisanalytics": { id: "Kinesis Analytics V2" },
  "cloudhsm": { id: "CloudHSM V2" },
};

/** Calls that share a signing name with another service, told apart by what they send. */
function variantOf(query: EndpointQuery): ServiceEntry | undefined {
  const target = query.headers.get("x-amz-target") ?? "";
  if (query.service === "dynamodb" && target.startsWith("DynamoDBStreams_")) {
    return { prefix: "streams.dynamodb", id: "DynamoDB Streams" };
  }
  if (query.service === "sagemaker" && target === "") {
    return { prefix: "runtime.sagemaker", id: "SageMaker Runtime" };
  }
  if (query.service === "bedrock" && /^\/(model|guardrail)\//.test(query.path)) {
    return { prefix: "bedrock-runtime", id: "Bedrock Runtime" };
  }
  if (query.service === "s3" && query.path.startsWith("/v20180820/")) {
    const account = query.headers.get("x-amz-account-id") ?? "";
    // The account is part of S3 Control's host name: only twelve digits may go there.
    if (!/^\d{12}$/.test(account)) return { prefix: "s3-control", id: "S3 Control" };
    return { prefix: `${account}.s3-control`, id: "S3 Control" };
  }
  return undefined;
}

/** The `AWS_ENDPOINT_URL_<SERVICE>` suffix of a service id, as the SDKs form it. */
export function endpointVariableSuffix(serviceId: string): string {
  return serviceId.toUpperCase().replace(/[ -]/g, "_");
}

/**
 * Reads the parent's `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` (keyed `""` and the
 * suffix), refusing one that is not an http(s) URL without user name, password, query or fragment
 * (in one line that does not repeat the value). None when an SDK given the parent's environment
 * (an unmasked child's) would ignore them, and send to AWS's own endpoints: when the parent's
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is exactly `true`, or when it is not exactly `true` or
 * `false` and `profileSetting` (the `ignore_configured_endpoint_urls` of the profile the SDK
 * reads, see {@linkcode loadEndpointOverrides}) is exactly `true`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readEndpointOverrides } from "./aws_endpoints.ts";
 * const overrides = readEndpointOverrides({ AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000" });
 * assert.equal(overrides.get("S3")?.host, "127.0.0.1:9000");
 * const ignored = { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" };
 * assert.equal(readEndpointOverrides(ignored).size, 0);
 * assert.equal(readEndpointOverrides({ AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000" }, "true").size, 0);
 * ```
 */
export function readEndpointOverrides(
  env: Readonly<Record<string, string>>,
  profileSetting?: string,
): EndpointOverrides {
  const overrides = new Map<string, URL>();
  if (ignoresConfiguredEndpoints(env, profileSetting)) return overrides;
  for (const [name, value] of Object.entries(env)) {
    const match = ENDPOINT_VARIABLE.exec(name);
    if (match === null || value === "") continue;
    overrides.set(match[1] ?? "", endpointUrl(name, value));
  }
  return overrides;
}

const ENDPOINT_VARIABLE = /^AWS_ENDPOINT_URL(?:_([A-Z0-9_]+))?$/;

/**
 * {@linkcode readEndpointOverrides} with the `ignore_configured_endpoint_urls` of the profile an
 * SDK given `env` reads (`AWS_PROFILE`'s, else `[default]`; read with the SDK's loader, exactly
 * `true` as the AWS SDK for JavaScript reads it). The shared files are read only when the setting
 * can matter: an endpoint variable is set and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is not exactly
 * `true` or `false`.
 */
export async function loadEndpointOverrides(
  env: Readonly<Record<string, string>>,
): Promise<EndpointOverrides> {
  const matters = sdkBoolean(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) === undefined &&
    Object.entries(env).some(([name, value]) => value !== "" && ENDPOINT_VARIABLE.test(name));
  if (!matters) return readEndpointOverrides(env);
  const { clientIgnoreSetting } = await import("../aws/profile_endpoint.ts");
  return readEndpointOverrides(env, await clientIgnoreSetting(env));
}

/**
 * An endpoint variable's URL, or the refusal of one that is not an http(s) URL without user name,
 * password, query or fragment. The refusal never repeats the value: a URL may hold a password.
 */
function endpointUrl(name: string, value: string): URL {
  const url = URL.parse(value);
  const why = url === null
    ? "it is not a URL"
    : !["http:", "https:"].includes(url.protocol)
    ? `its scheme is "${logText(url.protocol, 20)}"`
    : url.username !== "" || url.password !== ""
    ? "it holds a user name or password"
    : url.search !== "" || url.hash !== ""
    ? "it has a query or fragment"
    : undefined;
  if (url === null || why !== undefined) {
    throw new UsageError(`Invalid ${name}: ${why}`, {
      hint: "give an http(s) URL such as http://127.0.0.1:4566, without credentials in it",
    });
  }
  return url;
}

/**
 * The endpoint of a call, or `undefined` when its scope names no real region or service (the
 * proxy refuses such a call). The parent's service variable wins, then its `AWS_ENDPOINT_URL`,
 * then AWS's own endpoint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveEndpoint } from "./aws_endpoints.ts";
 * const at = (service: string, region: string) =>
 *   resolveEndpoint({ service, region, path: "/", headers: new Headers() }, new Map())?.url.host;
 * assert.equal(at("iam", "us-east-1"), "iam.amazonaws.com");
 * assert.equal(at("ses", "eu-west-1"), "email.eu-west-1.amazonaws.com");
 * assert.equal(at("s3", "cn-north-1"), "s3.cn-north-1.amazonaws.com.cn");
 * ```
 */
export function resolveEndpoint(
  query: EndpointQuery,
  overrides: EndpointOverrides,
): Endpoint | undefined {
  if (!REGION_PATTERN.test(query.region) || !SERVICE_PATTERN.test(query.service)) {
    return undefined;
  }
  // Own entries only: a scope naming `constructor` is a service like any unknown one.
  const known = Object.hasOwn(SERVICES, query.service) ? SERVICES[query.service] : undefined;
  const entry = variantOf(query) ?? known ?? { id: query.service.replace(/-/g, " ") };
  const override = overrides.get(endpointVariableSuffix(entry.id)) ?? overrides.get("");
  if (override !== undefined) {
    return { url: new URL(override.href), serviceId: entry.id, overridden: true };
  }
  const partition = partitionOf(query.region);
  const hosts = Object.hasOwn(GLOBAL_HOSTS, query.service) ? GLOBAL_HOSTS[query.service] : {};
  const global = Object.hasOwn(hosts, partition.name) ? hosts[partition.name] : undefined;
  const host = global ?? `${entry.prefix ?? query.service}.${query.region}.${partition.suffix}`;
  return { url: new URL(`https://${host}/`), serviceId: entry.id, overridden: false };
}

/**
 * The URL of an S3 call: a bucket whose name is a valid DNS label without dots moves from the
 * path into the host (`bucket.s3.region…`), as the SDKs address S3 today; others stay in the
 * path. An overridden endpoint keeps the path as the client sent it.
 */
export function s3Address(endpoint: Endpoint, path: string): { host?: string; path: string } {
  if (endpoint.overridden || endpoint.serviceId !== "S3") return { path };
  const match = /^\/([^/?]+)(\/.*)?$/.exec(path);
  const bucket = match?.[1];
  if (bucket === undefined || !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket)) return { path };
  return { host: `${bucket}.${endpoint.url.host}`, path: match![2] ?? "/" };
}
