// The local endpoint's S3 and DynamoDB, driven straight by the AWS CLI v1 (endpointAwareAws: it
// honours AWS_ENDPOINT_URL) with a session's real keys: the answers and errors AWS gives.
import assert from "node:assert/strict";
import { endpointAwareAws } from "./aws_cli.ts";
import { LocalAws, type LocalCredentials } from "./local_aws.ts";

const cli = await endpointAwareAws();
const ignore = cli.path === undefined;
const note = ignore ? ` (ignored: ${cli.version})` : "";

async function withEndpoint() {
  const aws = await LocalAws.start();
  const session = aws.addAssumedRoleCaller({ roleName: "timebound-iam-broker" });
  const home = await Deno.makeTempDir({ prefix: "tbi-local-" });
  const envOf = (credentials: LocalCredentials, extra: Record<string, string> = {}) => ({
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_ENDPOINT_URL: aws.url,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_MAX_ATTEMPTS: "1",
    ...extra,
  });
  const run = async (args: string[], env = envOf(session)) => {
    const out = await new Deno.Command(cli.path!, { args, env, clearEnv: true, cwd: home })
      .output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  return {
    aws,
    session,
    home,
    envOf,
    run,
    async [Symbol.asyncDispose]() {
      await aws.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

Deno.test(`local S3: buckets, objects and listings as the CLI expects them${note}`, {
  ignore,
}, async () => {
  await using local = await withEndpoint();
  assert.equal((await local.run(["s3", "mb", "s3://reports-2030"])).code, 0);
  await Deno.writeTextFile(`${local.home}/a b.txt`, "hello\n");
  const cp = await local.run(["s3", "cp", "a b.txt", "s3://reports-2030/dir/a b.txt"]);
  assert.equal(cp.code, 0, cp.stderr);
  const ls = await local.run(["s3", "ls", "s3://reports-2030/dir/"]);
  assert.match(ls.stdout, /\s6 a b\.txt\n$/);
  const top = await local.run(["s3", "ls", "s3://reports-2030"]);
  assert.match(top.stdout, /PRE dir\/\n/);
  const buckets = await local.run(["s3api", "list-buckets", "--query", "Buckets[].Name"]);
  assert.deepEqual(JSON.parse(buckets.stdout), ["reports-2030"]);
  const back = await local.run(["s3", "cp", "s3://reports-2030/dir/a b.txt", "-"]);
  assert.equal(back.stdout, "hello\n");
  const missing = await local.run([
    "s3api",
    "get-object",
    "--bucket",
    "reports-2030",
    "--key",
    "x",
    "out",
  ]);
  assert.match(missing.stderr, /\(NoSuchKey\)/);
  const again = await local.run([
    "s3api",
    "create-bucket",
    "--bucket",
    "reports-2030",
    "--region",
    "eu-west-1",
    "--create-bucket-configuration",
    "LocationConstraint=eu-west-1",
  ]);
  assert.match(again.stderr, /\(BucketAlreadyOwnedByYou\)/);
});

Deno.test(`local S3: digests and multipart parts are checked${note}`, { ignore }, async () => {
  await using local = await withEndpoint();
  await local.run(["s3", "mb", "s3://checked"]);
  await Deno.writeTextFile(`${local.home}/small`, "x");
  const md5 = await local.run([
    "s3api",
    "put-object",
    "--bucket",
    "checked",
    "--key",
    "k",
    "--body",
    "small",
    "--content-md5",
    "AAAAAAAAAAAAAAAAAAAAAA==",
  ]);
  assert.match(md5.stderr, /\(BadDigest\)/);
  const upload = JSON.parse(
    (await local.run(["s3api", "create-multipart-upload", "--bucket", "checked", "--key", "m"]))
      .stdout,
  ).UploadId;
  const parts = [];
  for (const n of [1, 2]) {
    const out = await local.run([
      "s3api",
      "upload-part",
      "--bucket",
      "checked",
      "--key",
      "m",
      "--upload-id",
      upload,
      "--part-number",
      String(n),
      "--body",
      "small",
    ]);
    parts.push({ PartNumber: n, ETag: JSON.parse(out.stdout).ETag });
  }
  const complete = await local.run([
    "s3api",
    "complete-multipart-upload",
    "--bucket",
    "checked",
    "--key",
    "m",
    "--upload-id",
    upload,
    "--multipart-upload",
    JSON.stringify({ Parts: parts }),
  ]);
  assert.match(complete.stderr, /\(EntityTooSmall\)/);
});

Deno.test(`local DynamoDB: tables and items, and its own errors${note}`, { ignore }, async () => {
  await using local = await withEndpoint();
  const create = await local.run([
    "dynamodb",
    "create-table",
    "--table-name",
    "Orders",
    "--attribute-definitions",
    "AttributeName=id,AttributeType=S",
    "--key-schema",
    "AttributeName=id,KeyType=HASH",
    "--billing-mode",
    "PAY_PER_REQUEST",
  ]);
  assert.equal(JSON.parse(create.stdout).TableDescription.TableStatus, "ACTIVE");
  const item = { id: { S: "o-1" }, total: { N: "42" } };
  await local.run([
    "dynamodb",
    "put-item",
    "--table-name",
    "Orders",
    "--item",
    JSON.stringify(item),
  ]);
  const got = await local.run([
    "dynamodb",
    "get-item",
    "--table-name",
    "Orders",
    "--key",
    '{"id":{"S":"o-1"}}',
  ]);
  assert.deepEqual(JSON.parse(got.stdout).Item, item);
  const noKey = await local.run([
    "dynamodb",
    "put-item",
    "--table-name",
    "Orders",
    "--item",
    '{"x":{"S":"1"}}',
  ]);
  assert.match(noKey.stderr, /\(ValidationException\).*Missing the key id in the item/);
  const noTable = await local.run([
    "dynamodb",
    "get-item",
    "--table-name",
    "Nope",
    "--key",
    '{"id":{"S":"1"}}',
  ]);
  assert.match(noTable.stderr, /\(ResourceNotFoundException\)/);
});

Deno.test(`local S3 and DynamoDB refuse unknown keys, bad signatures and expired sessions${note}`, {
  ignore,
}, async (t) => {
  await using local = await withEndpoint();
  const stranger = {
    ...local.session,
    accessKeyId: "ASIASTANDIN000000000",
    secretAccessKey: "x".repeat(40),
    sessionToken: "stand-in-token",
  };
  const wrongSecret = { ...local.session, secretAccessKey: "y".repeat(40) };
  const cases: Array<[string, LocalCredentials, string[], RegExp]> = [
    ["S3, unknown key", stranger, ["s3", "ls"], /\(InvalidAccessKeyId\)/],
    [
      "DynamoDB, unknown key",
      stranger,
      ["dynamodb", "list-tables"],
      /\(UnrecognizedClientException\)/,
    ],
    ["STS, unknown key", stranger, ["sts", "get-caller-identity"], /\(InvalidClientTokenId\)/],
    ["S3, wrong secret", wrongSecret, ["s3", "ls"], /\(SignatureDoesNotMatch\)/],
    [
      "DynamoDB, wrong secret",
      wrongSecret,
      ["dynamodb", "list-tables"],
      /\(InvalidSignatureException\)/,
    ],
  ];
  for (const [name, credentials, args, expected] of cases) {
    await t.step(name, async () => {
      const out = await local.run(args, local.envOf(credentials));
      assert.equal(out.code, 255);
      assert.match(out.stderr, expected);
    });
  }
  await t.step("S3, an expired session", async () => {
    local.aws.clock.advance(2 * 3600_000);
    const out = await local.run(["s3", "ls"]);
    assert.match(out.stderr, /\(ExpiredToken\)/);
  });
});
