// What the signing proxy's call record names a call: the operation as AWS names it (the one a
// user reads in CloudTrail and in `timebound-iam`'s call report) and the resource the request
// names, from S3's REST paths, JSON targets and bodies, query forms and REST paths.
import assert from "node:assert/strict";
import {
  type CallName,
  type CallRecord,
  cleanName,
  isRefused,
  nameCall,
} from "../lib/delivery/call_record.ts";

function call(
  service: string,
  method: string,
  target: string,
  options: { headers?: Record<string, string>; body?: string; signedHeaders?: string[] } = {},
): CallName {
  const url = new URL(target, "http://127.0.0.1:1");
  return nameCall({
    service,
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: new Headers(options.headers),
    body: options.body === undefined ? undefined : new TextEncoder().encode(options.body),
    ...(options.signedHeaders ? { signedHeaders: options.signedHeaders } : {}),
  });
}

Deno.test("S3 bucket operations are named by method and sub-resource", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["GET", "/b?location", "GetBucketLocation"],
    ["GET", "/b?versioning", "GetBucketVersioning"],
    ["PUT", "/b?versioning", "PutBucketVersioning"],
    ["DELETE", "/b?policy", "DeleteBucketPolicy"],
    ["PUT", "/b?tagging", "PutBucketTagging"],
    ["GET", "/b?acl", "GetBucketAcl"],
    ["DELETE", "/b?cors", "DeleteBucketCors"],
    ["PUT", "/b?lifecycle", "PutBucketLifecycleConfiguration"],
    ["DELETE", "/b?lifecycle", "DeleteBucketLifecycle"],
    ["GET", "/b?encryption", "GetBucketEncryption"],
    ["GET", "/b?uploads", "ListMultipartUploads"],
    ["GET", "/b?versions", "ListObjectVersions"],
    ["PUT", "/b?website", "PutBucketWebsite"],
    ["GET", "/b?notification", "GetBucketNotificationConfiguration"],
    ["POST", "/b?location", "unknown"],
    ["GET", "/b", "ListObjects"],
    ["GET", "/b?list-type=1", "ListObjects"],
    ["GET", "/b/?list-type=2", "ListObjectsV2"],
    ["PUT", "/b", "CreateBucket"],
    ["DELETE", "/b", "DeleteBucket"],
    ["HEAD", "/b", "HeadBucket"],
    ["PATCH", "/b", "unknown"],
    ["get", "/b", "ListObjects"],
  ];
  for (const [method, path, action] of cases) {
    await t.step(`${method} ${path}`, () => {
      assert.deepEqual(call("s3", method, path), { action, resource: "b" });
    });
  }
  await t.step("no bucket: ListBuckets, or unknown", () => {
    assert.deepEqual(call("s3", "GET", "/"), { action: "ListBuckets" });
    assert.deepEqual(call("s3", "PUT", "/"), { action: "unknown" });
  });
});

Deno.test("S3 object operations are named by method, query and copy source", async (t) => {
  const copy = { "x-amz-copy-source": "/src/k" };
  const cases: Array<[string, string, Record<string, string>, string]> = [
    ["GET", "/b/k", {}, "GetObject"],
    ["HEAD", "/b/k", {}, "HeadObject"],
    ["DELETE", "/b/k", {}, "DeleteObject"],
    ["PUT", "/b/k", {}, "PutObject"],
    ["PUT", "/b/k", copy, "CopyObject"],
    ["OPTIONS", "/b/k", {}, "unknown"],
    ["GET", "/b/k?tagging", {}, "GetObjectTagging"],
    ["PUT", "/b/k?tagging", {}, "PutObjectTagging"],
    ["DELETE", "/b/k?tagging", {}, "unknown"],
    ["GET", "/b/k?acl", {}, "GetObjectAcl"],
    ["PUT", "/b/k?acl", {}, "PutObjectAcl"],
    ["DELETE", "/b/k?acl", {}, "unknown"],
    ["POST", "/b/k?uploads", {}, "CreateMultipartUpload"],
    ["PUT", "/b/k?partNumber=1&uploadId=u", {}, "UploadPart"],
    ["PUT", "/b/k?partNumber=1&uploadId=u", copy, "UploadPartCopy"],
    ["POST", "/b/k?uploadId=u", {}, "CompleteMultipartUpload"],
    ["DELETE", "/b/k?uploadId=u", {}, "AbortMultipartUpload"],
    ["GET", "/b/k?uploadId=u", {}, "ListParts"],
    ["HEAD", "/b/k?uploadId=u", {}, "unknown"],
  ];
  for (const [method, path, headers, action] of cases) {
    await t.step(`${method} ${path}${headers["x-amz-copy-source"] ? " (copy)" : ""}`, () => {
      assert.deepEqual(call("s3", method, path, { headers }), { action, resource: "b/k" });
    });
  }
  await t.step("a key keeps its slashes and is decoded; a bad escape stays as sent", () => {
    assert.deepEqual(call("s3", "GET", "/b/dir/sub/f%2Bg.txt"), {
      action: "GetObject",
      resource: "b/dir/sub/f+g.txt",
    });
    assert.deepEqual(call("s3", "GET", "/b/%E0%A4%A"), {
      action: "GetObject",
      resource: "b/%E0%A4%A",
    });
  });
  await t.step(
    "S3 with an X-Amz-Target is named by its method and path, as S3 acts on them",
    () => {
      assert.deepEqual(
        call("s3", "PUT", "/b/k", { headers: { "x-amz-target": "DynamoDB_20120810.GetItem" } }),
        { action: "PutObject", resource: "b/k" },
      );
    },
  );
});

Deno.test("a copy's source is named from its signed x-amz-copy-source, decoded and bounded", async (t) => {
  const signed = ["host", "x-amz-copy-source", "x-amz-date"];
  const copy = (source: string, signedHeaders = signed, path = "/b2/k2") =>
    call("s3", "PUT", path, { headers: { "x-amz-copy-source": source }, signedHeaders });
  const cases: Array<[string, string, string | undefined]> = [
    ["a leading slash", "/b1/k", "b1/k"],
    ["no leading slash", "b1/dir/k.txt", "b1/dir/k.txt"],
    ["a version: the same object", "/b1/k?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", "b1/k"],
    ["percent-encoded, decoded whole", "/b1/my%20file%2Bv2", "b1/my file+v2"],
    ["an encoded slash is a slash, as S3 reads it", "/b1%2Fk", "b1/k"],
    ["dot segments stay literal", "/b1/../b9/secret", "b1/../b9/secret"],
    ["a control character is replaced", "/b1/a%0Ab", "b1/a?b"],
    ["a bucket alone", "/b1", undefined],
    ["a bucket and slash", "/b1/", undefined],
    ["another query", "/b1/k?partNumber=2", undefined],
    ["another query first", "/b1/k?x=1&versionId=v1", undefined],
    ["another query after", "/b1/k?versionId=v1&x=1", undefined],
    ["a second question mark", "/b1/k?versionId=v1?x", undefined],
    ["an empty query", "/b1/k?", undefined],
    ["an encoded question mark is the key's", "/b1/k%3Fv", "b1/k?v"],
    ["no bucket", "//k", undefined],
    ["bad encoding", "/b1/%E0%A4%A", undefined],
    ["an access point", "arn:aws:s3:eu-west-1:123456789012:accesspoint/ap/object/k", undefined],
  ];
  for (const [what, header, source] of cases) {
    await t.step(what, () => {
      assert.deepEqual(copy(header), {
        action: "CopyObject",
        resource: "b2/k2",
        ...(source === undefined ? {} : { source }),
      });
    });
  }
  await t.step("UploadPartCopy names its source too", () => {
    assert.deepEqual(copy("/b1/k", signed, "/b2/k2?partNumber=1&uploadId=u"), {
      action: "UploadPartCopy",
      resource: "b2/k2",
      source: "b1/k",
    });
  });
  await t.step("an unsigned x-amz-copy-source names no source", () => {
    assert.deepEqual(copy("/b1/k", ["host", "x-amz-date"]), {
      action: "CopyObject",
      resource: "b2/k2",
    });
  });
  await t.step("a PutObject never has a source", () => {
    assert.deepEqual(call("s3", "PUT", "/b2/k2", { signedHeaders: signed }), {
      action: "PutObject",
      resource: "b2/k2",
    });
  });
  await t.step("a huge source is cut to 256 characters ending in …", () => {
    const source = copy(`/b1/${"a".repeat(5000)}`).source!;
    assert.equal(source.length, 256);
    assert.equal(source, `b1/${"a".repeat(252)}…`);
    assert.equal(copy(`/b1/${"a".repeat(253)}`).source, `b1/${"a".repeat(253)}`);
  });
  await t.step("a character of two UTF-16 units at the cut is ?, never half of it", () => {
    const source = copy(`/b1/${"a".repeat(251)}${encodeURIComponent("\u{1f600}")}zz`).source!;
    assert.equal(source, `b1/${"a".repeat(251)}?…`);
    assert.ok(source.isWellFormed());
  });
});

Deno.test("JSON services: the target names the action, the body's first naming field the resource", async (t) => {
  const json = (target: string, body: string) =>
    call("svc", "POST", "/", {
      headers: { "x-amz-target": target, "content-type": "application/x-amz-json-1.1" },
      body,
    });
  await t.step("each naming field", () => {
    const fields = [
      "TableName",
      "FunctionName",
      "QueueUrl",
      "TopicArn",
      "StreamName",
      "StreamARN",
      "SecretId",
      "LogGroupName",
      "StateMachineArn",
      "KeyId",
      "RoleName",
      "UserName",
      "Bucket",
      "Name",
    ];
    for (const field of fields) {
      assert.deepEqual(json("X_1.Do", JSON.stringify({ [field]: `the-${field}` })), {
        action: "Do",
        resource: `the-${field}`,
      }, field);
    }
  });
  await t.step("the first field of the list wins, whatever the body's order", () => {
    assert.deepEqual(json("T.Get", '{"Name":"n","SecretId":"s","TableName":"t"}'), {
      action: "Get",
      resource: "t",
    });
  });
  await t.step("an empty or non-string field is skipped", () => {
    assert.deepEqual(json("T.Get", '{"TableName":"","FunctionName":7,"Name":"n"}'), {
      action: "Get",
      resource: "n",
    });
  });
  await t.step("a body that is not a JSON object names nothing", () => {
    assert.deepEqual(json("T.Get", "[1]"), { action: "Get" });
    assert.deepEqual(json("T.Get", "null"), { action: "Get" });
    assert.deepEqual(json("T.Get", "{not json"), { action: "Get" });
  });
  await t.step("a JSON body is read without a content type when it starts with {", () => {
    assert.deepEqual(
      call("svc", "POST", "/", { headers: { "x-amz-target": "T.Get" }, body: '{"Name":"n"}' }),
      { action: "Get", resource: "n" },
    );
    assert.deepEqual(
      call("svc", "POST", "/", {
        headers: { "x-amz-target": "T.Get", "content-type": "text/plain" },
        body: ' {"Name":"n"}',
      }),
      { action: "Get" },
    );
  });
  await t.step("a streamed body (not read) names nothing", () => {
    assert.deepEqual(call("svc", "POST", "/", { headers: { "x-amz-target": "T.Get" } }), {
      action: "Get",
    });
  });
});

Deno.test("query services: Action from the URL or the form, the resource from the form", async (t) => {
  const form = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };
  await t.step("in the URL", () => {
    assert.deepEqual(call("sts", "GET", "/?Action=GetCallerIdentity&Version=2011-06-15"), {
      action: "GetCallerIdentity",
    });
  });
  await t.step("in the form", () => {
    assert.deepEqual(
      call("iam", "POST", "/", { headers: form, body: "Action=GetUser&UserName=ana" }),
      { action: "GetUser", resource: "ana" },
    );
  });
  await t.step("a form is never read as JSON", () => {
    assert.deepEqual(
      call("sqs", "POST", "/", { headers: form, body: '{"QueueUrl":"q"}' }),
      { action: "unknown" },
    );
  });
});

Deno.test("REST services: the method and first word of the path, the second word as resource", async (t) => {
  await t.step("dates are skipped, the resource decoded", () => {
    assert.deepEqual(call("lambda", "POST", "/2015-03-31/functions/my%20fn/invocations"), {
      action: "POST /functions",
      resource: "my fn",
    });
  });
  await t.step("one word: the action only", () => {
    assert.deepEqual(call("lambda", "GET", "/2015-03-31/functions"), {
      action: "GET /functions",
    });
  });
  await t.step("no word at all: unknown", () => {
    assert.deepEqual(call("lambda", "GET", "/2015-03-31/"), { action: "unknown" });
  });
});

Deno.test("cleanName() replaces control characters and bounds the length", () => {
  assert.equal(cleanName("a\u0000b\u001fc\u007fd\u009fe\u00a0f"), "a?b?c?d?e\u00a0f");
  assert.equal(cleanName("x".repeat(300)), "x".repeat(256));
  // Zero-width, direction and other format characters, a tag character, a lone surrogate.
  assert.equal(
    cleanName("a\u200bb\u200dc\u200fd\u202ee\u2067f\ufeffg\u061ch\u00adi\u{e0041}j\ud800k"),
    "a?b?c?d?e?f?g?h?i?j?k",
  );
  // A pair cut in half at 256 is replaced, not left as a lone surrogate.
  assert.equal(cleanName(`${"x".repeat(255)}\u{1f600}`), `${"x".repeat(255)}?`);
  assert.equal(
    call("dynamodb", "POST", "/", {
      headers: { "x-amz-target": `T.${"A".repeat(300)}` },
      body: JSON.stringify({ TableName: "t\r\n".repeat(100) }),
    }).resource,
    "t??".repeat(100).slice(0, 256),
  );
});

Deno.test("isRefused(): refused by the proxy, or by AWS's status or refusal code", async (t) => {
  const record = (fields: Partial<CallRecord>): CallRecord => ({
    time: new Date(0),
    service: "s3",
    action: "GetObject",
    region: "eu-west-1",
    status: 200,
    bytesIn: 0,
    bytesOut: 0,
    ...fields,
  });
  const refused: Array<[string, Partial<CallRecord>]> = [
    ["the proxy refused it", { refused: "SignatureDoesNotMatch", status: 403 }],
    ["401", { status: 401 }],
    ["403", { status: 403 }],
    ["DynamoDB's AccessDeniedException with 400", {
      status: 400,
      errorCode: "AccessDeniedException",
    }],
    ["UnauthorizedOperation", { status: 400, errorCode: "UnauthorizedOperation" }],
    ["SNS's AuthorizationError", { status: 400, errorCode: "AuthorizationError" }],
    ["ForbiddenException", { status: 400, errorCode: "ForbiddenException" }],
    ["ExpiredTokenException", { status: 400, errorCode: "ExpiredTokenException" }],
    ["InvalidClientTokenId", { status: 400, errorCode: "InvalidClientTokenId" }],
    ["InvalidAccessKeyId", { status: 400, errorCode: "InvalidAccessKeyId" }],
    ["lower case", { status: 400, errorCode: "accessdenied" }],
  ];
  for (const [name, fields] of refused) {
    await t.step(`refused: ${name}`, () => assert.equal(isRefused(record(fields)), true));
  }
  const answered: Array<[string, Partial<CallRecord>]> = [
    ["200", {}],
    ["404 NoSuchKey", { status: 404, errorCode: "NoSuchKey" }],
    ["400 ValidationException", { status: 400, errorCode: "ValidationException" }],
    ["500", { status: 500, errorCode: "InternalError" }],
  ];
  for (const [name, fields] of answered) {
    await t.step(`not refused: ${name}`, () => assert.equal(isRefused(record(fields)), false));
  }
});

Deno.test("every bucket sub-resource's operation, by method", () => {
  const cases: Array<[string, string, string]> = [
    ["GET", "policy", "GetBucketPolicy"],
    ["PUT", "policy", "PutBucketPolicy"],
    ["GET", "tagging", "GetBucketTagging"],
    ["DELETE", "tagging", "DeleteBucketTagging"],
    ["PUT", "acl", "PutBucketAcl"],
    ["GET", "cors", "GetBucketCors"],
    ["PUT", "cors", "PutBucketCors"],
    ["GET", "lifecycle", "GetBucketLifecycleConfiguration"],
    ["PUT", "encryption", "PutBucketEncryption"],
    ["DELETE", "encryption", "DeleteBucketEncryption"],
    ["GET", "website", "GetBucketWebsite"],
    ["DELETE", "website", "DeleteBucketWebsite"],
    ["PUT", "notification", "PutBucketNotificationConfiguration"],
    ["POST", "delete", "DeleteObjects"],
    ["GET", "delete", "unknown"],
  ];
  for (const [method, sub, action] of cases) {
    assert.deepEqual(
      call("s3", method, `/b?${sub}`),
      { action, resource: "b" },
      `${method} ?${sub}`,
    );
  }
});

Deno.test("only a POST with ?uploads is recorded as starting a multipart upload", () => {
  for (const method of ["GET", "PUT", "DELETE"]) {
    assert.notEqual(call("s3", method, "/b/k?uploads").action, "CreateMultipartUpload", method);
  }
});

Deno.test("a REST path skips only whole date segments", () => {
  assert.deepEqual(call("lambda", "GET", "/2015-03-31/functions/backup-2024-01-01"), {
    action: "GET /functions",
    resource: "backup-2024-01-01",
  });
  assert.deepEqual(call("lambda", "GET", "/2015-03-31/functions/2024-01-01-nightly"), {
    action: "GET /functions",
    resource: "2024-01-01-nightly",
  });
  assert.deepEqual(call("backup", "GET", "/vault-2024-01-01/items"), {
    action: "GET /vault-2024-01-01",
    resource: "items",
  });
  assert.deepEqual(call("apigateway", "GET", "/2024-01-01x/restapis"), {
    action: "GET /2024-01-01x",
    resource: "restapis",
  });
});

Deno.test("isRefused(): a refusal by the proxy counts whatever its status", () => {
  const record: CallRecord = {
    time: new Date(0),
    service: "sts",
    action: "GetCallerIdentity",
    region: "eu-west-1",
    status: 400,
    bytesIn: 0,
    bytesOut: 0,
    refused: "IncompleteSignature",
  };
  assert.equal(isRefused(record), true);
  assert.equal(isRefused({ ...record, refused: undefined }), false);
});
