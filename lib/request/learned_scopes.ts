/**
 * Learn mode: the narrowest scopes that allow every call a run made (`exec --masked --learn`).
 * Each call's API operation becomes the IAM actions it needs (S3's REST operations by AWS's
 * table, others by name), checked against the catalog; each service gets the lowest level whose
 * actions cover its calls (`list` where only List actions were used), on the resources the calls
 * named where a bare name can say it (an S3 object or bucket, a DynamoDB table, a function…),
 * and service-wide otherwise. A call whose actions cannot be told makes its service `full`, with
 * a note: the line must allow every call, so in doubt it is wider, never narrower. A scope whose
 * level also allows credential-minting actions gets a note that names them. An S3 copy reads
 * its source, which the call record names from the signed `x-amz-copy-source`: it is learned as
 * `ro` on that object (a note asks for it where it is not known).
 *
 * @module
 */

import type { Catalog } from "./catalog.ts";
import { mintingActionsAllowed, mintingActionsOf } from "./minting_actions.ts";
import { BARE_NAME_TYPES, checkBucketName } from "./resource.ts";
import { formatScopes, type Level, LEVEL_ORDER, type Scope } from "./scope.ts";
import { scopeActions } from "./session_policy.ts";

/** A call as learn mode reads it. */
export interface LearnedCall {
  /** The signing name, e.g. `s3`. */
  service: string;
  /** The API operation, e.g. `GetObject`. */
  action: string;
  /** The resource the request named: `bucket`, `bucket/key`, a table… */
  resource?: string;
  /** An S3 copy's source object, `bucket/key`, where the request named it. */
  source?: string;
}

/** What learn mode suggests. */
export interface LearnedScopes {
  /** The scopes, by service. */
  scopes: Scope[];
  /** The `-s` value: `s3:ro@my-bucket/key,dynamodb:ro@Orders` (empty when nothing is needed). */
  text: string;
  /** Why a scope is wider than the calls alone would say, or a call needs no scope. */
  notes: string[];
}

/** Signing names that differ from the IAM prefix. */
const SIGNING_PREFIXES: Readonly<Record<string, string>> = {
  monitoring: "cloudwatch",
  email: "ses",
  "execute-api": "execute-api",
  "aws-marketplace": "aws-marketplace",
};

/** Calls that need no permission at all. */
const NO_PERMISSION = new Set(["sts:GetCallerIdentity"]);

/** S3's REST operations whose IAM actions have other names (AWS's S3 user guide's table). */
const S3_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  ListBuckets: ["ListAllMyBuckets"],
  ListObjects: ["ListBucket"],
  ListObjectsV2: ["ListBucket"],
  HeadBucket: ["ListBucket"],
  HeadObject: ["GetObject"],
  ListObjectVersions: ["ListBucketVersions"],
  ListMultipartUploads: ["ListBucketMultipartUploads"],
  ListParts: ["ListMultipartUploadParts"],
  CreateMultipartUpload: ["PutObject"],
  UploadPart: ["PutObject"],
  UploadPartCopy: ["PutObject", "GetObject"],
  CompleteMultipartUpload: ["PutObject"],
  CopyObject: ["PutObject", "GetObject"],
  DeleteObjects: ["DeleteObject"],
  GetBucketCors: ["GetBucketCORS"],
  PutBucketCors: ["PutBucketCORS"],
  DeleteBucketCors: ["PutBucketCORS"],
  GetBucketLifecycleConfiguration: ["GetLifecycleConfiguration"],
  PutBucketLifecycleConfiguration: ["PutLifecycleConfiguration"],
  DeleteBucketLifecycle: ["PutLifecycleConfiguration"],
  GetBucketEncryption: ["GetEncryptionConfiguration"],
  PutBucketEncryption: ["PutEncryptionConfiguration"],
  DeleteBucketEncryption: ["PutEncryptionConfiguration"],
  DeleteBucketTagging: ["PutBucketTagging"],
  GetBucketNotificationConfiguration: ["GetBucketNotification"],
  PutBucketNotificationConfiguration: ["PutBucketNotification"],
  DeleteBucketWebsite: ["DeleteBucketWebsite"],
};

/** S3's operations that copy an object: their source is a header, not the call's resource. */
const S3_COPIES = new Set(["CopyObject", "UploadPartCopy"]);

/** At most this many resources per service; past that the scope is service-wide. */
const MAX_RESOURCES = 10;
/** A name a scope can carry after `@` as a bare name (no commas, spaces or wildcards). */
const BARE = /^[A-Za-z0-9._-]{1,255}$/;
const S3_KEY = /^[A-Za-z0-9._\-/]{1,400}$/;

/**
 * Whether a scope can name a recorded bucket: a bare name that could be a bucket, which
 * `s3:…@` accepts (a request may name one that cannot, which no scope can carry).
 */
function nameableBucket(bucket: string): boolean {
  return BARE.test(bucket) && checkBucketName(bucket).invalid === undefined;
}

/**
 * The narrowest scopes that allow every call in `calls`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCatalog } from "./catalog.ts";
 * import { learnScopes } from "./learned_scopes.ts";
 * const learned = await learnScopes([
 *   { service: "s3", action: "GetObject", resource: "reports/q3.csv" },
 *   { service: "dynamodb", action: "GetItem", resource: "Orders" },
 * ], await loadCatalog());
 * assert.equal(learned.text, "s3:ro@reports/q3.csv,dynamodb:ro@Orders");
 * ```
 */
export async function learnScopes(
  calls: readonly LearnedCall[],
  catalog: Catalog,
): Promise<LearnedScopes> {
  const notes: string[] = [];
  // Per service: the IAM actions each resource needs ("" for calls that name none).
  const needs = new Map<string, Map<string, Set<string>>>();
  const wide = new Set<string>();
  for (const call of calls) {
    const prefix = SIGNING_PREFIXES[call.service] ?? call.service;
    const service = catalog.lookup(prefix);
    if (service === undefined) {
      note(notes, `"${call.service}" is not a service IAM knows: its calls are not covered`);
      continue;
    }
    const name = `${service.prefix}:${call.action}`;
    if (NO_PERMISSION.has(name)) {
      note(notes, `${name} needs no permission`);
      continue;
    }
    const actions = await iamActions(service.prefix, call.action, catalog);
    if (actions === undefined) {
      note(notes, `${service.prefix}: cannot tell which IAM action "${call.action}" is: full`);
      wide.add(service.prefix);
      continue;
    }
    const byResource = needs.get(service.prefix) ?? new Map<string, Set<string>>();
    needs.set(service.prefix, byResource);
    for (const [resource, wanted] of await resourceNeeds(service.prefix, call, actions, catalog)) {
      const set = byResource.get(resource) ?? new Set<string>();
      for (const action of wanted) set.add(action);
      byResource.set(resource, set);
    }
    if (service.prefix === "s3" && S3_COPIES.has(call.action) && sourceOf(call) === undefined) {
      note(
        notes,
        `s3:${call.action} also reads its source object, which the call does not name: add it ` +
          "to the line (s3:ro@BUCKET/KEY)",
      );
    }
  }
  const scopes: Scope[] = [];
  for (const prefix of [...new Set([...needs.keys(), ...wide])]) {
    if (wide.has(prefix)) {
      scopes.push({ service: prefix, level: "full" });
      continue;
    }
    scopes.push(...await scopesOf(prefix, collapse(prefix, needs.get(prefix)!), catalog));
  }
  for (const scope of scopes) {
    const minted = await mintingAllowed(scope, catalog);
    if (minted.length === 0) continue;
    const named = minted.length > 3 ? `${minted.slice(0, 3).join(", ")}…` : minted.join(", ");
    note(
      notes,
      `${formatScopes([scope])} also allows credential-minting actions (${named}): the masked ` +
        "proxy refuses them; without --masked they would hand out real credentials",
    );
  }
  return { scopes, text: formatScopes(scopes), notes };
}

/**
 * The credential-minting actions (see `minting_actions.ts`) that a scope's level allows. No call
 * the run made needed one (the proxy refused those, and refused calls are not learned), but a
 * level chosen for other calls may allow them, and the line may be used without `--masked`.
 */
async function mintingAllowed(scope: Scope, catalog: Catalog): Promise<string[]> {
  if (mintingActionsOf(scope.service).length === 0) return [];
  const level = { service: scope.service, level: scope.level };
  return mintingActionsAllowed(scope.service, await scopeActions(level, catalog));
}

function note(notes: string[], line: string): void {
  if (!notes.includes(line)) notes.push(line);
}

/**
 * What a call needs, resource by resource. A copy whose source is known writes its target
 * (`s3:PutObject`) and reads its source (`s3:GetObject`, and `s3:GetObjectVersion` for a copy of a
 * version, which the call record does not tell apart: both are `ro`). One whose source is not
 * known is held to its target alone, with both actions there, and a note.
 */
async function resourceNeeds(
  prefix: string,
  call: LearnedCall,
  actions: readonly string[],
  catalog: Catalog,
): Promise<Array<[string, readonly string[]]>> {
  const source = prefix === "s3" && S3_COPIES.has(call.action) ? sourceOf(call) : undefined;
  if (source === undefined) {
    return [[await resourceOf(prefix, call.resource, actions, catalog), actions]];
  }
  const write = (await iamActions("s3", "PutObject", catalog))!;
  const read = [
    ...(await iamActions("s3", "GetObject", catalog))!,
    ...(await iamActions("s3", "GetObjectVersion", catalog))!,
  ];
  return [
    [await resourceOf("s3", call.resource, write, catalog), write],
    [await resourceOf("s3", source, read, catalog), read],
  ];
}

/**
 * A copy's source where a scope can name its bucket (so that it can never make S3 service-wide);
 * a key a scope cannot name (a comma, a wildcard, a cut one ending in `…`) names the bucket.
 */
function sourceOf(call: LearnedCall): string | undefined {
  if (call.source === undefined) return undefined;
  return nameableBucket(call.source.split("/")[0]) ? call.source : undefined;
}

/** The IAM actions (catalog spelling) an operation needs, or `undefined` if unknown. */
async function iamActions(
  prefix: string,
  operation: string,
  catalog: Catalog,
): Promise<string[] | undefined> {
  const names = prefix === "s3" ? S3_ACTIONS[operation] ?? [operation] : [operation];
  const known = await catalog.actions(prefix);
  const found = names.map((name) =>
    known.find((action) => action.name.toLowerCase() === name.toLowerCase())?.name
  );
  return found.every((name) => name !== undefined) ? found as string[] : undefined;
}

/** The resource a scope can name for the call (`""`: none, so service-wide). */
async function resourceOf(
  prefix: string,
  resource: string | undefined,
  actions: readonly string[],
  catalog: Catalog,
): Promise<string> {
  if (resource === undefined || BARE_NAME_TYPES[prefix] === undefined) return "";
  // An action that names no resource (s3:ListAllMyBuckets) cannot be held to one.
  const known = await catalog.actions(prefix);
  const named = actions.every((name) =>
    (known.find((action) => action.name === name)?.resourceTypes ?? []).length > 0
  );
  if (!named) return "";
  if (prefix !== "s3") return BARE.test(resource) ? resource : "";
  const [bucket, ...key] = resource.split("/");
  if (!nameableBucket(bucket)) return "";
  return key.length && S3_KEY.test(resource) && !resource.includes("//") ? resource : bucket;
}

/**
 * A service's resources, made fewer where they must be: any call without one makes the service
 * resource-wide; an S3 bucket that is named itself covers its objects, and so does one with
 * more than a few objects; past {@linkcode MAX_RESOURCES} the service is resource-wide.
 */
function collapse(prefix: string, byResource: Map<string, Set<string>>): Map<string, Set<string>> {
  const merged = (groups: Iterable<[string, Set<string>]>, key: (r: string) => string) => {
    const out = new Map<string, Set<string>>();
    for (const [resource, actions] of groups) {
      const target = out.get(key(resource)) ?? new Set<string>();
      for (const action of actions) target.add(action);
      out.set(key(resource), target);
    }
    return out;
  };
  let groups = byResource;
  if (prefix === "s3") {
    const buckets = new Map<string, number>();
    for (const resource of groups.keys()) {
      const bucket = resource.split("/")[0];
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    }
    groups = merged(groups, (resource) => {
      const bucket = resource.split("/")[0];
      return groups.has(bucket) || (buckets.get(bucket) ?? 0) > 3 ? bucket : resource;
    });
  }
  if (groups.has("") || groups.size > MAX_RESOURCES) groups = merged(groups, () => "");
  return groups;
}

/** The scopes of one service: per resource, the lowest level that covers its actions. */
async function scopesOf(
  prefix: string,
  groups: Map<string, Set<string>>,
  catalog: Catalog,
): Promise<Scope[]> {
  const byLevel = new Map<Level, string[]>();
  for (const [resource, actions] of groups) {
    const level = await lowestLevel(prefix, actions, catalog);
    byLevel.set(level, [...byLevel.get(level) ?? [], resource]);
  }
  return LEVEL_ORDER.filter((level) => byLevel.has(level)).map((level) => {
    const resources = byLevel.get(level)!;
    return resources.includes("")
      ? { service: prefix, level }
      : { service: prefix, level, resources: resources.sort() };
  });
}

async function lowestLevel(
  prefix: string,
  actions: ReadonlySet<string>,
  catalog: Catalog,
): Promise<Level> {
  for (const level of LEVEL_ORDER) {
    const patterns = (await scopeActions({ service: prefix, level }, catalog)).map(patternOf);
    if ([...actions].every((action) => patterns.some((p) => p.test(`${prefix}:${action}`)))) {
      return level;
    }
  }
  return "full";
}

/** An IAM action pattern (`s3:Get*`) as a case-insensitive regular expression. */
function patternOf(pattern: string): RegExp {
  const body = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "i");
}
