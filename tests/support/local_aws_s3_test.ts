// The local endpoint's S3, driven straight by the AWS CLI v1 (endpointAwareAws: it honours
// AWS_ENDPOINT_URL) with a session's real keys: the answers and errors AWS gives. DynamoDB and
// the refusals are in local_aws_storage_test.ts.
import assert from "node:assert/strict";
import { startStorageEndpoint, storageCli, storageNote as note } from "./storage_cli.ts";

const ignore = storageCli.path === undefined;

Deno.test(`local S3: buckets, objects and listings as the CLI expects them${note}`, {
  ignore,
}, async () => {
  await using local = await startStorageEndpoint();
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
  await using local = await startStorageEndpoint();
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

Deno.test(`local S3: CopyObject and UploadPartCopy copy what x-amz-copy-source names${note}`, {
  ignore,
}, async () => {
  await using local = await startStorageEndpoint();
  await local.run(["s3", "mb", "s3://copy-from"]);
  await local.run(["s3", "mb", "s3://copy-to"]);
  await Deno.writeTextFile(`${local.home}/src`, "0123456789");
  const put = await local.run(["s3", "cp", "src", "s3://copy-from/dir/a b+c"]);
  assert.equal(put.code, 0, put.stderr);
  // The CLI percent-encodes the source (a space as %20, + as %2B), as S3 decodes it.
  const copied = await local.run(["s3", "cp", "s3://copy-from/dir/a b+c", "s3://copy-to/k"]);
  assert.equal(copied.code, 0, copied.stderr);
  assert.equal((await local.run(["s3", "cp", "s3://copy-to/k", "-"])).stdout, "0123456789");
  const missing = await local.run([
    "s3api",
    "copy-object",
    "--copy-source",
    "copy-from/nothing",
    "--bucket",
    "copy-to",
    "--key",
    "k2",
  ]);
  assert.match(missing.stderr, /\(NoSuchKey\) when calling the CopyObject operation/);
  const started = await local.run([
    "s3api",
    "create-multipart-upload",
    "--bucket",
    "copy-to",
    "--key",
    "parts",
  ]);
  const uploadId = JSON.parse(started.stdout).UploadId;
  const part = await local.run([
    "s3api",
    "upload-part-copy",
    "--bucket",
    "copy-to",
    "--key",
    "parts",
    "--upload-id",
    uploadId,
    "--part-number",
    "1",
    "--copy-source",
    "copy-from/dir/a b+c",
    "--copy-source-range",
    "bytes=2-5",
  ]);
  assert.equal(part.code, 0, part.stderr);
  const etag = JSON.parse(part.stdout).CopyPartResult.ETag;
  await Deno.writeTextFile(
    `${local.home}/parts.json`,
    JSON.stringify({ Parts: [{ PartNumber: 1, ETag: etag }] }),
  );
  const done = await local.run([
    "s3api",
    "complete-multipart-upload",
    "--bucket",
    "copy-to",
    "--key",
    "parts",
    "--upload-id",
    uploadId,
    "--multipart-upload",
    "file://parts.json",
  ]);
  assert.equal(done.code, 0, done.stderr);
  assert.equal((await local.run(["s3", "cp", "s3://copy-to/parts", "-"])).stdout, "2345");
});
