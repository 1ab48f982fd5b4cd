// The local endpoint's DynamoDB, and S3's and DynamoDB's refusals, driven straight by the AWS CLI
// v1 (endpointAwareAws: it honours AWS_ENDPOINT_URL) with a session's real keys: the answers and
// errors AWS gives. S3's buckets, objects and digests are in local_aws_s3_test.ts.
import assert from "node:assert/strict";
import type { LocalCredentials } from "./local_aws.ts";
import { startStorageEndpoint, storageCli, storageNote as note } from "./storage_cli.ts";

const ignore = storageCli.path === undefined;

Deno.test(`local DynamoDB: tables and items, and its own errors${note}`, { ignore }, async () => {
  await using local = await startStorageEndpoint();
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
  await using local = await startStorageEndpoint();
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
