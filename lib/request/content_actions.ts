/**
 * The reviewed table of actions that AWS files as _List_ or _Read_ but that return contents
 * (command output, environment variables, stack outputs, user data, pre-shared keys) or act
 * (start, stop, execute) despite their access level. The session policy leaves them out of
 * `list` everywhere and out of the account-wide part of a grant on named resources (the actions
 * that name no resource, kept on `*` so that everyday tools work); `ro` on every resource keeps
 * them, since `ro` reads data.
 *
 * The table was made by reading, for each service below, every action AWS classifies as List,
 * and every Read action that names no resource type (those a grant on named resources keeps
 * account-wide), against each API's response in the AWS API reference:
 *
 * - s3: List is names and metadata (buckets, keys, versions, uploads, access points, jobs);
 *   account-wide Read is GetAccessPoint and GetAccountPublicAccessBlock, configuration only.
 * - dynamodb: List is table, backup, export and import names; account-wide Read is limits,
 *   endpoints, reserved capacity and ListStreams. Item reads (GetItem, Query, Scan) name a table.
 * - lambda: ListFunctions and ListVersionsByFunction return each function's configuration with
 *   its environment variables (in the table); the other List actions return names, ARNs and
 *   settings (aliases, layers, URLs, mappings); GetAccountSettings is limits.
 * - ssm: ListCommands (command parameters: the scripts), ListCommandInvocations (their output),
 *   ListAssociationVersions and the maintenance window task invocations (their parameters) and
 *   GetCommandInvocation are in the table, as are ExecuteAPI, StartExecutionPreview and
 *   PutConfigurePackageResult, which act. DescribeParameters returns names and types, never
 *   values; GetInventory and ListInventoryEntries return inventory (installed software), kept.
 * - secretsmanager: ListSecrets returns names and metadata, never values. BatchGetSecretValue
 *   needs GetSecretValue on each secret as well, so it reaches only the named secrets: kept.
 * - kms: key, alias and grant listings and key policy names; no key material. Kept.
 * - cloudformation: DescribeStacks (outputs and parameters) and ListExports (the exported output
 *   values) are in the table; the other listings are names and statuses. Account-wide Read
 *   (Cloud Control's GetResource and ListResources) also needs the resource's own service's
 *   permissions, so it reads nothing that the grant does not: kept.
 * - ecs: List is ARNs; DescribeTaskDefinition (account-wide for a grant on named clusters) returns
 *   container definitions with their environment: in the table.
 * - ec2: DescribeInstanceAttribute (user data), DescribeLaunchTemplateVersions,
 *   DescribeSpotFleetRequests and DescribeSpotInstanceRequests (user data in their launch
 *   specifications), DescribeVpnConnections and GetVpnConnectionDeviceSampleConfiguration (the
 *   tunnels' pre-shared keys) are in the table, and StartDeclarativePoliciesReport, which acts.
 *   DescribeInstances, DescribeKeyPairs (public keys) and the other Describe actions are metadata.
 * - logs: List is group, stream, filter, query and delivery metadata; log events are Read on a
 *   log group. StopQuery and StopLiveTail (account-wide Read) stop other people's work: in the
 *   table.
 * - sqs: no List action (ListQueues is Read, names only); messages are Read on a queue.
 * - sns: List is topics, subscriptions and applications; account-wide Read is attributes and
 *   opted-out numbers. Kept.
 * - iam: List is names, policy names and key IDs (never secret keys); account-wide Read
 *   (GetAccountAuthorizationDetails, the credential report) is configuration. Kept.
 * - sts: GetSessionToken and GetServiceBearerToken return credentials: in the table;
 *   GetCallerIdentity and GetAccessKeyInfo are kept.
 * - rds: List is Describe of instances, clusters, snapshots, parameters and log file names; log
 *   contents (DownloadDBLogFilePortion) are Read on an instance. Kept.
 * - ecr: List is image IDs and tags; GetAuthorizationToken (account-wide) gives a registry login
 *   that still needs each repository's own permissions to pull: kept, or docker could not log in.
 * - codebuild: List is IDs and names (ListSourceCredentials: ARNs and types, never tokens);
 *   build details with environment variables (BatchGetBuilds) are Read on a project. Kept.
 * - states: List is names and ARNs (ListExecutions: no input or output); RevealSecrets
 *   (account-wide Read) lets TestState show connection secrets: in the table.
 * - glue: ListStatements returns interactive sessions' code and output, GetJobs (account-wide)
 *   every job's definition with its arguments: in the table; the other listings are names.
 * - athena: List is names and IDs (ListNamedQueries: IDs, not the SQL); query results are Read
 *   on a workgroup. Kept.
 *
 * The other way round, {@linkcode CONDITIONAL_READS} holds the actions that AWS files as Write but
 * that, under a condition, only read, where reading takes them: `ro` allows each with its
 * condition (on the scope's resources when it names some), as AWS's own read-only managed policy
 * for the service does; `list` and the account-wide part never do.
 *
 * @module
 */

/** One reviewed action that `list` and account-wide grants leave out. */
export interface ContentAction {
  /** The action, `prefix:Name` as in AWS's Service Authorization Reference. */
  action: string;
  /** Why it is left out, in one sentence. */
  reason: string;
  /** The AWS documentation that shows it. */
  doc: string;
}

const SSM_API = "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_";
const EC2_API = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_";
const SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_";

/** The reviewed table, sorted by action. */
export const CONTENT_ACTIONS: readonly ContentAction[] = [
  {
    action: "cloudformation:DescribeStacks",
    reason: "returns every stack's outputs and parameter values",
    doc:
      "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html",
  },
  {
    action: "cloudformation:ListExports",
    reason: "returns the values that stacks export",
    doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListExports.html",
  },
  {
    action: "ec2:DescribeInstanceAttribute",
    reason: "returns an instance's user data, where setup scripts and their secrets live",
    doc: `${EC2_API}DescribeInstanceAttribute.html`,
  },
  {
    action: "ec2:DescribeLaunchTemplateVersions",
    reason: "returns each launch template's data, with its user data",
    doc: `${EC2_API}DescribeLaunchTemplateVersions.html`,
  },
  {
    action: "ec2:DescribeSpotFleetRequests",
    reason: "returns each request's launch specifications, with their user data",
    doc: `${EC2_API}DescribeSpotFleetRequests.html`,
  },
  {
    action: "ec2:DescribeSpotInstanceRequests",
    reason: "returns each request's launch specification, with its user data",
    doc: `${EC2_API}DescribeSpotInstanceRequests.html`,
  },
  {
    action: "ec2:DescribeVpnConnections",
    reason: "returns each connection's customer gateway configuration, with the tunnels' " +
      "pre-shared keys",
    doc: `${EC2_API}DescribeVpnConnections.html`,
  },
  {
    action: "ec2:GetVpnConnectionDeviceSampleConfiguration",
    reason: "returns a device configuration with the tunnels' pre-shared keys",
    doc: `${EC2_API}GetVpnConnectionDeviceSampleConfiguration.html`,
  },
  {
    action: "ec2:StartDeclarativePoliciesReport",
    reason: "starts a report that writes to an S3 bucket",
    doc: `${EC2_API}StartDeclarativePoliciesReport.html`,
  },
  {
    action: "ecs:DescribeTaskDefinition",
    reason: "returns container definitions with their environment variables, for any task " +
      "definition",
    doc:
      "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html",
  },
  {
    action: "glue:GetJobs",
    reason: "returns every job's definition with its default arguments",
    doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_GetJobs.html",
  },
  {
    action: "glue:ListStatements",
    reason: "returns the code and output of an interactive session's statements",
    doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_ListStatements.html",
  },
  {
    action: "lambda:ListFunctions",
    reason: "returns every function's configuration with its environment variables",
    doc: "https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html",
  },
  {
    action: "lambda:ListVersionsByFunction",
    reason: "returns each version's configuration with its environment variables",
    doc: "https://docs.aws.amazon.com/lambda/latest/api/API_ListVersionsByFunction.html",
  },
  {
    action: "logs:StopLiveTail",
    reason: "stops a Live Tail session, whoever started it",
    doc: `${SAR}amazoncloudwatchlogs.html`,
  },
  {
    action: "logs:StopQuery",
    reason: "stops a running Logs Insights query, whoever started it",
    doc: "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StopQuery.html",
  },
  {
    action: "ssm:DescribeMaintenanceWindowExecutionTaskInvocations",
    reason: "returns the parameters each maintenance window task ran with",
    doc: `${SSM_API}DescribeMaintenanceWindowExecutionTaskInvocations.html`,
  },
  {
    action: "ssm:ExecuteAPI",
    reason: "runs Systems Manager APIs on the caller's behalf, although filed as Read",
    doc: `${SAR}awssystemsmanager.html`,
  },
  {
    action: "ssm:GetCommandInvocation",
    reason: "returns the output of a Run Command invocation",
    doc: `${SSM_API}GetCommandInvocation.html`,
  },
  {
    action: "ssm:GetMaintenanceWindowExecutionTaskInvocation",
    reason: "returns the parameters a maintenance window task ran with",
    doc: `${SSM_API}GetMaintenanceWindowExecutionTaskInvocation.html`,
  },
  {
    action: "ssm:ListAssociationVersions",
    reason: "returns each association version's parameters (the commands it runs)",
    doc: `${SSM_API}ListAssociationVersions.html`,
  },
  {
    action: "ssm:ListCommandInvocations",
    reason: "with details, returns the output of every Run Command invocation",
    doc: `${SSM_API}ListCommandInvocations.html`,
  },
  {
    action: "ssm:ListCommands",
    reason: "returns every command's parameters: the scripts that Run Command ran",
    doc: `${SSM_API}ListCommands.html`,
  },
  {
    action: "ssm:PutConfigurePackageResult",
    reason: "records a package installation's result, although filed as Read",
    doc: `${SAR}awssystemsmanager.html`,
  },
  {
    action: "ssm:StartExecutionPreview",
    reason: "starts an Automation execution preview, although filed as Read",
    doc: `${SSM_API}StartExecutionPreview.html`,
  },
  {
    action: "states:RevealSecrets",
    reason: "lets TestState show the secrets of a connection in HTTP task requests and responses",
    doc: "https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html",
  },
  {
    action: "sts:GetServiceBearerToken",
    reason: "returns a bearer token, a credential",
    doc: `${SAR}awssecuritytokenservice.html`,
  },
  {
    action: "sts:GetSessionToken",
    reason: "returns temporary credentials",
    doc: "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html",
  },
];

/** The services whose actions were reviewed for the table (see the module's documentation). */
export const REVIEWED_SERVICES: readonly string[] = [
  "s3",
  "dynamodb",
  "lambda",
  "ssm",
  "secretsmanager",
  "kms",
  "cloudformation",
  "ecs",
  "ec2",
  "logs",
  "sqs",
  "sns",
  "iam",
  "sts",
  "rds",
  "ecr",
  "codebuild",
  "states",
  "glue",
  "athena",
];

const BY_SERVICE: ReadonlyMap<string, ReadonlySet<string>> = (() => {
  const map = new Map<string, Set<string>>();
  for (const { action } of CONTENT_ACTIONS) {
    const [service, name] = action.split(":");
    const names = map.get(service) ?? new Set<string>();
    names.add(name.toLowerCase());
    map.set(service, names);
  }
  return map;
})();

const NONE: ReadonlySet<string> = new Set();

/**
 * The lower-cased names (without prefix) of a service's actions in the table: those that `list`
 * and the account-wide part of a grant on named resources leave out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contentActionNames } from "./content_actions.ts";
 * assert.ok(contentActionNames("lambda").has("listfunctions"));
 * assert.equal(contentActionNames("s3").size, 0);
 * ```
 */
export function contentActionNames(service: string): ReadonlySet<string> {
  return BY_SERVICE.get(service) ?? NONE;
}

/**
 * The actions of a service in the table, `prefix:Name`, sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contentActionsOf } from "./content_actions.ts";
 * assert.deepEqual(contentActionsOf("lambda"), ["lambda:ListFunctions", "lambda:ListVersionsByFunction"]);
 * ```
 */
export function contentActionsOf(service: string): string[] {
  return CONTENT_ACTIONS.filter((row) => row.action.startsWith(`${service}:`))
    .map((row) => row.action);
}

/** An action AWS files as Write that only reads under a condition: `ro` allows it so. */
export interface ConditionalRead {
  /** The action, `prefix:Name` as in AWS's Service Authorization Reference. */
  action: string;
  /** The condition under which the action only reads, as a policy statement writes it. */
  condition: { StringEquals: Record<string, string> };
  /** What reading takes it for, in one sentence. */
  reason: string;
  /** The AWS documentation that shows it. */
  doc: string;
}

/** The reviewed Write actions that `ro` allows under their condition, sorted by action. */
export const CONDITIONAL_READS: readonly ConditionalRead[] = [
  {
    action: "s3express:CreateSession",
    condition: { StringEquals: { "s3express:SessionMode": "ReadOnly" } },
    reason: "every read of a directory bucket's objects (GetObject, HeadObject, ListObjectsV2) " +
      "goes through the session it creates; a ReadOnly session writes nothing",
    doc: "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/" +
      "AmazonS3ExpressReadOnlyAccess.html",
  },
];

/**
 * The rows of {@linkcode CONDITIONAL_READS} for one service: what its `ro` scopes allow under a
 * condition.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conditionalReadsOf } from "./content_actions.ts";
 * assert.deepEqual(conditionalReadsOf("s3express").map((r) => r.action), ["s3express:CreateSession"]);
 * assert.deepEqual(conditionalReadsOf("s3"), []);
 * ```
 */
export function conditionalReadsOf(service: string): ConditionalRead[] {
  return CONDITIONAL_READS.filter((row) => row.action.startsWith(`${service}:`));
}
