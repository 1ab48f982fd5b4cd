// Credential-minting calls under masked delivery: the reviewed table is checked against AWS's
// catalog, and every row is sent to the signing proxy in process as its SDK sends it (the wire
// forms below are those of the AWS SDKs' service models), to see it refused before anything
// reaches the local endpoint behind the proxy.
import assert from "node:assert/strict";
import type { SessionCredentials } from "../lib/aws/broker.ts";
import { mintingCall } from "../lib/delivery/minting_guard.ts";
import { startSigningProxy } from "../lib/delivery/signing_proxy.ts";
import { loadCatalog } from "../lib/request/catalog.ts";
import {
  MINTING_ACTIONS,
  mintingActionsOf,
  REVIEWED_MINTING_SERVICES,
} from "../lib/request/minting_actions.ts";
import { LocalAws } from "./support/local_aws.ts";
import { signedCall } from "./support/signed_call.ts";

const catalog = await loadCatalog();

Deno.test("the reviewed services are the 33 whose actions were read for the table", () => {
  // Pinned: a service added to the review is a reviewed change, here and in docs/masked.md.
  assert.deepEqual([...REVIEWED_MINTING_SERVICES], [
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
  ]);
});

Deno.test("the minting table holds the reviewed actions of the reviewed services", () => {
  // Pinned: a row added or dropped is a reviewed change, here and in docs/masked.md.
  assert.deepEqual(MINTING_ACTIONS.map((row) => row.action), [
    "airflow:CreateCliToken",
    "airflow:CreateWebLoginToken",
    "athena:GetSessionEndpoint",
    "codeartifact:GetAuthorizationToken",
    "cognito-identity:GetCredentialsForIdentity",
    "cognito-identity:GetOpenIdToken",
    "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
    "connect:GetFederationToken",
    "datazone:GetEnvironmentCredentials",
    "ecr-public:GetAuthorizationToken",
    "ecr:GetAuthorizationToken",
    "eks-auth:AssumeRoleForPodIdentity",
    "elasticmapreduce:GetClusterSessionCredentials",
    "elasticmapreduce:GetSessionEndpoint",
    "emr-containers:GetManagedEndpointSessionCredentials",
    "emr-serverless:GetSessionEndpoint",
    "finspace-api:GetProgrammaticAccessCredentials",
    "gamelift:CreateBuild",
    "gamelift:GetComputeAccess",
    "gamelift:GetComputeAuthToken",
    "gamelift:RequestUploadCredentials",
    "glue:GetSessionEndpoint",
    "grafana:CreateWorkspaceApiKey",
    "grafana:CreateWorkspaceServiceAccountToken",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:CreateVirtualMFADevice",
    "iam:ResetServiceSpecificCredential",
    "iam:UpdateLoginProfile",
    "iam:UpdateSAMLProvider",
    "iam:UploadSSHPublicKey",
    "iam:UploadSigningCertificate",
    "iot:CreateCertificateFromCsr",
    "iot:CreateKeysAndCertificate",
    "iot:CreateProvisioningClaim",
    "iot:RegisterCACertificate",
    "iot:RegisterCertificate",
    "iot:RegisterCertificateWithoutCA",
    "lakeformation:GetTemporaryGluePartitionCredentials",
    "lakeformation:GetTemporaryGlueTableCredentials",
    "lightsail:CreateBucketAccessKey",
    "lightsail:CreateContainerServiceRegistryLogin",
    "redshift-serverless:GetCredentials",
    "redshift-serverless:GetIdentityCenterAuthToken",
    "redshift:GetClusterCredentials",
    "redshift:GetClusterCredentialsWithIAM",
    "redshift:GetIdentityCenterAuthToken",
    "signin:CreateOAuth2Token",
    "ssm:GetAccessToken",
    "sso-oauth:CreateTokenWithIAM",
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoot",
    "sts:GetDelegatedAccessToken",
    "sts:GetFederationToken",
    "sts:GetSessionToken",
    "sts:GetWebIdentityToken",
  ]);
  assert.deepEqual(mintingActionsOf("ecr"), ["ecr:GetAuthorizationToken"]);
});

Deno.test("every row of the minting table names an action AWS's catalog knows", async (t) => {
  for (const row of MINTING_ACTIONS) {
    await t.step(row.action, async () => {
      const [service, name] = row.action.split(":");
      const known = (await catalog.actions(service)).find((a) => a.name === name);
      assert.ok(known, `${row.action} is in the catalog, spelled as AWS spells it`);
      assert.ok(REVIEWED_MINTING_SERVICES.includes(service), `${service} is a reviewed service`);
      assert.match(row.doc, /^https:\/\/docs\.aws\.amazon\.com\/\S+\.html$/);
      assert.ok(row.reason.length > 10 && !row.reason.endsWith("."), row.reason);
    });
  }
  const actions = MINTING_ACTIONS.map((row) => row.action);
  assert.deepEqual(actions, [...actions].sort(), "the table is sorted by action");
  assert.equal(new Set(actions).size, actions.length, "no action twice");
  for (const service of REVIEWED_MINTING_SERVICES) assert.ok(catalog.lookup(service), service);
  // Not credential minting: data the human granted.
  for (const data of ["secretsmanager:GetSecretValue", "ssm:GetParameter", "kms:Decrypt"]) {
    assert.ok(!actions.includes(data), `${data} is data, not minting`);
  }
});

/** How each row's call looks on the wire (from the SDKs' service models). */
interface WireForm {
  method: string;
  path: string;
  /** `X-Amz-Target` of a JSON service. */
  target?: string;
  /** The form body of a query service: `Action=…&Version=…`. */
  version?: string;
}

const JSON_TARGETS: Record<string, string> = {
  "athena": "AmazonAthena",
  "gamelift": "GameLift",
  "glue": "AWSGlue",
  "cognito-identity": "AWSCognitoIdentityService",
  "ecr": "AmazonEC2ContainerRegistry_V20150921",
  "ecr-public": "SpencerFrontendService",
  "elasticmapreduce": "ElasticMapReduce",
  "lightsail": "Lightsail_20161128",
  "redshift-serverless": "RedshiftServerless",
  "ssm": "AmazonSSM",
};
const QUERY_VERSIONS: Record<string, string> = {
  sts: "2011-06-15",
  iam: "2010-05-08",
  redshift: "2012-12-01",
};
const REST_PATHS: Record<string, [string, string]> = {
  "airflow:CreateCliToken": ["POST", "/clitoken/my-environment"],
  "airflow:CreateWebLoginToken": ["POST", "/webtoken/my-environment"],
  "codeartifact:GetAuthorizationToken": [
    "POST",
    "/v1/authorization-token?domain=d&domain-owner=123456789012",
  ],
  "datazone:GetEnvironmentCredentials": ["GET", "/v2/domains/dzd_1/environments/env1/credentials"],
  "emr-containers:GetManagedEndpointSessionCredentials": [
    "POST",
    "/virtualclusters/vc1/endpoints/ep1/credentials",
  ],
  "grafana:CreateWorkspaceApiKey": ["POST", "/workspaces/g-1/apikeys"],
  "grafana:CreateWorkspaceServiceAccountToken": [
    "POST",
    "/workspaces/g-1/serviceaccounts/sa1/tokens",
  ],
  "connect:GetFederationToken": ["GET", "/user/federate/11111111-2222-3333-4444-555555555555"],
  "eks-auth:AssumeRoleForPodIdentity": ["POST", "/clusters/c1/assume-role-for-pod-identity"],
  "emr-serverless:GetSessionEndpoint": ["GET", "/applications/app1/sessions/s1/endpoint"],
  "finspace-api:GetProgrammaticAccessCredentials": [
    "GET",
    "/credentials/programmatic?durationInMinutes=60&environmentId=e1",
  ],
  "iot:CreateCertificateFromCsr": ["POST", "/certificates?setAsActive=true"],
  "iot:CreateKeysAndCertificate": ["POST", "/keys-and-certificate?setAsActive=true"],
  "iot:CreateProvisioningClaim": ["POST", "/provisioning-templates/t1/provisioning-claim"],
  "iot:RegisterCACertificate": ["POST", "/cacertificate?setAsActive=true"],
  "iot:RegisterCertificate": ["POST", "/certificate/register?setAsActive=true"],
  "iot:RegisterCertificateWithoutCA": ["POST", "/certificate/register-no-ca"],
  "lakeformation:GetTemporaryGluePartitionCredentials": [
    "POST",
    "/GetTemporaryGluePartitionCredentials",
  ],
  "lakeformation:GetTemporaryGlueTableCredentials": ["POST", "/GetTemporaryGlueTableCredentials"],
  "signin:CreateOAuth2Token": ["POST", "/v1/token"],
  "sso-oauth:CreateTokenWithIAM": ["POST", "/token?aws_iam=t"],
};

function wireForm(action: string): WireForm {
  const [service, name] = action.split(":");
  if (JSON_TARGETS[service]) {
    return { method: "POST", path: "/", target: `${JSON_TARGETS[service]}.${name}` };
  }
  if (QUERY_VERSIONS[service]) {
    return { method: "POST", path: "/", version: QUERY_VERSIONS[service] };
  }
  const rest = REST_PATHS[action];
  assert.ok(rest, `${action} has a wire form in this test`);
  return { method: rest[0], path: rest[1] };
}

/** A local endpoint and a proxy with one grant of a session on it. */
async function guardRig() {
  const aws = await LocalAws.start();
  const real = aws.addAssumedRoleCaller({
    roleName: "timebound-iam-broker",
    sessionName: "timebound-iam-rig",
  });
  const session: SessionCredentials = {
    accessKeyId: real.accessKeyId,
    secretAccessKey: real.secretAccessKey,
    sessionToken: real.sessionToken!,
    expiration: real.expiration!,
  };
  const proxy = await startSigningProxy({ env: { AWS_ENDPOINT_URL: aws.url } });
  const grant = proxy.addGrant({ session: () => session });
  return {
    aws,
    proxy,
    grant,
    /** Sends a call signed with the grant's stand-ins. */
    send: (call: Parameters<typeof signedCall>[2]) => signedCall(proxy, grant.standIn, call),
    async [Symbol.asyncDispose]() {
      await proxy.close();
      await aws.close();
    },
  };
}

/** The error code and message of a refusal in either shape (query XML, JSON). */
async function errorOf(response: Response): Promise<{ code?: string; message?: string }> {
  const text = await response.text();
  if (text.startsWith("{")) {
    const body = JSON.parse(text);
    return { code: body.__type, message: body.message };
  }
  return {
    code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1],
    message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1]?.replace(
      /&#(\d+);/g,
      (_, n) => String.fromCharCode(Number(n)),
    ),
  };
}

Deno.test("the proxy refuses every row of the minting table as its SDK sends it, and AWS sees nothing", async (t) => {
  await using rig = await guardRig();
  for (const row of MINTING_ACTIONS) {
    await t.step(row.action, async () => {
      const wire = wireForm(row.action);
      const [service, name] = row.action.split(":");
      const signing = row.signing ?? service;
      const response = await rig.send({
        method: wire.method,
        path: wire.path,
        service: signing,
        body: wire.version
          ? `Action=${name}&Version=${wire.version}`
          : wire.method === "GET"
          ? undefined
          : "{}",
        signed: {
          "content-type": wire.version
            ? "application/x-www-form-urlencoded; charset=utf-8"
            : wire.target
            ? "application/x-amz-json-1.1"
            : "application/json",
          ...(wire.target ? { "x-amz-target": wire.target } : {}),
        },
      });
      const json = wire.version === undefined;
      const error = await errorOf(response);
      // The JSON RPC services (an X-Amz-Target) answer AccessDeniedException with 400, the REST
      // JSON and query services theirs with 403.
      const status = wire.target ? 400 : 403;
      assert.equal(response.status, status);
      assert.equal(error.code, json ? "AccessDeniedException" : "AccessDenied");
      assert.equal(
        error.message,
        `timebound-iam's masked proxy refuses credential-minting actions such as ${row.action}: ` +
          "their answer would hand out real credentials, which masked mode keeps from the " +
          "command. A human who needs them runs the grant without --masked " +
          "(timebound-iam exec -s SCOPES -t TTL -- COMMAND)",
      );
      const call = rig.grant.calls.at(-1)!;
      assert.deepEqual([call.service, call.action, call.status, call.refused, call.refusalReason], [
        signing,
        row.operations?.[0] ?? name,
        status,
        error.code,
        "credential-minting action refused under --masked",
      ]);
    });
  }
  assert.equal(rig.aws.requests.length, 0, "nothing reached the endpoint");
  assert.equal(rig.grant.callCount, MINTING_ACTIONS.length);
});

Deno.test("a minting call is refused however the request names it; what AWS would not read names nothing", async (t) => {
  await using rig = await guardRig();
  const form = { "content-type": "application/x-www-form-urlencoded" };
  // A JSON RPC service (ECR) answers AccessDeniedException with 400, the others with 403.
  const refused = async (response: Response, action: string, status = 403) => {
    assert.equal(response.status, status);
    assert.match((await errorOf(response)).message ?? "", /credential-minting/);
    assert.equal(rig.grant.calls.at(-1)?.action, action, "named by what it mints");
    assert.equal(rig.aws.requests.length, 0, "nothing reached the endpoint");
  };
  await t.step("Action=GetCallerIdentity in the query, AssumeRole in the body", async () => {
    await refused(
      await rig.send({
        method: "POST",
        path: "/?Action=GetCallerIdentity",
        service: "sts",
        body: "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::1:role/r",
        signed: form,
      }),
      "AssumeRole",
    );
  });
  await t.step("two Actions in the body, the second one minting", async () => {
    await refused(
      await rig.send({
        method: "POST",
        path: "/",
        service: "sts",
        body: "Action=GetCallerIdentity&Action=GetSessionToken&Version=2011-06-15",
        signed: form,
      }),
      "GetSessionToken",
    );
  });
  await t.step("a GET with the action in the query string, in another case", async () => {
    await refused(
      await rig.send({
        method: "GET",
        path: "/?action=getsessiontoken&Version=2011-06-15",
        service: "sts",
      }),
      "GetSessionToken",
    );
  });
  await t.step("an action padded with spaces", async () => {
    await refused(
      await rig.send({
        method: "POST",
        path: "/",
        service: "sts",
        body: "Action=%20GetFederationToken%20&Version=2011-06-15&Name=x",
        signed: form,
      }),
      "GetFederationToken",
    );
  });
  await t.step("a form body sent as another content type", async () => {
    await refused(
      await rig.send({
        method: "POST",
        path: "/",
        service: "iam",
        body: "Action=CreateAccessKey&Version=2010-05-08&UserName=someone",
        signed: { "content-type": "text/plain" },
      }),
      "CreateAccessKey",
    );
  });
  await t.step("ECR's operation in a Smithy RPC v2 path, without a target", async () => {
    await refused(
      await rig.send({
        method: "POST",
        path: "/service/AmazonEC2ContainerRegistry_V20150921/operation/GetAuthorizationToken",
        service: "ecr",
        body: "{}",
        signed: { "smithy-protocol": "rpc-v2-cbor" },
      }),
      "GetAuthorizationToken",
    );
  });
  await t.step("ECR's operation in a Smithy RPC v2 path after a prefix", async () => {
    // RPC v2 routes on the last four segments of the path, whatever comes before them.
    await refused(
      await rig.send({
        method: "POST",
        path: "/v1/service/AmazonEC2ContainerRegistry_V20150921/operation/GetAuthorizationToken",
        service: "ecr",
        body: "",
        signed: { "smithy-protocol": "rpc-v2-cbor" },
      }),
      "GetAuthorizationToken",
    );
  });
  await t.step("the operation in X-Amzn-Target, the header's other spelling", async () => {
    await refused(
      await rig.send({
        method: "POST",
        path: "/",
        service: "ecr",
        body: "{}",
        signed: {
          "content-type": "application/x-amz-json-1.1",
          "x-amzn-target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
        },
      }),
      "GetAuthorizationToken",
      400,
    );
  });
  await t.step("a target with a second value after the minting one", async () => {
    await refused(
      await rig.send({
        method: "POST",
        path: "/",
        service: "ecr",
        body: "{}",
        signed: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken, " +
            "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        },
      }),
      "GetAuthorizationToken",
      400,
    );
  });
  for (
    const [label, body] of [
      ["an action followed by a NUL", "Action=GetSessionToken%00&Version=2011-06-15"],
      ["an action after a `;`", "Version=2011-06-15;Action=GetSessionToken"],
      ["a parameter name with a stray character", "%0AAction=GetSessionToken&Version=2011-06-15"],
    ]
  ) {
    await t.step(label, async () => {
      await refused(
        await rig.send({ method: "POST", path: "/", service: "sts", body, signed: form }),
        "GetSessionToken",
      );
    });
  }
  await t.step("an action after a `;` in the query string", async () => {
    await refused(
      await rig.send({
        method: "GET",
        path: "/?Version=2011-06-15;Action=GetSessionToken",
        service: "sts",
      }),
      "GetSessionToken",
    );
  });
  await t.step("a REST path with a percent-encoded letter and doubled slashes", async () => {
    await refused(
      await rig.send({
        method: "POST",
        path: "/v1//Authorization%2Dtoken/?domain=d",
        service: "codeartifact",
        body: "{}",
      }),
      "GetAuthorizationToken",
    );
  });
  await t.step("a compressed body to a service with minting actions, unread", async () => {
    const response = await rig.send({
      method: "POST",
      path: "/",
      service: "sts",
      body: "not gzip, but said to be",
      signed: { ...form, "content-encoding": "gzip" },
    });
    assert.equal(response.status, 403);
    assert.equal(
      (await errorOf(response)).message,
      'timebound-iam\'s masked proxy refuses a sts request body with Content-Encoding "gzip": ' +
        "it reads the body to refuse credential-minting actions (their answer would hand out " +
        "real credentials, which masked mode keeps from the command); send it uncompressed",
    );
    assert.equal(rig.grant.calls.at(-1)?.refused, "AccessDenied");
    assert.equal(
      rig.grant.calls.at(-1)?.refusalReason,
      "compressed body to a service with credential-minting actions: send it uncompressed",
    );
    assert.equal(rig.aws.requests.length, 0, "nothing reached the endpoint");
  });
  await t.step("an unsigned X-Amz-Target is not sent on, so it mints nothing", async () => {
    const response = await rig.send({
      method: "POST",
      path: "/",
      service: "sts",
      body: "Action=GetCallerIdentity&Version=2011-06-15",
      signed: form,
      unsigned: { "x-amz-target": "AWSSecurityTokenServiceV20110615.AssumeRole" },
    });
    assert.equal(response.status, 200, await response.text());
    assert.deepEqual(rig.aws.requests.map((r) => r.action), ["GetCallerIdentity"]);
    assert.equal(rig.grant.calls.at(-1)?.refused, undefined);
  });
});

Deno.test("a GET of IoT's certificates lists them; a POST there, or a GET said to be a POST, mints and is refused", async () => {
  await using rig = await guardRig();
  const listed = await rig.send({ method: "GET", path: "/certificates", service: "iot" });
  await listed.body?.cancel();
  assert.equal(rig.grant.calls.at(-1)?.refused, undefined, "the proxy let ListCertificates by");
  assert.equal(rig.aws.requests.length, 1, "ListCertificates reached the endpoint");
  for (
    const call of [
      { method: "POST", path: "/certificates?setAsActive=true", service: "iot", body: "{}" },
      {
        method: "GET",
        path: "/certificates",
        service: "iot",
        signed: { "x-http-method-override": "POST" },
      },
    ]
  ) {
    const response = await rig.send(call);
    assert.equal(response.status, 403);
    assert.match((await errorOf(response)).message ?? "", /iot:CreateCertificateFromCsr/);
  }
  assert.equal(rig.aws.requests.length, 1, "nothing more reached the endpoint");
});

Deno.test("mintingCall() leaves alone what mints nothing", () => {
  const call = (
    service: string,
    init: { method?: string; path?: string; target?: string; body?: string },
  ) =>
    mintingCall({
      service,
      method: init.method ?? "POST",
      path: init.path ?? "/",
      query: "",
      headers: new Headers(init.target ? { "x-amz-target": init.target } : {}),
      body: init.body === undefined ? undefined : new TextEncoder().encode(init.body),
    });
  assert.equal(call("sts", { body: "Action=GetCallerIdentity&Version=2011-06-15" }), undefined);
  assert.equal(call("iam", { body: "Action=ListAccessKeys&Version=2010-05-08" }), undefined);
  assert.equal(
    call("secretsmanager", { target: "secretsmanager.GetSecretValue", body: "{}" }),
    undefined,
  );
  assert.equal(
    call("ecr", { target: "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories" }),
    undefined,
  );
  assert.equal(call("codeartifact", { path: "/v1/domains" }), undefined);
  // iot:ListCertificates is a GET on CreateCertificateFromCsr's path.
  assert.equal(call("iot", { method: "GET", path: "/certificates" }), undefined);
  // The same operation name, signed for a service without such an action.
  assert.equal(call("s3", { body: "Action=AssumeRole" }), undefined);
  const minted = call("ecr", {
    target: "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
  });
  assert.ok(minted !== undefined && "row" in minted);
  assert.equal(minted.row.action, "ecr:GetAuthorizationToken");
});

Deno.test("docs/masked.md lists exactly the table's actions, each with its AWS link", async () => {
  const page = await Deno.readTextFile(new URL("../docs/masked.md", import.meta.url));
  const start = page.indexOf("## Credential-minting actions are refused");
  const section = page.slice(start, page.indexOf("\n## ", start + 1));
  assert.ok(start >= 0, "the section is there");
  const listed = [...section.matchAll(/^\| \[`([^`]+)`\]\((\S+)\) +\|/gm)];
  assert.deepEqual(listed.map((m) => m[1]), MINTING_ACTIONS.map((row) => row.action));
  assert.deepEqual(listed.map((m) => m[2]), MINTING_ACTIONS.map((row) => row.doc));
});

Deno.test("docs/masked.md names the reviewed services the table's source names", async () => {
  const page = await Deno.readTextFile(new URL("../docs/masked.md", import.meta.url));
  const sentence =
    /reviewed\s+against\s+the\s+AWS\s+API\s+reference\s+for\s+each\s+of\s+these\s+services:\s+([^;]+);/
      .exec(page)?.[1];
  assert.ok(sentence, "the sentence is there");
  const named = sentence.replace(/\s+/g, " ").replace(" and ", ", ").split(", ");
  assert.deepEqual(named, [...REVIEWED_MINTING_SERVICES]);
});
