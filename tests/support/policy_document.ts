/**
 * IAM policy documents as the local AWS endpoint understands them: parsing with AWS's
 * `MalformedPolicyDocument`, the packed size of a session policy, and a small evaluation of role
 * trust policies (Allow/Deny statements on `sts:AssumeRole`, `sts:SetSourceIdentity` and
 * `sts:TagSession` for `AWS` principals, their `Condition` blocks evaluated by `conditions.ts`
 * against the request's context).
 *
 * @module
 */

import { AwsError } from "./aws_error.ts";
import { conditionsMet, type RequestContext } from "./conditions.ts";

/** A parsed policy document: `Version` and its statements. */
export interface PolicyDocument {
  /** The policy language version, e.g. `2012-10-17`. */
  Version?: string;
  /** The statements, always as a list. */
  Statement: PolicyStatement[];
}

/** One statement of a policy document, as written. */
export interface PolicyStatement {
  /** `Allow` or `Deny`. */
  Effect: string;
  /** The action or actions it covers (wildcards allowed). */
  Action?: string | string[];
  /** For trust policies: who it covers. */
  Principal?: string | Record<string, string | string[]>;
  /** Anything else (`Resource`, `Condition`, `Sid`, …). */
  [key: string]: unknown;
}

/** The maximum size of an inline session policy, in characters without whitespace. */
export const MAX_SESSION_POLICY_CHARS = 2048;

/**
 * Parse a policy document, throwing `MalformedPolicyDocument` (with `malformedMessage` when it
 * is not JSON, as STS and IAM word it differently) when it is not a JSON object whose
 * `Statement` is a statement or a list of statements with an `Effect` of `Allow` or `Deny`.
 */
export function parsePolicyDocument(
  text: string,
  malformedMessage = "The policy is not in the valid JSON format.",
): PolicyDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AwsError("MalformedPolicyDocument", malformedMessage);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new AwsError("MalformedPolicyDocument", malformedMessage);
  }
  const doc = json as Record<string, unknown>;
  const raw = doc.Statement;
  const statements = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (statements.length === 0) {
    throw new AwsError("MalformedPolicyDocument", "Syntax errors in policy.");
  }
  for (const statement of statements) {
    if (
      typeof statement !== "object" || statement === null ||
      !["Allow", "Deny"].includes((statement as PolicyStatement).Effect)
    ) {
      throw new AwsError("MalformedPolicyDocument", "Syntax errors in policy.");
    }
  }
  return {
    Version: typeof doc.Version === "string" ? doc.Version : undefined,
    Statement: statements as PolicyStatement[],
  };
}

/** The characters of a policy that count against the 2,048 limit: all but whitespace. */
export function policyChars(text: string): number {
  return text.replace(/\s/g, "").length;
}

/**
 * The `PackedPolicySize` percentage that STS reports for a session policy and session tags,
 * approximated as the share of the 2,048 characters that the policy (without whitespace) and
 * the tags' keys and values use, rounded up. (AWS compresses them; this never undercounts.)
 */
export function packedPolicySize(text: string, tags: Record<string, string> = {}): number {
  const tagChars = Object.entries(tags).reduce((sum, [k, v]) => sum + k.length + v.length, 0);
  return Math.ceil(((policyChars(text) + tagChars) / MAX_SESSION_POLICY_CHARS) * 100);
}

/** Who asks to assume a role, as trust evaluation sees them. */
export interface TrustCaller {
  /** The caller's account. */
  accountId: string;
  /** The caller's ARN (a user ARN or an assumed-role session ARN). */
  arn: string;
  /** For an assumed-role session: the ARN of its role, which a trust policy may name. */
  roleArn?: string;
  /** The request's condition keys (`aws:MultiFactorAuthPresent`, …); none when left out. */
  context?: RequestContext;
}

function matchesAction(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`,
    "i",
  );
  return regex.test(action);
}

function matchesPrincipal(principal: string, caller: TrustCaller): boolean {
  if (principal === "*") return true;
  if (/^\d{12}$/.test(principal)) return principal === caller.accountId;
  const root = /^arn:aws:iam::(\d{12}):root$/.exec(principal);
  if (root !== null) return root[1] === caller.accountId;
  return principal === caller.arn || principal === caller.roleArn;
}

function statementApplies(
  statement: PolicyStatement,
  action: string,
  caller: TrustCaller,
): boolean {
  const actions = [statement.Action ?? []].flat();
  if (!actions.some((pattern) => matchesAction(pattern, action))) return false;
  const principal = statement.Principal;
  if (principal === "*") return conditionsMet(statement.Condition, caller.context ?? {});
  if (typeof principal !== "object" || principal === null) return false;
  const aws = principal.AWS;
  if (aws === undefined) return false;
  if (![aws].flat().some((p) => matchesPrincipal(p, caller))) return false;
  return conditionsMet(statement.Condition, caller.context ?? {});
}

/**
 * Whether a trust policy lets `caller` perform `action` (default `sts:AssumeRole`): some Allow
 * statement covers the action and names the caller (`*`, its account as `ACCOUNT` or
 * `arn:aws:iam::ACCOUNT:root`, its own ARN, or for a session the ARN of its role) with its
 * conditions met by the caller's context, and no Deny statement does.
 */
export function trustAllows(
  trust: PolicyDocument,
  caller: TrustCaller,
  action = "sts:AssumeRole",
): boolean {
  const applying = trust.Statement.filter((s) => statementApplies(s, action, caller));
  return applying.some((s) => s.Effect === "Allow") && !applying.some((s) => s.Effect === "Deny");
}

/**
 * The trust policy of a role that any principal of `accountId` may assume, as the console
 * writes it, with `sts:SetSourceIdentity` and `sts:TagSession` as `setup aws` adds them; with
 * `identity: false`, only `sts:AssumeRole` (a role made before timebound-iam sent them).
 */
export function accountTrustPolicy(
  accountId: string,
  options: { identity?: boolean } = {},
): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${accountId}:root` },
      Action: options.identity === false
        ? "sts:AssumeRole"
        : ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
    }],
  });
}

/**
 * The trust policy of a broker role that allows tagging for some values only, written the way
 * an administrator would: `sts:TagSession` when the client tag is `cli` or matches one of
 * `mcpClients` (`mcp:known/*` by default) and, with `scopes`, the scopes tag is exactly that.
 */
export function pickyTrustPolicy(
  accountId: string,
  options: { mcpClients?: string[]; scopes?: string } = {},
): string {
  const root = { AWS: `arn:aws:iam::${accountId}:root` };
  const clients = ["cli", ...options.mcpClients ?? ["mcp:known/*"]];
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: root, Action: ["sts:AssumeRole", "sts:SetSourceIdentity"] },
      {
        Effect: "Allow",
        Principal: root,
        Action: "sts:TagSession",
        Condition: {
          StringLike: { "aws:RequestTag/timebound-iam:client": clients },
          ...options.scopes === undefined
            ? {}
            : { StringEquals: { "aws:RequestTag/timebound-iam:scopes": options.scopes } },
        },
      },
    ],
  });
}

/**
 * The trust policy of a broker role that lets the account assume it and tag sessions, but lets a
 * session name only `sourceIdentity` (a CI identity, say) in CloudTrail.
 */
export function oneIdentityTrustPolicy(accountId: string, sourceIdentity: string): string {
  const root = { AWS: `arn:aws:iam::${accountId}:root` };
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: root, Action: ["sts:AssumeRole", "sts:TagSession"] },
      {
        Effect: "Allow",
        Principal: root,
        Action: "sts:SetSourceIdentity",
        Condition: { StringEquals: { "sts:SourceIdentity": sourceIdentity } },
      },
    ],
  });
}
