/**
 * Named resources in scopes (`s3:ro@my-bucket`, `dynamodb:full@Orders`, or any ARN): checking
 * what was written and expanding it to the ARNs a policy names. Expansion is a pure function of
 * the service's resource types (from the catalog) and an {@linkcode ArnTarget} — the caller's
 * account, the grant's region and the partition — so the CLI, `policy` and the MCP server all
 * feed it the same way.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";

/** A resource type of a service as the catalog knows it: its key and ARN format. */
export interface ResourceType {
  /** AWS's key for the type, e.g. `bucket` or `table`. */
  key: string;
  /** The ARN format, e.g. `arn:${Partition}:s3:::${BucketName}`. */
  arn: string;
}

/** Where bare names live: the broker role's account (by default the caller's), the grant's region and the partition. */
export interface ArnTarget {
  /** The 12-digit account, or `*` when unknown (`policy` without `--account`). */
  account: string;
  /** The region, or `*` when unknown. */
  region: string;
  /** The partition: `aws`, `aws-cn`, `aws-us-gov`… */
  partition: string;
}

/** The target used when the account and region are not known: any of them. */
export const ANY_TARGET: ArnTarget = { account: "*", region: "*", partition: "aws" };

/** A named resource, expanded: the ARNs it stands for and their resource types. */
export interface NamedResource {
  /** The resource as written after `@`. */
  written: string;
  /** The ARN patterns a policy names for it. */
  arns: string[];
  /** The keys of the resource types these ARNs are (for counting the actions that apply). */
  types: string[];
  /**
   * For S3 objects under a path (`my-bucket/uploads/*`): the bucket, and the key pattern that
   * `s3:ListBucket` may list there (its `s3:prefix` condition), so that `aws s3 ls` and
   * `aws s3 sync` work within the path and nowhere else.
   */
  listing?: { bucketArn: string; prefix: string };
  /**
   * Set when the name is one that only an old bucket can have (see
   * {@linkcode checkBucketName}): accepted, and said, as it is more often a typo.
   */
  note?: string;
}

/**
 * The resource type a bare name stands for, per service. The name also covers every resource
 * AWS names after it (a bucket's objects, a table's indexes and streams, a function's versions
 * and aliases, a log group's streams, a state machine's executions).
 */
export const BARE_NAME_TYPES: Readonly<Record<string, string>> = {
  s3: "bucket",
  dynamodb: "table",
  sqs: "queue",
  sns: "topic",
  lambda: "function",
  logs: "log-group",
  secretsmanager: "secret",
  ssm: "parameter",
  ecr: "repository",
  states: "statemachine",
};

/**
 * What a bare name means for a service, for people and agents (`undefined` when the service
 * takes ARNs only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeBareName } from "./resource.ts";
 * assert.match(describeBareName("dynamodb") ?? "", /^a table name, with its indexes/);
 * ```
 */
export function describeBareName(service: string): string | undefined {
  return BARE_NAME_MEANING[service];
}

const BARE_NAME_MEANING: Readonly<Record<string, string>> = {
  s3: "a bucket name, with its objects (my-bucket), or objects under a path (my-bucket/path/*)",
  dynamodb: "a table name, with its indexes, streams, backups, exports and imports (Orders)",
  sqs: "a queue name (jobs)",
  sns: "a topic name (alerts)",
  lambda: "a function name, with its versions and aliases (my-fn)",
  logs: "a log group name, with its log streams (/aws/lambda/my-fn)",
  secretsmanager: "a secret name, without AWS's random suffix (prod/db)",
  ssm: "a parameter name (/app/db-password)",
  ecr: "a repository name (web)",
  states: "a state machine name, with its versions, aliases and executions (my-flow)",
};

/** The longest resource accepted after `@`. */
export const MAX_RESOURCE_CHARS = 512;

const FIXED_VARIABLES = new Set(["Partition", "Region", "Account"]);
const VARIABLE = /\$\{([^}]+)\}/g;
const PRINTABLE = /^[\x21-\x7e]+$/;

/**
 * Checks the text after `@` without the catalog: not empty, printable, not too long.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkResourceText } from "./resource.ts";
 * assert.throws(() => checkResourceText("", "s3:ro@"), /no resource after "@"/);
 * ```
 */
export function checkResourceText(text: string, scope: string): void {
  if (!text) {
    throw new UsageError(`Invalid scope "${logText(scope, 100)}": no resource after "@"`, {
      hint: "name a resource (e.g. s3:ro@my-bucket) or drop the @",
    });
  }
  if (text.length > MAX_RESOURCE_CHARS) {
    throw new UsageError(
      `Invalid scope "${
        logText(scope.slice(0, 80))
      }…": the resource is over ${MAX_RESOURCE_CHARS} characters`,
    );
  }
  if (!PRINTABLE.test(text)) {
    throw new UsageError(
      `Invalid resource "${logText(text, 100)}": only printable ASCII characters, no spaces`,
    );
  }
}

/**
 * Expands one resource of a scope to ARN patterns: a full ARN is checked against the service's
 * resource types and kept; a bare name (for the services in {@linkcode BARE_NAME_TYPES}) is
 * written into its type's ARN format with the target's partition, region and account.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandResource } from "./resource.ts";
 * const types = [{ key: "queue", arn: "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}" }];
 * const target = { account: "123456789012", region: "eu-west-1", partition: "aws" };
 * const { arns } = expandResource("sqs", "jobs", types, target);
 * assert.deepEqual(arns, ["arn:aws:sqs:eu-west-1:123456789012:jobs"]);
 * ```
 */
export function expandResource(
  service: string,
  written: string,
  types: readonly ResourceType[],
  target: ArnTarget,
): NamedResource {
  return written.startsWith("arn:")
    ? checkArn(service, written, types)
    : expandBareName(service, written, types, target);
}

function expandBareName(
  service: string,
  name: string,
  types: readonly ResourceType[],
  target: ArnTarget,
): NamedResource {
  const key = BARE_NAME_TYPES[service];
  const primary = key && types.find((type) => type.key === key);
  if (!primary) {
    const example = types[0] ? `, e.g. ${readableFormat(types[0].arn)}` : "";
    throw new UsageError(
      `Resource "${
        logText(name, 100)
      }" of ${service} is not an ARN: ${service} takes no bare names, only ARNs${example}`,
      { hint: `bare names work for ${Object.keys(BARE_NAME_TYPES).join(", ")}` },
    );
  }
  const bucket = name.split("/")[0];
  // An empty bucket: expandObjectPath says what is missing.
  const note = service === "s3" && bucket ? checkBucket(bucket, target.partition) : undefined;
  if (service === "s3" && name.includes("/")) {
    return withNote(expandObjectPath(name, types, target), note);
  }
  const variable = nameVariable(primary.arn);
  const value = service === "ssm"
    ? name.replace(/^\//, "")
    : service === "secretsmanager" && !name.endsWith("*")
    // Secret ARNs end in "-" and six random characters that the name does not have.
    ? `${name}-??????`
    : name;
  const fixed = { Partition: target.partition, Region: target.region, Account: target.account };
  const own = fill(primary.arn, { ...fixed, [variable]: value });
  const related = types.filter((type) => type !== primary && type.arn.includes(`\${${variable}}`));
  const arns = related.map((type) => {
    const arn = fill(type.arn, { ...fixed, [variable]: value });
    const separator = arn[own.length];
    return arn.startsWith(own) && (separator === "/" || separator === ":")
      ? `${own}${separator}*`
      : arn;
  });
  return withNote({
    written: name,
    arns: dropCovered([own, ...arns]),
    types: [primary.key, ...related.map((type) => type.key)],
  }, note);
}

function withNote(resource: NamedResource, note: string | undefined): NamedResource {
  return note === undefined ? resource : { ...resource, note };
}

/**
 * Throws a usage error for a bucket that no bucket can be called; returns the note for one that
 * only an old bucket can be.
 */
function checkBucket(bucket: string, partition: string): string | undefined {
  const shown = `"${logText(bucket, 64)}"`;
  const { invalid, legacy, hint } = checkBucketName(bucket, partition);
  if (invalid) throw new UsageError(`Invalid S3 bucket ${shown}: ${invalid}`, { hint });
  return legacy &&
    `${shown} can only be a bucket created in us-east-1 before March 2018 (${legacy}): ` +
      "if it is not one, check the spelling";
}

/** What {@linkcode checkBucketName} finds. */
export interface BucketNameCheck {
  /** Why no bucket can have the name. */
  invalid?: string;
  /**
   * Why only a legacy bucket can have it: one created in us-east-1 before March 2018, under the
   * rules of the time.
   */
  legacy?: string;
  /**
   * With `invalid`, for a name of another kind of S3 resource (an access point's alias, a
   * directory bucket): how a scope names that resource.
   */
  hint?: string;
}

// Before March 2018, us-east-1 created buckets of 3 to 255 letters (either case), digits, dots,
// hyphens and underscores, beginning with a letter or digit; since then every region holds new
// buckets to 3 to 63 lowercase letters, digits, dots and hyphens, beginning and ending with a
// letter or digit, without two dots in a row. Neither allowed the form of an IP address.
const BUCKET_CHAR = /^[A-Za-z0-9._-]$/;
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;

// The suffixes that S3 keeps for the names of other resources, which no general purpose bucket may
// end with (AWS's naming rules), and which no `s3` bucket ARN can stand for: an access point's
// alias (which no policy can name), an Object Lambda Access Point's alias (whose actions are
// s3-object-lambda's), a Multi-Region Access Point's alias (named by its own ARN), a directory
// bucket (whose actions are s3express's) and an S3 table's warehouse location (read and written
// through s3tables:GetTableData and PutTableData on the table).
const RESERVED_SUFFIXES: ReadonlyArray<
  [suffix: string, what: string, hint: (bucket: string, partition: string) => string]
> = [
  [
    "-s3alias",
    "an access point's alias, not a bucket, and no policy can name an alias",
    (_, p) =>
      `name the access point by its ARN, e.g. s3:ro@arn:${p}:s3:REGION:ACCOUNT:accesspoint/NAME ` +
      "(its objects: …/NAME/object/*)",
  ],
  [
    "--ol-s3",
    "an Object Lambda Access Point's alias, not a bucket",
    (_, p) =>
      "name the Object Lambda Access Point by its ARN, e.g. " +
      `s3-object-lambda:ro@arn:${p}:s3-object-lambda:REGION:ACCOUNT:accesspoint/NAME`,
  ],
  [
    ".mrap",
    "a Multi-Region Access Point's alias, not a bucket",
    (bucket, p) =>
      `name it by its ARN, e.g. s3:ro@arn:${p}:s3::ACCOUNT:accesspoint/${bucket} ` +
      `(its objects: …/${bucket}/object/*)`,
  ],
  [
    "--x-s3",
    "a directory bucket, whose actions are s3express's, not s3's",
    (bucket, p) =>
      "name it in an s3express scope by its ARN, e.g. " +
      `s3express:ro@arn:${p}:s3express:REGION:ACCOUNT:bucket/${bucket}`,
  ],
  [
    "--table-s3",
    "an S3 table's storage (its warehouse location), whose reads are s3tables:GetTableData on " +
    "the table, not s3's",
    (_, p) =>
      "name the table in an s3tables scope by its ARN, e.g. " +
      `s3tables:ro@arn:${p}:s3tables:REGION:ACCOUNT:bucket/TABLE-BUCKET/table/TABLE-ID`,
  ],
];

/**
 * Checks the bucket of an S3 resource (a bare name, or an `arn:…:s3:::` ARN), `*` and `?`
 * included (IAM's wildcards: any run of characters, any one), against AWS's bucket naming rules.
 * `invalid` says why no bucket can have it, even under the legacy rules of us-east-1 before March
 * 2018 (3 to 255 characters, either case, underscores); `legacy` why only such an old bucket can
 * (a name that is more often a typo, but that a bucket may still have); neither is set for a name
 * S3 gives today. A pattern is refused only where no name it matches could be a bucket, so
 * `logs-*` passes. A name with a suffix that S3 keeps for another kind of resource (`-s3alias`,
 * `--ol-s3`, `.mrap`, `--x-s3`, `--table-s3`) is `invalid`, with a `hint` that names that resource
 * the way a scope can (its ARNs in `partition`, by default `aws`); the prefixes AWS reserves for
 * new names (`xn--`, `sthree-`, `amzn-s3-demo-`) are not checked: older buckets may have them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkBucketName } from "./resource.ts";
 * assert.deepEqual(checkBucketName("my-bucket"), {});
 * assert.deepEqual(checkBucketName("logs-*"), {});
 * assert.deepEqual(checkBucketName("My_Bucket"), { legacy: "uppercase letters, underscores" });
 * assert.match(checkBucketName("a").invalid ?? "", /3 to 63 characters/);
 * assert.match(checkBucketName("data--usw2-az1--x-s3").hint ?? "", /^name it in an s3express scope/);
 * ```
 */
export function checkBucketName(bucket: string, partition = "aws"): BucketNameCheck {
  const wrong = [...bucket].find((c) => c !== "*" && c !== "?" && !BUCKET_CHAR.test(c));
  if (wrong !== undefined) {
    return {
      invalid: `a bucket name has lowercase letters, digits, dots and hyphens only, not ${
        characterText(wrong)
      }`,
    };
  }
  const stars = bucket.split("*").length - 1;
  // The fewest characters a name that the pattern matches has: `*` may match none.
  const fewest = bucket.length - stars;
  if (stars === 0 && bucket.length < 3) {
    return { invalid: "a bucket name has 3 to 63 characters" };
  }
  if (fewest > 255) {
    return {
      invalid: "a bucket name has 3 to 63 characters (up to 255 for one created in us-east-1 " +
        "before March 2018)",
    };
  }
  if (/^[._-]/.test(bucket)) return { invalid: "a bucket name begins with a letter or a digit" };
  if (IP_ADDRESS.test(bucket)) return { invalid: "a bucket name is not an IP address" };
  const reserved = RESERVED_SUFFIXES.find(([suffix]) => bucket.endsWith(suffix));
  if (reserved) {
    const [suffix, what, hint] = reserved;
    return {
      invalid: `a name ending in ${suffix} is ${what}`,
      hint: hint(bucket, partition),
    };
  }
  const legacy = [
    /[A-Z]/.test(bucket) ? "uppercase letters" : "",
    bucket.includes("_") ? "underscores" : "",
    fewest > 63 ? "over 63 characters" : "",
    /[._-]$/.test(bucket) ? `"${bucket.at(-1)}" at the end` : "",
    bucket.includes("..") ? "two dots in a row" : "",
  ].filter(Boolean);
  return legacy.length ? { legacy: legacy.join(", ") } : {};
}

/** A character for a message: itself, quoted, when printable ASCII; else its code point. */
function characterText(c: string): string {
  return /^[\x20-\x7e]$/.test(c)
    ? JSON.stringify(c)
    : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** `bucket/path` in S3: the objects under that path. */
function expandObjectPath(
  path: string,
  types: readonly ResourceType[],
  target: ArnTarget,
): NamedResource {
  const slash = path.indexOf("/");
  const bucket = path.slice(0, slash);
  const key = path.slice(slash + 1);
  if (!bucket || !key) {
    throw new UsageError(
      `Invalid S3 resource "${
        logText(path, 100)
      }": expected a bucket (my-bucket) or objects (my-bucket/path/*)`,
    );
  }
  const object = types.find((type) => type.key === "object");
  const bucketType = types.find((type) => type.key === "bucket");
  if (!object || !bucketType) throw new UsageError("The catalog has no S3 bucket or object type");
  const names = { Partition: target.partition, BucketName: bucket, ObjectName: key };
  return {
    written: path,
    arns: [fill(object.arn, names)],
    types: [object.key],
    listing: { bucketArn: fill(bucketType.arn, names), prefix: key },
  };
}

/** A full ARN: of this service, with a region and account where its type has them. */
function checkArn(service: string, arn: string, types: readonly ResourceType[]): NamedResource {
  const parts = splitArn(arn);
  const shown = logText(arn, 200);
  if (!parts) {
    throw new UsageError(
      `Invalid ARN "${shown}": expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`,
    );
  }
  if (!/^(aws[a-z-]*|\*)$/.test(parts.partition)) {
    throw new UsageError(
      `Invalid ARN "${shown}": "${logText(parts.partition, 40)}" is not an AWS partition`,
    );
  }
  const ownServices = new Set(types.map((type) => splitArn(type.arn)?.service));
  if (!ownServices.has(parts.service)) {
    throw new UsageError(
      `ARN "${shown}" belongs to ${logText(parts.service, 64)}, not ${service}`,
      {
        hint: `name it in a ${logText(parts.service, 64)} scope, e.g. ${
          logText(`${parts.service}:ro@${arn}`, 300)
        }`,
      },
    );
  }
  // The closest fit first: a variable matches any text, so a bucket's format (`${BucketName}`)
  // also matches an object's ARN (`bk1/key`), and a log group's a log stream's. The format with
  // the most fixed text around its variables is the type the ARN is.
  const candidates = types.filter((type) => {
    const format = splitArn(type.arn);
    return format?.service === parts.service && formatPattern(format.resource).test(parts.resource);
  }).sort((a, b) => fixedChars(b.arn) - fixedChars(a.arn));
  if (!candidates.length) {
    const forms = types.map((type) => readableFormat(type.arn)).slice(0, 4);
    throw new UsageError(
      `ARN "${shown}" names no ${service} resource type: expected ${forms.join(", ")}` +
        (types.length > forms.length ? ", …" : ""),
    );
  }
  const type = candidates.find((type) => !segmentProblem(type, parts));
  if (!type) {
    // What is wrong for the closest fit: the region of an object's ARN, not of a bucket's.
    throw new UsageError(`Invalid ARN "${shown}": ${segmentProblem(candidates[0], parts)}`);
  }
  return withNote({ written: arn, arns: [arn], types: [type.key] }, arnBucketNote(parts));
}

/** The characters of an ARN format outside its variables. */
function fixedChars(format: string): number {
  return format.replace(VARIABLE, "").length;
}

/**
 * Checks the bucket of an `arn:PARTITION:s3:::BUCKET[/KEY]` as a bare name's (see
 * {@linkcode checkBucket}). A bucket with a policy variable (`${aws:username}`) is taken as
 * written: IAM fills it in when it evaluates the policy.
 */
function arnBucketNote(parts: ArnParts): string | undefined {
  if (parts.service !== "s3" || parts.region || parts.account) return undefined;
  const bucket = parts.resource.split("/")[0];
  if (bucket.includes("${")) return undefined;
  return checkBucket(bucket, parts.partition === "*" ? "aws" : parts.partition);
}

/** What is wrong with the region or account of an ARN for one resource type ("" if nothing). */
function segmentProblem(type: ResourceType, parts: ArnParts): string {
  const format = splitArn(type.arn)!;
  const what = `${format.service} ${type.key} ARNs`;
  for (
    const [segment, name, shape, example] of [
      ["region", "Region", /^[a-z0-9*?-]+$/, "eu-west-1"],
      ["account", "Account", /^(\d{12}|(?=.*[*?])[\d*?]{1,12})$/, "123456789012"],
    ] as const
  ) {
    const expected = format[segment];
    const actual = parts[segment];
    if (expected === "" && actual !== "") {
      return `${what} have no ${segment} ("${logText(actual, 64)}")`;
    }
    if (expected === `\${${name}}`) {
      if (actual === "") {
        const article = segment === "region" ? "a" : "an";
        return `${what} need ${article} ${segment} (e.g. ${example}, or *)`;
      }
      if (!shape.test(actual)) {
        return `"${logText(actual, 64)}" is not ${
          segment === "region" ? "a region" : "an account (12 digits)"
        }`;
      }
    } else if (expected !== "" && actual !== expected && actual !== "*") {
      return `${what} are in ${segment} "${expected}", not "${logText(actual, 64)}"`;
    }
  }
  return "";
}

interface ArnParts {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

function splitArn(arn: string): ArnParts | undefined {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn" || !parts[2]) return undefined;
  const [, partition, service, region, account, ...resource] = parts;
  if (!resource.join(":")) return undefined;
  return { partition, service, region, account, resource: resource.join(":") };
}

/** A regular expression for the resource part of an ARN format (variables match anything). */
function formatPattern(resource: string): RegExp {
  const literal = (text: string) => text.replace(/[.+?^${}()|[\]\\*]/g, "\\$&");
  const pieces = resource.split(VARIABLE);
  const source = pieces.map((piece, i) => i % 2 ? ".+" : literal(piece)).join("");
  return new RegExp(`^${source}$`);
}

/** The variable a bare name fills: the last one that is not the partition, region or account. */
function nameVariable(format: string): string {
  const names = [...format.matchAll(VARIABLE)].map((m) => m[1]);
  return names.filter((name) => !FIXED_VARIABLES.has(name)).at(-1) ?? "";
}

/** Writes values into an ARN format; variables without a value become `*`. */
function fill(format: string, values: Readonly<Record<string, string>>): string {
  return format.replace(VARIABLE, (_, name: string) => values[name] ?? "*");
}

/**
 * An ARN format as people read it: `arn:aws:s3:::BucketName`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readableFormat } from "./resource.ts";
 * assert.equal(readableFormat("arn:${Partition}:sqs:${Region}:${Account}:${QueueName}"), "arn:aws:sqs:REGION:ACCOUNT:QueueName");
 * ```
 */
export function readableFormat(format: string): string {
  return format.replace("${Partition}", "aws").replace(
    VARIABLE,
    (_, name: string) => name === "Region" ? "REGION" : name === "Account" ? "ACCOUNT" : name,
  );
}

/** Drops duplicates and patterns that another `…*` pattern already covers. */
function dropCovered(arns: readonly string[]): string[] {
  const unique = [...new Set(arns)];
  return unique.filter((arn) =>
    !unique.some((other) =>
      other !== arn && other.endsWith("*") && arn.startsWith(other.slice(0, -1))
    )
  );
}

/**
 * Whether every ARN that `inner` matches is matched by `outer` (IAM's `*` and `?`). `outer`'s
 * `*` may stand for anything, `inner`'s wildcards included; its `?` for one character that is
 * not a wildcard of `inner`'s `*`; every other character must be the same.
 *
 * IAM fills in a policy variable (`${aws:username}`, `${aws:PrincipalTag/…}`, one with a default
 * value) when it evaluates a policy, with text of any length that a request or its caller may
 * choose: from its first `${` on, `inner` is taken to stand for anything, unless `outer` is the
 * same text. Compared character by character, `${aws:username}` was covered by fifteen `?` of
 * `outer` (and part of a variable by a literal of `outer`), where IAM matches whatever name the
 * variable stands for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { arnCovers } from "./resource.ts";
 * assert.ok(arnCovers("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/uploads/*"));
 * assert.ok(!arnCovers("arn:aws:s3:::bucket/uploads/*", "arn:aws:s3:::bucket/*"));
 * assert.ok(arnCovers("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/${aws:username}/*"));
 * assert.ok(!arnCovers("arn:aws:s3:::b-????????????????", "arn:aws:s3:::b-${aws:UserAgent}"));
 * ```
 */
export function arnCovers(outer: string, inner: string): boolean {
  const variable = inner.indexOf("${");
  if (variable >= 0) {
    return outer === inner || coversPattern(outer, `${inner.slice(0, variable)}*`);
  }
  return coversPattern(outer, inner);
}

/** {@linkcode arnCovers} for an `inner` without policy variables. */
function coversPattern(outer: string, inner: string): boolean {
  const memo = new Map<string, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === outer.length) {
      result = j === inner.length;
    } else if (outer[i] === "*") {
      result = match(i + 1, j) || (j < inner.length && match(i, j + 1));
    } else if (j === inner.length) {
      result = false;
    } else if (outer[i] === "?") {
      result = inner[j] !== "*" && match(i + 1, j + 1);
    } else {
      // A literal of `outer` never equals a wildcard of `inner`, which may stand for more.
      result = outer[i] === inner[j] && match(i + 1, j + 1);
    }
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}

/**
 * The partition of a region: `aws-cn` for `cn-…`, `aws-us-gov` for `us-gov-…`, else `aws`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { partitionOf } from "./resource.ts";
 * assert.equal(partitionOf("cn-north-1"), "aws-cn");
 * ```
 */
export function partitionOf(region: string): string {
  return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
}
