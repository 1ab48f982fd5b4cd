/**
 * Who a session serves, as CloudTrail shows it: the `SourceIdentity` (the human behind the base
 * credentials) and the session tags `timebound-iam:client` (the CLI, or the MCP client that
 * asked) and `timebound-iam:scopes`. Pure functions: names are made to fit AWS's rules here, so
 * AssumeRole never refuses them.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { formatScopes, type Scope } from "./scope.ts";

/** One session tag, as AssumeRole takes it. */
export interface SessionTag {
  /** The tag key (`timebound-iam:client`, `timebound-iam:scopes`). */
  Key: string;
  /** The tag value, at most 256 characters of AWS's tag alphabet. */
  Value: string;
}

/** The tag that names the client: `cli`, or the MCP client's name and version. */
export const CLIENT_TAG = "timebound-iam:client";
/** The tag that lists the granted scopes. */
export const SCOPES_TAG = "timebound-iam:scopes";

/** AWS's limit on a session tag value, in characters. */
export const MAX_TAG_VALUE_CHARS = 256;

const SOURCE_IDENTITY = /^[\w+=,.@-]{2,64}$/;
// AWS's tag alphabet: letters, spaces, numbers and _ . : / = + - @
const TAG_CHAR = /[\p{L}\p{Z}\p{N}_.:/=+\-@]/u;
// The same alphabet's ASCII part. Text made only of it (scopes, most client names) is kept as it
// is without the Unicode classes above, whose first use costs a grant's start about a millisecond.
const ASCII_TAG_TEXT = /^[A-Za-z0-9 _.:/=+\-@]*$/;

/**
 * The name of the human behind a caller ARN, as a SourceIdentity: an IAM user's name, an
 * assumed-role (SSO) or federated caller's session name, `root` for the account root, made to
 * fit AWS's rule (2–64 characters of `[\w+=,.@-]`): accents are dropped, any other character
 * becomes `-`, a name longer than 64 is cut, a one-letter name is padded with `_`. Undefined when
 * the ARN names nobody.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourceIdentityOf } from "./session_identity.ts";
 * assert.equal(sourceIdentityOf("arn:aws:iam::123456789012:user/ops/José García"), "Jose-Garcia");
 * assert.equal(
 *   sourceIdentityOf("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev/alice@example.com"),
 *   "alice@example.com",
 * );
 * ```
 */
export function sourceIdentityOf(callerArn: string): string | undefined {
  const resource = callerArn.split(":").slice(5).join(":");
  let name: string | undefined;
  if (resource === "root") name = "root";
  else if (resource.startsWith("user/")) name = resource.split("/").pop();
  else if (resource.startsWith("assumed-role/")) name = resource.split("/").slice(2).join("/");
  else if (resource.startsWith("federated-user/")) name = resource.slice("federated-user/".length);
  if (!name) return undefined;
  return sanitizeSourceIdentity(name);
}

/**
 * The principal behind a caller's ARN, as a trust policy names it: an assumed role's session
 * without its session name (which may change with every session), any other ARN as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { callerPrincipal } from "./session_identity.ts";
 * assert.equal(
 *   callerPrincipal("arn:aws:sts::123456789012:assumed-role/Dev/aws-sdk-js-1733390000000"),
 *   "arn:aws:sts::123456789012:assumed-role/Dev",
 * );
 * assert.equal(
 *   callerPrincipal("arn:aws:iam::123456789012:user/ops/alice"),
 *   "arn:aws:iam::123456789012:user/ops/alice",
 * );
 * ```
 */
export function callerPrincipal(callerArn: string): string {
  const match = /^(arn:[^:]*:sts::[^:]*:assumed-role\/[^/]+)\/.*$/.exec(callerArn);
  return match ? match[1] : callerArn;
}

/**
 * Makes any name fit AWS's SourceIdentity rule: accents dropped, other characters outside
 * `[\w+=,.@-]` become `-`, cut to 64 characters, padded to 2 with `_`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sanitizeSourceIdentity } from "./session_identity.ts";
 * assert.equal(sanitizeSourceIdentity("a"), "a_");
 * assert.equal(sanitizeSourceIdentity("Zoë O'Brien"), "Zoe-O-Brien");
 * ```
 */
export function sanitizeSourceIdentity(name: string): string {
  // Printable ASCII has no accents to drop: no Unicode normalisation (and its first-use cost).
  const plain = /^[ -~]*$/.test(name) ? name : name.normalize("NFKD").replace(/\p{M}/gu, "");
  const safe = plain.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);
  return safe.padEnd(2, "_");
}

/**
 * Checks a SourceIdentity given by the human (`--source-identity`): it is sent as it is, so it
 * must already fit AWS's rule.
 */
export function checkSourceIdentity(name: string): string {
  if (!SOURCE_IDENTITY.test(name)) {
    throw new UsageError(
      `Invalid source identity "${logText(name, 100)}": use 2 to 64 letters, digits and _+=,.@-`,
      { hint: "e.g. --source-identity alice@example.com" },
    );
  }
  return name;
}

/**
 * Makes text fit a session tag value: characters outside AWS's tag alphabet become `-`, control
 * characters go, and the text is cut to 256 characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tagValue } from "./session_identity.ts";
 * assert.equal(tagValue("Claude Code (1.0)\n"), "Claude Code -1.0-");
 * ```
 */
export function tagValue(text: string): string {
  if (ASCII_TAG_TEXT.test(text)) return text.slice(0, MAX_TAG_VALUE_CHARS);
  const chars = [...text.replace(/\p{Cc}/gu, "")].map((c) => TAG_CHAR.test(c) ? c : "-");
  return chars.slice(0, MAX_TAG_VALUE_CHARS).join("");
}

/**
 * The session tags of a grant: the client (`cli`, or `name/version` of an MCP client) and the
 * scopes, space-separated (AWS allows no comma in a tag value) and shortened to 256 characters
 * with `+N more` when there are too many.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sessionTags } from "./session_identity.ts";
 * const tags = sessionTags({ client: "cli", scopes: [{ service: "s3", level: "ro" }] });
 * assert.equal(tags[1].Value, "s3:ro");
 * ```
 */
export function sessionTags(
  grant: { client: string; scopes: readonly Scope[] },
): SessionTag[] {
  return [
    { Key: CLIENT_TAG, Value: tagValue(grant.client) || "unknown" },
    { Key: SCOPES_TAG, Value: scopesTagValue(grant.scopes) },
  ];
}

/**
 * The MCP client's name and version as the `timebound-iam:client` tag takes them, after `mcp:`:
 * the client names itself, and one calling itself `cli` must not look like the human's own use
 * of the command line in CloudTrail or to a condition on `aws:PrincipalTag/timebound-iam:client`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mcpClientTag } from "./session_identity.ts";
 * assert.equal(mcpClientTag({ name: "claude-code", version: "1.0.3" }), "mcp:claude-code/1.0.3");
 * assert.equal(mcpClientTag({ name: "cli", version: "" }), "mcp:cli");
 * assert.equal(mcpClientTag({}), "mcp:unknown");
 * ```
 */
export function mcpClientTag(client: { name?: string; version?: string }): string {
  const name = client.name?.trim() || "unknown";
  return `mcp:${client.version?.trim() ? `${name}/${client.version.trim()}` : name}`;
}

function scopesTagValue(scopes: readonly Scope[]): string {
  const names = scopes.map((s) => tagValue(formatScopes([s])));
  for (let shown = names.length; shown >= 0; shown--) {
    const rest = names.length - shown;
    const text = [...names.slice(0, shown), ...(rest ? [`+${rest} more`] : [])].join(" ");
    if (text.length <= MAX_TAG_VALUE_CHARS) return text;
  }
  return `+${names.length} more`;
}

/** The characters the tags add to the packed session policy, as the size check counts them. */
export function tagsSize(tags: readonly SessionTag[]): number {
  return tags.reduce((sum, tag) => sum + tag.Key.length + tag.Value.length, 0);
}
