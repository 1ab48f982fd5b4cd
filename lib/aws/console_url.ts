/**
 * The addresses of the AWS console's sign-in: the federation endpoint of the region's partition
 * (aws, aws-cn, aws-us-gov), the console page to land on (the region's home, a service's page
 * from {@linkcode CONSOLE_SERVICES}, or a path), and the login URL that carries a sign-in token,
 * optionally behind the console's logout so that it replaces a session already open in the
 * browser (as aws-vault's `login --auto-logout` does). Pure: no network, no secret kept.
 *
 * `TIMEBOUND_IAM_SIGNIN_URL` replaces the federation endpoint's URL (for a user behind a proxy
 * or an account with its own sign-in endpoint); the console pages stay AWS's.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { checkRegion } from "../request/input_bounds.ts";

/** An AWS partition whose console a federated session can open. */
export type Partition = "aws" | "aws-cn" | "aws-us-gov";

/** The variable that replaces the federation endpoint's URL. */
export const SIGNIN_URL_VARIABLE = "TIMEBOUND_IAM_SIGNIN_URL";

/** What the login URL names as its issuer (the console links to it when the session ends). */
export const ISSUER = "timebound-iam";

const PATH_MAX = 512;
const URL_MAX = 2048;

/**
 * The console page of each service `--service` knows, under the region's console host (a `#`
 * starts the page's fragment). Other pages: `--path`.
 */
export const CONSOLE_SERVICES: Readonly<Record<string, string>> = {
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
  glue: "glue/home",
  iam: "iam/home",
  kinesis: "kinesis/home",
  kms: "kms/home",
  lambda: "lambda/home",
  logs: "cloudwatch/home#logsV2:log-groups",
  rds: "rds/home",
  route53: "route53/v2/home",
  s3: "s3/home",
  secretsmanager: "secretsmanager/listsecrets",
  sns: "sns/v3/home",
  sqs: "sqs/v3/home",
  ssm: "systems-manager/home",
  states: "states/home",
};

/** Other names `--service` takes (the scope aliases that name a service in the table). */
const SERVICE_ALIASES: Readonly<Record<string, string>> = {
  "cloudwatch-logs": "logs",
  eventbridge: "events",
  stepfunctions: "states",
};

const PARTITIONS: Readonly<
  Record<Partition, { signin: (region: string) => string; console: string }>
> = {
  aws: { signin: (region) => `${region}.signin.aws.amazon.com`, console: "console.aws.amazon.com" },
  "aws-cn": { signin: () => "signin.amazonaws.cn", console: "console.amazonaws.cn" },
  "aws-us-gov": {
    signin: () => "signin.amazonaws-us-gov.com",
    console: "console.amazonaws-us-gov.com",
  },
};

/**
 * The partition of a region: `cn-…` is aws-cn, `us-gov-…` aws-us-gov, the rest aws. The isolated
 * partitions have no public console sign-in and are refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionOf } from "./console_url.ts";
 * assert.equal(partitionOf("cn-north-1"), "aws-cn");
 * assert.equal(partitionOf("eu-west-1"), "aws");
 * ```
 */
export function partitionOf(region: string): Partition {
  checkRegion(region, "region");
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (/^(us-iso|eu-iso|eusc-)/.test(region)) {
    throw new UsageError(`No console sign-in for region "${region}": its partition has none`, {
      hint: "timebound-iam console works in the aws, aws-cn and aws-us-gov partitions",
    });
  }
  return "aws";
}

/**
 * The federation endpoint for `region`: `TIMEBOUND_IAM_SIGNIN_URL` when set (an `https` URL, or
 * `http` to this machine only and not through an `HTTP_PROXY` that `NO_PROXY` leaves it to,
 * without credentials, query or fragment), else the partition's
 * (`https://REGION.signin.aws.amazon.com/federation`, `https://signin.amazonaws.cn/federation`,
 * `https://signin.amazonaws-us-gov.com/federation`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { federationUrl } from "./console_url.ts";
 * assert.equal(
 *   federationUrl("us-gov-west-1", {}).href,
 *   "https://signin.amazonaws-us-gov.com/federation",
 * );
 * ```
 */
export function federationUrl(region: string, env: Readonly<Record<string, string>>): URL {
  const partition = partitionOf(region);
  const override = env[SIGNIN_URL_VARIABLE];
  if (override === undefined || override === "") {
    return new URL(`https://${PARTITIONS[partition].signin(region)}/federation`);
  }
  return checkSigninUrl(override, env);
}

const PROXY_VARIABLES = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/**
 * The proxy variable that would carry a plain-http request to `url`'s host, if any: fetch sends
 * loopback requests through `HTTP_PROXY` too, unless `NO_PROXY` names the host itself.
 */
function proxyFor(url: URL, env: Readonly<Record<string, string>>): string | undefined {
  const bypass = `${env.NO_PROXY ?? ""},${env.no_proxy ?? ""}`.split(",").map((h) => h.trim());
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (bypass.includes(host) || bypass.includes(url.hostname)) return undefined;
  return PROXY_VARIABLES.find((name) => env[name]);
}

function checkSigninUrl(text: string, env: Readonly<Record<string, string>>): URL {
  const invalid = (why: string) =>
    new UsageError(`Invalid ${SIGNIN_URL_VARIABLE} "${logText(text, 80)}": ${why}`, {
      hint: "e.g. https://signin.aws.amazon.com/federation, or unset it",
    });
  if (text.length > URL_MAX) throw invalid(`longer than ${URL_MAX} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid("not a URL");
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw invalid("use https (plain http only to this machine)");
  }
  if (url.username || url.password || url.search || url.hash) {
    throw invalid("no user, password, query or fragment");
  }
  // The session travels in the request: plain http through a proxy would hand it over in clear.
  const proxy = url.protocol === "http:" ? proxyFor(url, env) : undefined;
  if (proxy !== undefined) {
    throw new UsageError(
      `Invalid ${SIGNIN_URL_VARIABLE} "${logText(text, 80)}": plain http would go through ` +
        `the proxy in ${proxy}, session included`,
      { hint: `add ${url.hostname} to NO_PROXY, or use an https URL` },
    );
  }
  return url;
}

/** Where the console opens: a service's page or a path, else the region's home. */
export interface DestinationOptions {
  /** A service of {@linkcode CONSOLE_SERVICES} (or an alias of one). */
  service?: string;
  /** A path under the region's console host, e.g. `s3/buckets/my-bucket`. */
  path?: string;
}

/**
 * The console page to land on in `region`: `https://REGION.CONSOLE-HOST/console/home?region=…`,
 * or the page of `service`, or `path` on that host, each with `region=REGION` in its query.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { consoleDestination } from "./console_url.ts";
 * assert.equal(
 *   consoleDestination("eu-west-1", { service: "s3" }),
 *   "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1",
 * );
 * ```
 */
export function consoleDestination(region: string, options: DestinationOptions = {}): string {
  const base = new URL(`https://${region}.${PARTITIONS[partitionOf(region)].console}/`);
  if (options.service !== undefined && options.path !== undefined) {
    throw new UsageError("Give --service or --path, not both");
  }
  const page = options.service !== undefined
    ? servicePage(options.service)
    : options.path !== undefined
    ? checkPath(options.path)
    : "console/home";
  const url = new URL(page, base);
  if (url.origin !== base.origin) {
    throw new UsageError(
      `Invalid --path "${logText(options.path ?? "", 80)}": it leaves the console`,
    );
  }
  if (!url.searchParams.has("region")) url.searchParams.set("region", region);
  return url.href;
}

function servicePage(name: string): string {
  const key = name.toLowerCase();
  const page = CONSOLE_SERVICES[SERVICE_ALIASES[key] ?? key];
  if (page === undefined) {
    throw new UsageError(`Unknown --service "${logText(name, 40)}": no console page known for it`, {
      hint: `use one of ${Object.keys(CONSOLE_SERVICES).join(", ")}, or --path PAGE`,
    });
  }
  return page;
}

function checkPath(path: string): string {
  const invalid = (why: string) =>
    new UsageError(`Invalid --path "${logText(path, 80)}": ${why}`, {
      hint: "give the page's path on the console host, e.g. --path s3/buckets/my-bucket",
    });
  if (path.length > PATH_MAX) throw invalid(`longer than ${PATH_MAX} characters`);
  // deno-lint-ignore no-control-regex
  if (/[\s\u0000-\u001f\u007f\\]/.test(path)) {
    throw invalid("spaces, backslashes or control characters");
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith("//")) {
    throw invalid("a path, not a URL");
  }
  return path.replace(/^\/+/, "");
}

/** How the login URL is built. */
export interface LoginUrlOptions {
  /** The federation endpoint that issued the token ({@linkcode federationUrl}). */
  federation: URL;
  /** The console page to land on ({@linkcode consoleDestination}). */
  destination: string;
  /** Go through the console's logout first, so the new session replaces an open one. */
  logoutFirst: boolean;
}

/**
 * The URL that signs the browser in with `signinToken` and lands on the destination:
 * `FEDERATION?Action=login&Issuer=timebound-iam&Destination=…&SigninToken=…`, or, with
 * `logoutFirst`, the sign-in host's `oauth?Action=logout&redirect_uri=` that login URL. A bearer
 * secret for 15 minutes: never print or log it (`--print` is the one exception).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loginUrl } from "./console_url.ts";
 * const url = new URL(loginUrl("TOKEN", {
 *   federation: new URL("https://signin.amazonaws.cn/federation"),
 *   destination: "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1",
 *   logoutFirst: true,
 * }));
 * assert.equal(url.origin + url.pathname, "https://signin.amazonaws.cn/oauth");
 * assert.equal(new URL(url.searchParams.get("redirect_uri")!).searchParams.get("SigninToken"), "TOKEN");
 * ```
 */
export function loginUrl(signinToken: string, options: LoginUrlOptions): string {
  const login = new URL(options.federation);
  login.search = new URLSearchParams({
    Action: "login",
    Issuer: ISSUER,
    Destination: options.destination,
    SigninToken: signinToken,
  }).toString();
  if (!options.logoutFirst) return login.href;
  const logout = new URL("oauth", options.federation);
  logout.search = new URLSearchParams({ Action: "logout", redirect_uri: login.href }).toString();
  return logout.href;
}
