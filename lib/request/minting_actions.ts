/**
 * The reviewed table of credential-minting actions: the AWS API calls whose successful answer
 * hands the caller a secret that works without the signing proxy, or that install a credential
 * whose secret the caller chose. Masked delivery (`exec`/`shell`/`serve --masked`) promises that
 * no secret is within the command's or agent's reach; the proxy re-signs each call with the real
 * session, so a grant whose scopes allow one of these actions would otherwise let the command ask
 * the proxy for fresh real credentials and read them in the answer. The proxy refuses them
 * before signing (see `lib/delivery/minting_guard.ts`).
 *
 * The rule, applied to each row: refused when the answer (or, for `sets a credential`, the
 * request) gives the caller a credential that authenticates to AWS or to a service AWS runs
 * without going through the proxy — AWS keys and session credentials, a bearer, OAuth or OpenID
 * token, a registry or package repository token, a password AWS issues for a database or a
 * service user, a key or password the caller installs on an IAM user, in AWS IoT or in a SAML
 * provider that roles trust. Such a credential outlives `revoke_session` and often the grant
 * (ECR's and CodeArtifact's tokens live 12 hours, an access key until deleted) and can be copied
 * off the machine: exactly what masked mode is for.
 *
 * How it was made: every action of the reviewed services below whose name or description in
 * AWS's catalog mentions credentials, tokens, passwords or keys, read against its API reference;
 * then every action of the whole catalog whose name or description says it returns temporary,
 * session or upload credentials, or a token or key (which added the last seven services).
 * Left out, and why:
 *
 * - secretsmanager:GetSecretValue, ssm:GetParameter(s) with decryption, kms:Decrypt and
 *   GenerateDataKey, lightsail:GetRelationalDatabaseMasterUserPassword: data a human stored and
 *   granted (a scope that reads secrets reads secrets); nothing is minted from the session.
 * - ec2:CreateKeyPair, ec2:GetPasswordData, ec2-instance-connect:SendSSHPublicKey,
 *   lightsail:CreateKeyPair, DownloadDefaultKeyPair and GetInstanceAccessDetails: keys and
 *   passwords of hosts in the account, not of an AWS identity or service.
 * - cognito-idp's sign-in flows (AdminInitiateAuth, AdminSetUserPassword…): identities of an
 *   application's users; their tokens reach AWS only through an identity pool, whose
 *   GetCredentialsForIdentity is in the table.
 * - sso (IAM Identity Center's portal) GetRoleCredentials is no IAM action (the catalog has
 *   none): the portal is called with an Identity Center access token, never SigV4, so the
 *   grant's session cannot call it; SDKs send it unsigned, which the proxy refuses anyway.
 * - sts:GetServiceBearerToken, glue:GlueNotebookRefreshCredentials, redshift and sso-directory
 *   bearer tokens for SCIM, q:CreateScimAccessToken: permission-only actions (no API call of that
 *   name reaches the proxy) or console-only features. ECR Public and CodeArtifact check
 *   sts:GetServiceBearerToken when their own GetAuthorizationToken (in the table) is called.
 * - iam:ChangePassword changes the calling IAM user's own password: a grant is a role session,
 *   which has none. rds-db, dsql, elasticache and kafka-cluster authentication tokens, and
 *   `aws eks get-token`, are presigned by the client itself, with the stand-ins: worthless.
 * - ssm:StartSession and ecs:ExecuteCommand answer with a token for the one session they open (the
 *   Session Manager plugin's channel), not a credential that signs other calls. A Spark Connect
 *   session's token (the GetSessionEndpoint rows) is refused: it is reused, from anywhere, until it
 *   expires.
 * - iam:CreateSAMLProvider, CreateOpenIDConnectProvider, rolesanywhere trust anchors and sso
 *   trusted token issuers: a new trust anchor is worthless until a role's trust policy names it,
 *   and changing that is the IAM power a scope grants or not (iam:UpdateSAMLProvider, which swaps
 *   the key of a provider that roles already trust, is in the table).
 * - Keys of an application's own API (appsync:CreateApiKey, geo:CreateKey, wafv2:CreateAPIKey,
 *   IVS stream keys and tokens): they call the application as its public clients do, not as an
 *   AWS identity.
 * - datazone:GetDomainExecutionRoleCredentials, ssm:RequestManagedInstanceRoleToken: no call the
 *   grant can make (a permission of DataZone's portal; SSM Agent's call, signed by its node).
 *   s3express:CreateSession: the proxy sends no call to S3 Express's zonal endpoints.
 *
 * @module
 */

/** One reviewed credential-minting action. */
export interface MintingAction {
  /** The IAM action, `prefix:Name` as in AWS's Service Authorization Reference. */
  action: string;
  /** What the caller gets: a credential in the answer, or one it chose and installed. */
  kind: "answers with a credential" | "sets a credential";
  /** What the credential is and why it escapes the proxy, in one sentence. */
  reason: string;
  /** The AWS documentation that shows it. */
  doc: string;
  /** The signing name of its calls, when it is not the IAM prefix (`awsssoportal`…). */
  signing?: string;
  /** The API operations it authorizes, when their names are not the action's own. */
  operations?: readonly string[];
  /**
   * A REST service's paths for it, matched against the request's path with each segment
   * percent-decoded and lower-cased, without empty segments: any method on such a path is
   * refused (an operation is told apart by its path; the method only decides whether it works).
   */
  route?: RegExp;
  /**
   * Whether a GET or HEAD on the route is another, harmless operation (`iot:ListCertificates` on
   * the `/certificates` of `CreateCertificateFromCsr`): then only other methods are refused.
   */
  otherOnGet?: boolean;
}

const STS = "https://docs.aws.amazon.com/STS/latest/APIReference/API_";
const IAM = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_";
const COGNITO = "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_";
const REDSHIFT = "https://docs.aws.amazon.com/redshift/latest/APIReference/API_";
const SERVERLESS = "https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_";
const MWAA = "https://docs.aws.amazon.com/mwaa/latest/API/API_";
const GRAFANA = "https://docs.aws.amazon.com/grafana/latest/APIReference/API_";
const IOT = "https://docs.aws.amazon.com/iot/latest/apireference/API_";
const GAMELIFT = "https://docs.aws.amazon.com/gamelift/latest/apireference/API_";
const LAKE = "https://docs.aws.amazon.com/lake-formation/latest/APIReference/API_";
const SPARK = "returns a token for a Spark Connect session's endpoint, whose code runs as the " +
  "session's execution role";
const SESSION = "returns temporary AWS credentials (access key, secret and session token)";

/** The reviewed table, sorted by action. */
export const MINTING_ACTIONS: readonly MintingAction[] = [
  {
    action: "airflow:CreateCliToken",
    kind: "answers with a credential",
    reason: "returns a token that runs Airflow CLI commands on an MWAA environment",
    doc: `${MWAA}CreateCliToken.html`,
    route: /^\/clitoken\/[^/]+$/,
  },
  {
    action: "airflow:CreateWebLoginToken",
    kind: "answers with a credential",
    reason: "returns a token that signs in to an MWAA environment's Airflow web server",
    doc: `${MWAA}CreateWebLoginToken.html`,
    route: /^\/webtoken\/[^/]+$/,
  },
  {
    action: "athena:GetSessionEndpoint",
    kind: "answers with a credential",
    reason: `${SPARK} (Athena for Apache Spark)`,
    doc: "https://docs.aws.amazon.com/athena/latest/APIReference/API_GetSessionEndpoint.html",
  },
  {
    action: "codeartifact:GetAuthorizationToken",
    kind: "answers with a credential",
    reason: "returns a package repository token valid up to 12 hours, whatever the session's end",
    doc:
      "https://docs.aws.amazon.com/codeartifact/latest/APIReference/API_GetAuthorizationToken.html",
    route: /^\/v1\/authorization-token$/,
  },
  {
    action: "cognito-identity:GetCredentialsForIdentity",
    kind: "answers with a credential",
    reason: `${SESSION} for an identity pool's role`,
    doc: `${COGNITO}GetCredentialsForIdentity.html`,
  },
  {
    action: "cognito-identity:GetOpenIdToken",
    kind: "answers with a credential",
    reason: "returns an OpenID token that AssumeRoleWithWebIdentity trades for AWS credentials",
    doc: `${COGNITO}GetOpenIdToken.html`,
  },
  {
    action: "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
    kind: "answers with a credential",
    reason: "returns an OpenID token, for any identity the caller names, that " +
      "AssumeRoleWithWebIdentity trades for AWS credentials",
    doc: `${COGNITO}GetOpenIdTokenForDeveloperIdentity.html`,
  },
  {
    action: "connect:GetFederationToken",
    kind: "answers with a credential",
    reason: "returns Amazon Connect access and refresh tokens for the caller's Connect user",
    doc: "https://docs.aws.amazon.com/connect/latest/APIReference/API_GetFederationToken.html",
    route: /^\/user\/federate\/[^/]+$/,
  },
  {
    action: "datazone:GetEnvironmentCredentials",
    kind: "answers with a credential",
    reason: `${SESSION} of a DataZone environment's user role`,
    doc:
      "https://docs.aws.amazon.com/datazone/latest/APIReference/API_GetEnvironmentCredentials.html",
    route: /^\/v2\/domains\/[^/]+\/environments\/[^/]+\/credentials$/,
  },
  {
    action: "ecr-public:GetAuthorizationToken",
    kind: "answers with a credential",
    reason: "returns a registry password (docker login) valid 12 hours, whatever the session's end",
    doc:
      "https://docs.aws.amazon.com/AmazonECRPublic/latest/APIReference/API_GetAuthorizationToken.html",
  },
  {
    action: "ecr:GetAuthorizationToken",
    kind: "answers with a credential",
    reason: "returns a registry password (docker login) valid 12 hours, whatever the session's end",
    doc: "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetAuthorizationToken.html",
  },
  {
    action: "eks-auth:AssumeRoleForPodIdentity",
    kind: "answers with a credential",
    reason: `${SESSION} of a pod's role, for a Kubernetes service account token`,
    doc:
      "https://docs.aws.amazon.com/eks/latest/APIReference/API_auth_AssumeRoleForPodIdentity.html",
    route: /^\/clusters\/[^/]+\/assume-role-for-pod-identity$/,
  },
  {
    action: "elasticmapreduce:GetClusterSessionCredentials",
    kind: "answers with a credential",
    reason: "returns HTTP basic credentials for an EMR cluster, acting as an execution role",
    doc:
      "https://docs.aws.amazon.com/emr/latest/APIReference/API_GetClusterSessionCredentials.html",
  },
  {
    action: "elasticmapreduce:GetSessionEndpoint",
    kind: "answers with a credential",
    reason: `${SPARK} (and a user name and password for it)`,
    doc: "https://docs.aws.amazon.com/emr/latest/APIReference/API_GetSessionEndpoint.html",
  },
  {
    action: "emr-containers:GetManagedEndpointSessionCredentials",
    kind: "answers with a credential",
    reason: "returns a session token for an EMR on EKS managed endpoint, acting as an execution " +
      "role",
    doc: "https://docs.aws.amazon.com/emr-on-eks/latest/APIReference/" +
      "API_GetManagedEndpointSessionCredentials.html",
    route: /^\/virtualclusters\/[^/]+\/endpoints\/[^/]+\/credentials$/,
  },
  {
    action: "emr-serverless:GetSessionEndpoint",
    kind: "answers with a credential",
    reason: `${SPARK} (EMR Serverless)`,
    doc:
      "https://docs.aws.amazon.com/emr-serverless/latest/APIReference/API_GetSessionEndpoint.html",
    route: /^\/applications\/[^/]+\/sessions\/[^/]+\/endpoint$/,
  },
  {
    action: "finspace-api:GetProgrammaticAccessCredentials",
    kind: "answers with a credential",
    reason: `${SESSION} for a FinSpace environment`,
    doc: "https://docs.aws.amazon.com/finspace/latest/data-api/" +
      "API_GetProgrammaticAccessCredentials.html",
    route: /^\/credentials\/programmatic$/,
  },
  {
    action: "gamelift:CreateBuild",
    kind: "answers with a credential",
    reason: `${SESSION} to upload the build, when no storage location is given`,
    doc: `${GAMELIFT}CreateBuild.html`,
  },
  {
    action: "gamelift:GetComputeAccess",
    kind: "answers with a credential",
    reason: `${SESSION} to reach a fleet's compute through Systems Manager`,
    doc: `${GAMELIFT}GetComputeAccess.html`,
  },
  {
    action: "gamelift:GetComputeAuthToken",
    kind: "answers with a credential",
    reason: "returns a token with which a compute's game server processes call GameLift",
    doc: `${GAMELIFT}GetComputeAuthToken.html`,
  },
  {
    action: "gamelift:RequestUploadCredentials",
    kind: "answers with a credential",
    reason: `${SESSION} to upload a build`,
    doc: `${GAMELIFT}RequestUploadCredentials.html`,
  },
  {
    action: "glue:GetSessionEndpoint",
    kind: "answers with a credential",
    reason: `${SPARK} (Glue interactive sessions)`,
    doc: "https://docs.aws.amazon.com/glue/latest/webapi/API_GetSessionEndpoint.html",
  },
  {
    action: "grafana:CreateWorkspaceApiKey",
    kind: "answers with a credential",
    reason: "returns a Grafana API key for a managed workspace",
    doc: `${GRAFANA}CreateWorkspaceApiKey.html`,
    route: /^\/workspaces\/[^/]+\/apikeys$/,
  },
  {
    action: "grafana:CreateWorkspaceServiceAccountToken",
    kind: "answers with a credential",
    reason: "returns a Grafana service account token for a managed workspace",
    doc: `${GRAFANA}CreateWorkspaceServiceAccountToken.html`,
    route: /^\/workspaces\/[^/]+\/serviceaccounts\/[^/]+\/tokens$/,
  },
  {
    action: "iam:CreateAccessKey",
    kind: "answers with a credential",
    reason: "returns an IAM user's new long-lived access key and its secret",
    doc: `${IAM}CreateAccessKey.html`,
  },
  {
    action: "iam:CreateLoginProfile",
    kind: "sets a credential",
    reason: "gives an IAM user a console password that the caller chose",
    doc: `${IAM}CreateLoginProfile.html`,
  },
  {
    action: "iam:CreateServiceSpecificCredential",
    kind: "answers with a credential",
    reason: "returns a password or API key for CodeCommit, Keyspaces or Bedrock, acting as an " +
      "IAM user",
    doc: `${IAM}CreateServiceSpecificCredential.html`,
  },
  {
    action: "iam:CreateVirtualMFADevice",
    kind: "answers with a credential",
    reason: "returns a new virtual MFA device's seed, the secret of a second factor",
    doc: `${IAM}CreateVirtualMFADevice.html`,
  },
  {
    action: "iam:ResetServiceSpecificCredential",
    kind: "answers with a credential",
    reason: "returns a new password for an existing service-specific credential",
    doc: `${IAM}ResetServiceSpecificCredential.html`,
  },
  {
    action: "iam:UpdateLoginProfile",
    kind: "sets a credential",
    reason: "sets an IAM user's console password to one the caller chose",
    doc: `${IAM}UpdateLoginProfile.html`,
  },
  {
    action: "iam:UpdateSAMLProvider",
    kind: "sets a credential",
    reason: "replaces a SAML provider's signing certificate, so that assertions signed with the " +
      "caller's key trade, unsigned, for the credentials of every role that trusts it",
    doc: `${IAM}UpdateSAMLProvider.html`,
  },
  {
    action: "iam:UploadSSHPublicKey",
    kind: "sets a credential",
    reason: "lets the holder of the private key use CodeCommit over SSH as an IAM user",
    doc: `${IAM}UploadSSHPublicKey.html`,
  },
  {
    action: "iam:UploadSigningCertificate",
    kind: "sets a credential",
    reason: "lets the holder of the private key sign requests as an IAM user (X.509)",
    doc: `${IAM}UploadSigningCertificate.html`,
  },
  {
    action: "iot:CreateCertificateFromCsr",
    kind: "answers with a credential",
    reason: "returns an X.509 certificate, for a key the caller holds, that authenticates to AWS " +
      "IoT Core",
    doc: `${IOT}CreateCertificateFromCsr.html`,
    route: /^\/certificates$/,
    otherOnGet: true,
  },
  {
    action: "iot:CreateKeysAndCertificate",
    kind: "answers with a credential",
    reason: "returns a private key and an X.509 certificate that authenticate to AWS IoT Core",
    doc: "https://docs.aws.amazon.com/iot/latest/apireference/API_CreateKeysAndCertificate.html",
    route: /^\/keys-and-certificate$/,
  },
  {
    action: "iot:CreateProvisioningClaim",
    kind: "answers with a credential",
    reason: "returns a private key and a claim certificate that authenticate to AWS IoT Core",
    doc: `${IOT}CreateProvisioningClaim.html`,
    route: /^\/provisioning-templates\/[^/]+\/provisioning-claim$/,
  },
  {
    action: "iot:RegisterCACertificate",
    kind: "sets a credential",
    reason: "lets the holder of a CA's key issue certificates that authenticate to AWS IoT Core",
    doc: `${IOT}RegisterCACertificate.html`,
    route: /^\/cacertificate$/,
  },
  {
    action: "iot:RegisterCertificate",
    kind: "sets a credential",
    reason: "lets the holder of the private key authenticate to AWS IoT Core (X.509)",
    doc: `${IOT}RegisterCertificate.html`,
    route: /^\/certificate\/register$/,
  },
  {
    action: "iot:RegisterCertificateWithoutCA",
    kind: "sets a credential",
    reason: "lets the holder of the private key authenticate to AWS IoT Core (X.509)",
    doc: `${IOT}RegisterCertificateWithoutCA.html`,
    route: /^\/certificate\/register-no-ca$/,
  },
  {
    action: "lakeformation:GetTemporaryGluePartitionCredentials",
    kind: "answers with a credential",
    reason: `${SESSION} that read a Glue partition's data`,
    doc: `${LAKE}GetTemporaryGluePartitionCredentials.html`,
    route: /^\/gettemporarygluepartitioncredentials$/,
  },
  {
    action: "lakeformation:GetTemporaryGlueTableCredentials",
    kind: "answers with a credential",
    reason: `${SESSION} that read a Glue table's data`,
    doc: `${LAKE}GetTemporaryGlueTableCredentials.html`,
    route: /^\/gettemporarygluetablecredentials$/,
  },
  {
    action: "lightsail:CreateBucketAccessKey",
    kind: "answers with a credential",
    reason: "returns an access key and secret for a Lightsail bucket's S3 API",
    doc: "https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/" +
      "API_CreateBucketAccessKey.html",
  },
  {
    action: "lightsail:CreateContainerServiceRegistryLogin",
    kind: "answers with a credential",
    reason: "returns a container registry user name and password (docker login)",
    doc: "https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/" +
      "API_CreateContainerServiceRegistryLogin.html",
  },
  {
    action: "redshift-serverless:GetCredentials",
    kind: "answers with a credential",
    reason: "returns a database user name and temporary password",
    doc: `${SERVERLESS}GetCredentials.html`,
  },
  {
    action: "redshift-serverless:GetIdentityCenterAuthToken",
    kind: "answers with a credential",
    reason: "returns an Identity Center token that signs in to Redshift Serverless",
    doc: `${SERVERLESS}GetIdentityCenterAuthToken.html`,
  },
  {
    action: "redshift:GetClusterCredentials",
    kind: "answers with a credential",
    reason: "returns a database user name and temporary password",
    doc: `${REDSHIFT}GetClusterCredentials.html`,
  },
  {
    action: "redshift:GetClusterCredentialsWithIAM",
    kind: "answers with a credential",
    reason: "returns a database user name and temporary password for the caller's IAM identity",
    doc: `${REDSHIFT}GetClusterCredentialsWithIAM.html`,
  },
  {
    action: "redshift:GetIdentityCenterAuthToken",
    kind: "answers with a credential",
    reason: "returns an Identity Center token that signs in to a Redshift cluster",
    doc: `${REDSHIFT}GetIdentityCenterAuthToken.html`,
  },
  {
    action: "signin:CreateOAuth2Token",
    kind: "answers with a credential",
    reason: "returns the OAuth 2.0 tokens of `aws login`, which hold AWS credentials",
    doc: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_signin.html",
    operations: [
      "CreateOAuth2Token",
      "CreateOAuth2TokenWithIAM",
      "CreateOAuth2TokenWithTokenExchange",
      "CreateBearerToken",
    ],
    // Every token path of the service: its operations' paths are not all published.
    route: /(^|\/)[^/]*token[^/]*(\/|$)/,
  },
  {
    action: "ssm:GetAccessToken",
    kind: "answers with a credential",
    reason: `${SESSION} for just-in-time node access`,
    doc: "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetAccessToken.html",
  },
  {
    action: "sso-oauth:CreateTokenWithIAM",
    kind: "answers with a credential",
    reason: "returns IAM Identity Center access and refresh tokens",
    doc: "https://docs.aws.amazon.com/singlesignon/latest/OIDCAPIReference/" +
      "API_CreateTokenWithIAM.html",
    route: /^\/token$/,
  },
  {
    action: "sts:AssumeRole",
    kind: "answers with a credential",
    reason: `${SESSION} of any role that trusts the grant's session`,
    doc: `${STS}AssumeRole.html`,
  },
  {
    action: "sts:AssumeRoleWithSAML",
    kind: "answers with a credential",
    reason: `${SESSION} for a SAML assertion`,
    doc: `${STS}AssumeRoleWithSAML.html`,
  },
  {
    action: "sts:AssumeRoleWithWebIdentity",
    kind: "answers with a credential",
    reason: `${SESSION} for an OpenID Connect token`,
    doc: `${STS}AssumeRoleWithWebIdentity.html`,
  },
  {
    action: "sts:AssumeRoot",
    kind: "answers with a credential",
    reason: `${SESSION} of a member account's root user`,
    doc: `${STS}AssumeRoot.html`,
  },
  {
    action: "sts:GetDelegatedAccessToken",
    kind: "answers with a credential",
    reason: `${SESSION} in exchange for a trade-in token`,
    doc: `${STS}GetDelegatedAccessToken.html`,
  },
  {
    action: "sts:GetFederationToken",
    kind: "answers with a credential",
    reason: `${SESSION} for a federated user`,
    doc: `${STS}GetFederationToken.html`,
  },
  {
    action: "sts:GetSessionToken",
    kind: "answers with a credential",
    reason: SESSION,
    doc: `${STS}GetSessionToken.html`,
  },
  {
    action: "sts:GetWebIdentityToken",
    kind: "answers with a credential",
    reason: "returns a signed JSON Web Token that outside services accept as the caller's identity",
    doc: `${STS}GetWebIdentityToken.html`,
  },
];

/** The services whose actions were reviewed for the table (see the module's documentation). */
export const REVIEWED_MINTING_SERVICES: readonly string[] = [
  "sts",
  "iam",
  "sso",
  "sso-oauth",
  "signin",
  "cognito-identity",
  "cognito-idp",
  "ecr",
  "ecr-public",
  "codeartifact",
  "redshift",
  "redshift-serverless",
  "secretsmanager",
  "ssm",
  "kms",
  "ec2",
  "ec2-instance-connect",
  "ecs",
  "lightsail",
  "iot",
  "datazone",
  "elasticmapreduce",
  "emr-containers",
  "grafana",
  "airflow",
  "glue",
  "athena",
  "connect",
  "eks-auth",
  "emr-serverless",
  "finspace-api",
  "gamelift",
  "lakeformation",
];

/** The IAM prefix of an action, `sts` of `sts:AssumeRole`. */
function prefixOf(row: MintingAction): string {
  return row.action.slice(0, row.action.indexOf(":"));
}

/**
 * The table's rows for the calls signed for `signingName`, the service name of a SigV4
 * credential scope (the IAM prefix unless the row says otherwise).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mintingActionsSignedAs } from "./minting_actions.ts";
 * assert.ok(mintingActionsSignedAs("sts").some((row) => row.action === "sts:AssumeRole"));
 * assert.deepEqual(mintingActionsSignedAs("s3"), []);
 * ```
 */
export function mintingActionsSignedAs(signingName: string): readonly MintingAction[] {
  return MINTING_ACTIONS.filter((row) => (row.signing ?? prefixOf(row)) === signingName);
}

/**
 * The API operations a row authorizes: its own name, or those it lists.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MINTING_ACTIONS, operationsOf } from "./minting_actions.ts";
 * assert.deepEqual(operationsOf(MINTING_ACTIONS.find((r) => r.action === "sts:AssumeRole")!), [
 *   "AssumeRole",
 * ]);
 * ```
 */
export function operationsOf(row: MintingAction): readonly string[] {
  return row.operations ?? [row.action.slice(row.action.indexOf(":") + 1)];
}

/**
 * The table's actions of an IAM prefix, `prefix:Name`, sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mintingActionsOf } from "./minting_actions.ts";
 * assert.deepEqual(mintingActionsOf("ecr"), ["ecr:GetAuthorizationToken"]);
 * ```
 */
export function mintingActionsOf(prefix: string): string[] {
  return MINTING_ACTIONS.filter((row) => prefixOf(row) === prefix).map((row) => row.action);
}

/**
 * The table's actions of an IAM prefix that any of `patterns` (IAM action patterns such as
 * `sts:Get*` or `ecr:*`, as a session policy holds them) allows, sorted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mintingActionsAllowed } from "./minting_actions.ts";
 * assert.deepEqual(mintingActionsAllowed("sts", ["sts:GetSession*", "sts:GetCallerIdentity"]), [
 *   "sts:GetSessionToken",
 * ]);
 * assert.deepEqual(mintingActionsAllowed("s3", ["s3:*"]), []);
 * ```
 */
export function mintingActionsAllowed(prefix: string, patterns: readonly string[]): string[] {
  const minting = mintingActionsOf(prefix);
  if (minting.length === 0) return [];
  const matchers = patterns.map((pattern) => {
    // IAM's wildcards: `*` any run of characters, `?` any one.
    const body = pattern.split("*").map((part) =>
      part.split("?").map((text) => text.replace(/[.+^${}()|[\]\\]/g, "\\$&")).join(".")
    ).join(".*");
    return new RegExp(`^${body}$`, "i");
  });
  return minting.filter((action) => matchers.some((m) => m.test(action)));
}
