/**
 * What the broker role should be, as data and text: its trust policy (who may assume it), its
 * permission policy (the most any grant can have), the `aws iam` commands that create or update
 * it, and the snippets that point an MCP client and an agent at timebound-iam. Pure: no AWS call,
 * no file; `setup aws` prints these and `iam_role.ts` applies them.
 *
 * @module
 */

import type { AllowStatement, DenyStatement } from "../request/session_policy.ts";
import type { Scope } from "../request/scope.ts";

/** The broker role's permission policy. */
export interface PermissionPolicyDocument {
  /** Always `2012-10-17`. */
  Version: "2012-10-17";
  /**
   * `<prefix>:*` for each service; or, for scopes that name levels or resources, the statements
   * of those scopes' session policy.
   */
  Statement: Array<AllowStatement | DenyStatement>;
}

/** Who the trust policy lets assume the role: exactly the caller, or the whole account. */
export type TrustMode = "caller" | "account";

/** The trust modes, for flags and help. */
export const TRUST_MODES: readonly TrustMode[] = ["caller", "account"];

/** The MCP clients that `setup aws` writes a snippet for. */
export type McpClient = "claude" | "kiro" | "cursor" | "vscode";

/** The MCP clients, for flags and prompts. */
export const MCP_CLIENTS: readonly McpClient[] = ["claude", "kiro", "cursor", "vscode"];

/** The name of the broker role's inline permission policy. */
export const PERMISSION_POLICY_NAME = "timebound-iam-services";

/** The description `setup aws` gives a role it creates. */
export const ROLE_DESCRIPTION = "timebound-iam broker: short-lived, scoped credentials";

/**
 * What the trust policy lets the principal do: assume the role, and say who the session serves
 * (a SourceIdentity and session tags, which CloudTrail records).
 */
export const TRUST_ACTIONS = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"] as const;

/** A role trust policy document. */
export interface TrustPolicyDocument {
  /** Always `2012-10-17`. */
  Version: "2012-10-17";
  /** One Allow statement naming the trusted principal (and, with MFA required, a condition). */
  Statement: Array<TrustStatement>;
}

/** The trust policy's one statement. */
export interface TrustStatement {
  /** Always `Allow`. */
  Effect: "Allow";
  /** The trusted principal. */
  Principal: { AWS: string };
  /** `sts:AssumeRole`, and `sts:SetSourceIdentity` and `sts:TagSession` to say who asked. */
  Action: Array<typeof TRUST_ACTIONS[number]>;
  /** With MFA required: `aws:MultiFactorAuthPresent` (and `aws:MultiFactorAuthAge`). */
  Condition?: Record<string, Record<string, string>>;
}

/** A trust policy and what a user should know about it. */
export interface TrustPolicy {
  /** The policy document. */
  document: TrustPolicyDocument;
  /** The principal it trusts. */
  principal: string;
  /** Caveats for the user (an assumed-role caller whose role may have a path, say). */
  notes: string[];
}

/** The broker role as `setup aws` wants it. */
export interface BrokerRolePlan {
  /** The role name. */
  roleName: string;
  /** The role's ARN. */
  roleArn: string;
  /** The trust policy. */
  trust: TrustPolicy;
  /** The inline permission policy. */
  permissions: PermissionPolicyDocument;
  /** The scopes it was built from (whole services: `full` on every resource). */
  scopes: Scope[];
  /** The role's description (naming the scopes when they are more than whole services). */
  description: string;
  /** The role's MaxSessionDuration, in seconds (3600..43200). */
  maxSessionSeconds: number;
}

const ASSUMED_ROLE = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/;

/**
 * The principal a trust policy names for the caller of `sts:GetCallerIdentity`: an IAM user's
 * (or the root's, or a federated user's) own ARN; for an assumed-role session
 * `arn:aws:sts::A:assumed-role/R/S`, its role `arn:aws:iam::A:role/R`, since a trust policy
 * cannot name a session.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { callerPrincipal } from "./broker_role.ts";
 * const arn = "arn:aws:sts::123456789012:assumed-role/Admin/alice";
 * assert.equal(callerPrincipal(arn), "arn:aws:iam::123456789012:role/Admin");
 * ```
 */
export function callerPrincipal(callerArn: string): string {
  const session = ASSUMED_ROLE.exec(callerArn);
  if (session) return `arn:${session[1]}:iam::${session[2]}:role/${session[3]}`;
  return callerArn;
}

/**
 * Builds the trust policy: by default exactly the calling principal may assume the role
 * (`sts:AssumeRole`) and name who the session serves (`sts:SetSourceIdentity`,
 * `sts:TagSession`); with `account`, any principal of the account that IAM allows to. With
 * `requireMfa`, only with MFA (`aws:MultiFactorAuthPresent`), and with `mfaMaxAgeSeconds`, only
 * within that long of typing the code (`aws:MultiFactorAuthAge`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildTrustPolicy } from "./broker_role.ts";
 * const trust = buildTrustPolicy("arn:aws:iam::123456789012:user/dev", { mode: "caller" });
 * assert.equal(trust.principal, "arn:aws:iam::123456789012:user/dev");
 * ```
 */
export function buildTrustPolicy(
  callerArn: string,
  options: { mode: TrustMode; requireMfa?: boolean; mfaMaxAgeSeconds?: number },
): TrustPolicy {
  const [, partition = "aws", , , account = ""] = callerArn.split(":");
  const notes: string[] = [];
  let principal: string;
  if (options.mode === "account") {
    principal = `arn:${partition}:iam::${account}:root`;
    notes.push(
      `Any principal of account ${account} whose own IAM policy allows sts:AssumeRole on this ` +
        "role can assume it; drop --trust account to trust only you",
    );
  } else {
    principal = callerPrincipal(callerArn);
    if (principal !== callerArn) {
      const name = principal.split("/").pop();
      notes.push(
        `You are signed in through the role "${name}", so the trust policy names that role ` +
          `(any session of it may assume the broker). If the role has a path (SSO roles do: ` +
          `aws-reserved/sso.amazonaws.com/…), write it into the ARN: role/PATH/${name}`,
      );
    } else if (/:root$/.test(callerArn)) {
      notes.push(
        "You are signed in as the account's root user: prefer an IAM user or role, and run " +
          "setup again with it",
      );
    }
  }
  const statement: TrustStatement = {
    Effect: "Allow",
    Principal: { AWS: principal },
    Action: [...TRUST_ACTIONS],
  };
  if (options.requireMfa || options.mfaMaxAgeSeconds !== undefined) {
    const condition: Record<string, Record<string, string>> = {
      Bool: { "aws:MultiFactorAuthPresent": "true" },
    };
    if (options.mfaMaxAgeSeconds !== undefined) {
      condition.NumericLessThan = { "aws:MultiFactorAuthAge": String(options.mfaMaxAgeSeconds) };
    }
    statement.Condition = condition;
    notes.push(
      "Grants need MFA: give your device once (--mfa-serial, or mfaSerial in the config file) " +
        "and run: timebound-iam mfa login",
    );
  }
  return {
    principal,
    notes,
    document: { Version: "2012-10-17", Statement: [statement] },
  };
}

/**
 * Builds the permission policy: `<prefix>:*` on every resource for each service, deduplicated
 * and sorted, and nothing else. The session policy of each grant narrows it further.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildPermissionPolicy } from "./broker_role.ts";
 * const policy = buildPermissionPolicy(["s3", "dynamodb", "s3"]);
 * assert.equal(JSON.stringify(policy.Statement[0].Action), '["dynamodb:*","s3:*"]');
 * ```
 */
export function buildPermissionPolicy(prefixes: readonly string[]): PermissionPolicyDocument {
  const actions = [...new Set(prefixes)].sort().map((prefix) => `${prefix}:*`);
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }],
  };
}

/** The ARN of a role named `roleName` in the caller's account and partition. */
export function roleArnFor(callerArn: string, roleName: string): string {
  const [, partition = "aws", , , account = ""] = callerArn.split(":");
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/**
 * Whether two policy documents say the same thing: equal JSON after sorting object keys (IAM
 * hands documents back as given, URL-encoded, but possibly re-spaced).
 */
export function samePolicy(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The `aws iam` commands that create the role, or update an existing one, and set its
 * MaxSessionDuration, description and permission policy. Documents are inlined as compact JSON,
 * quoted for a POSIX shell.
 */
export function renderAwsCommands(
  plan: BrokerRolePlan,
  options: { profile?: string } = {},
): string {
  const profile = options.profile ? ` --profile ${options.profile}` : "";
  const name = plan.roleName;
  const trust = quote(JSON.stringify(plan.trust.document));
  const permissions = quote(JSON.stringify(plan.permissions));
  const description = quote(plan.description);
  return [
    "# a new role:",
    `aws iam create-role${profile} --role-name ${name} --max-session-duration ${plan.maxSessionSeconds} \\`,
    `  --description ${description} \\`,
    `  --assume-role-policy-document ${trust}`,
    "# or, if the role exists already:",
    `aws iam update-assume-role-policy${profile} --role-name ${name} \\`,
    `  --policy-document ${trust}`,
    `aws iam update-role${profile} --role-name ${name} --max-session-duration ${plan.maxSessionSeconds}` +
    (plan.description === ROLE_DESCRIPTION ? "" : ` \\\n  --description ${description}`),
    "# then, in both cases, the permission policy (created or replaced):",
    `aws iam put-role-policy${profile} --role-name ${name} --policy-name ${PERMISSION_POLICY_NAME} \\`,
    `  --policy-document ${permissions}`,
    "",
  ].join("\n");
}

/** A POSIX shell single-quoted word (a resource name may hold a quote). */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A snippet for an MCP client: where it goes and what to put there. */
export interface ClientSnippet {
  /** The client's display name. */
  title: string;
  /** Where the snippet goes. */
  file: string;
  /** The snippet (JSON). */
  text: string;
  /** A command that does the same, when the client has one. */
  command?: string;
}

/**
 * The MCP server entry for a client: the command that runs `timebound-iam serve` (with
 * `--profile` when a profile is given: the server then uses that profile and no agent can name
 * another), in the shape that client reads.
 */
export function renderClientSnippet(
  client: McpClient,
  options: { command: string; profile?: string },
): ClientSnippet {
  const args = options.profile ? ["serve", "--profile", options.profile] : ["serve"];
  const server: Record<string, unknown> = { command: options.command, args };
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  switch (client) {
    case "claude": {
      const profile = options.profile ? ` --profile ${options.profile}` : "";
      return {
        title: "Claude Code",
        file: ".mcp.json in the project (or claude_desktop_config.json for Claude Desktop)",
        text: json({ mcpServers: { "timebound-iam": server } }),
        command: `claude mcp add timebound-iam -- ${options.command} serve${profile}`,
      };
    }
    case "kiro":
      return {
        title: "Kiro",
        file: ".kiro/settings/mcp.json in the workspace (or ~/.kiro/settings/mcp.json)",
        text: json({
          mcpServers: { "timebound-iam": { ...server, disabled: false, autoApprove: [] } },
        }),
      };
    case "cursor":
      return {
        title: "Cursor",
        file: ".cursor/mcp.json in the project (or ~/.cursor/mcp.json)",
        text: json({ mcpServers: { "timebound-iam": server } }),
      };
    case "vscode":
      return {
        title: "VS Code",
        file: ".vscode/mcp.json in the workspace",
        text: json({ servers: { "timebound-iam": { type: "stdio", ...server } } }),
      };
  }
}

/**
 * The rules for an agent's `AGENTS.md` (or steering file): use timebound-iam for AWS, never the
 * long-lived credentials, and stop at Access Denied instead of working around it.
 */
export function renderAgentRules(services: readonly string[]): string {
  return [
    "## When accessing AWS resources",
    "",
    "- ALWAYS get AWS credentials from the timebound-iam MCP server: call `grant_access` with",
    "  the services you need, the `read_only` level unless you must write, and the shortest `ttl`",
    "  that does the job.",
    "- Run AWS commands as `env $(cat CREDENTIAL_FILE) <command>` with the `credential_file`",
    "  that `grant_access` returned.",
    "- NEVER use the credentials in ~/.aws, AWS_PROFILE or any other AWS keys, EVEN when",
    "  timebound-iam's credentials get Access Denied: report the error and ask the user.",
    `- The broker allows these services only: ${services.join(", ")}.`,
    "",
  ].join("\n");
}
