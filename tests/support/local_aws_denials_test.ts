// The local endpoint's refusals as each protocol sends them, byte for byte where clients read
// them: the query services (IAM, STS) AccessDenied with 403 in <ErrorResponse>, DynamoDB (JSON
// 1.0) AccessDeniedException with 400, S3 AccessDenied with 403 in <Error>, each worded as AWS
// words a refusal within one account.
import assert from "node:assert/strict";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { LocalAws, type LocalCredentials } from "./local_aws.ts";
import { signedCall } from "./signed_call.ts";

const ACCOUNT = "123456789012";
const BROKER = `arn:aws:iam::${ACCOUNT}:role/timebound-iam-broker`;
const FORM = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };

type Session = Required<Pick<LocalCredentials, "accessKeyId" | "secretAccessKey">> & {
  sessionToken: string;
  arn: string;
};

/** A session of the broker role (with `policy` as its session policy, if given). */
async function session(aws: LocalAws, policy?: string): Promise<Session> {
  const sts = new STSClient({
    region: "us-east-1",
    endpoint: aws.url,
    credentials: aws.defaultUser,
  });
  try {
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: BROKER, RoleSessionName: "denials", Policy: policy }),
    );
    const c = out.Credentials!;
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
      arn: out.AssumedRoleUser!.Arn!,
    };
  } finally {
    sts.destroy();
  }
}

function query(service: "iam" | "sts", params: Record<string, string>) {
  const version = service === "iam" ? "2010-05-08" : "2011-06-15";
  const body = new URLSearchParams({ ...params, Version: version }).toString();
  return { method: "POST", path: "/", service, body, signed: FORM };
}

function dynamo(operation: string, input: Record<string, unknown>) {
  return {
    method: "POST",
    path: "/",
    service: "dynamodb",
    body: JSON.stringify(input),
    signed: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": `DynamoDB_20120810.${operation}`,
    },
  };
}

function s3(method: string, path: string) {
  return {
    method,
    path,
    service: "s3",
    signed: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
  };
}

/** An S3 `<Error>` body's code and message, entities decoded as any XML reader decodes them. */
function s3Error(body: string): { code?: string; message?: string } {
  const text = (name: string) =>
    new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1]
      ?.replaceAll("&quot;", '"').replaceAll("&apos;", "'").replaceAll("&amp;", "&");
  assert.match(body, /^<\?xml[^>]*>\s*<Error><Code>/);
  return { code: text("Code"), message: text("Message") };
}

Deno.test("deny() answers each protocol's AccessDenied as AWS does: code, status, shape, wording", async (t) => {
  await using aws = await LocalAws.start();
  const me = await session(aws);
  const refused = (action: string, resource: string) =>
    `User: ${me.arn} is not authorized to perform: ${action} on resource: ${resource} because ` +
    `no identity-based policy allows the ${action} action`;

  await t.step(
    "IAM: AccessDenied, 403, <ErrorResponse>, the user named as `user NAME`",
    async () => {
      const lift = aws.deny("iam:ListAccessKeys");
      const response = await signedCall(
        aws,
        me,
        query("iam", {
          Action: "ListAccessKeys",
          UserName: "developer",
        }),
      );
      lift();
      assert.equal(response.status, 403);
      assert.equal(
        await response.text(),
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>' +
          "<Type>Sender</Type><Code>AccessDenied</Code>" +
          `<Message>${refused("iam:ListAccessKeys", "user developer")}</Message></Error>` +
          `<RequestId>${response.headers.get("x-amzn-requestid")}</RequestId></ErrorResponse>\n`,
      );
    },
  );

  await t.step("STS: AssumeRole's AccessDenied, 403, naming the role's ARN", async () => {
    const lift = aws.deny("sts:AssumeRole");
    const response = await signedCall(
      aws,
      me,
      query("sts", {
        Action: "AssumeRole",
        RoleArn: BROKER,
        RoleSessionName: "again",
      }),
    );
    lift();
    assert.equal(response.status, 403);
    const body = await response.text();
    assert.match(body, /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
    assert.match(body, /<Type>Sender<\/Type><Code>AccessDenied<\/Code>/);
    assert.ok(
      body.includes(
        `<Message>User: ${me.arn} is not authorized to perform: sts:AssumeRole on resource: ` +
          `${BROKER}</Message>`,
      ),
      body,
    );
  });

  await t.step("DynamoDB: AccessDeniedException, 400, JSON, the table's ARN", async () => {
    const lift = aws.deny("dynamodb:GetItem");
    const response = await signedCall(
      aws,
      me,
      dynamo("GetItem", {
        TableName: "Orders",
        Key: { id: { S: "1" } },
      }),
    );
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("content-type"), "application/x-amz-json-1.0");
    assert.deepEqual(await response.json(), {
      __type: "com.amazon.coral.service#AccessDeniedException",
      message: refused("dynamodb:GetItem", `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Orders`),
    });
    lift();
  });

  await t.step("DynamoDB: a call on no table is refused on every table, `table/*`", async () => {
    const lift = aws.deny("dynamodb:ListTables");
    const response = await signedCall(aws, me, dynamo("ListTables", {}));
    lift();
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.__type, "com.amazon.coral.service#AccessDeniedException");
    assert.equal(
      body.message,
      refused("dynamodb:ListTables", `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/*`),
    );
  });

  await t.step("S3: AccessDenied, 403, <Error>, the IAM action and the quoted ARN", async () => {
    const lift = aws.deny("s3:ListBucket");
    const response = await signedCall(aws, me, s3("GET", "/reports?list-type=2"));
    lift();
    assert.equal(response.status, 403);
    assert.deepEqual(s3Error(await response.text()), {
      code: "AccessDenied",
      message: refused("s3:ListBucket", '"arn:aws:s3:::reports"'),
    });
  });
});

Deno.test("a session policy's refusal says so, in each protocol's code and status", async () => {
  await using aws = await LocalAws.start({ sessionPolicy: () => Promise.resolve(false) });
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "sts:GetCallerIdentity", Resource: "*" }],
  });
  const me = await session(aws, policy);
  const refused = (action: string, resource: string) =>
    `User: ${me.arn} is not authorized to perform: ${action} on resource: ${resource} because ` +
    `no session policy allows the ${action} action`;

  const object = await signedCall(aws, me, s3("GET", "/reports/q3.csv"));
  assert.equal(object.status, 403);
  assert.deepEqual(s3Error(await object.text()), {
    code: "AccessDenied",
    message: refused("s3:GetObject", '"arn:aws:s3:::reports/q3.csv"'),
  });

  const item = await signedCall(
    aws,
    me,
    dynamo("PutItem", {
      TableName: "Orders",
      Item: { id: { S: "1" } },
    }),
  );
  assert.equal(item.status, 400);
  assert.deepEqual(await item.json(), {
    __type: "com.amazon.coral.service#AccessDeniedException",
    message: refused("dynamodb:PutItem", `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/Orders`),
  });
});

Deno.test("deny() cannot deny what AWS never denies: GetCallerIdentity and GetSessionToken", async () => {
  await using aws = await LocalAws.start();
  for (const action of ["sts:GetCallerIdentity", "GetCallerIdentity", "sts:GetSessionToken"]) {
    assert.throws(() => aws.deny(action), /AWS never denies .*failNext/);
  }
  const me = await session(aws);
  const lift = aws.deny("*");
  const identity = await signedCall(aws, me, query("sts", { Action: "GetCallerIdentity" }));
  const keys = await signedCall(aws, me, query("iam", { Action: "ListAccessKeys" }));
  lift();
  assert.equal(identity.status, 200, await identity.text());
  assert.equal(keys.status, 403);
  assert.match(await keys.text(), /<Code>AccessDenied<\/Code>/);
});
