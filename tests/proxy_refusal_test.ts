// The signing proxy's refusals as a client sees them: the status, the error code its SDK parses
// and the shape of the body (S3's <Error>, the query services' <ErrorResponse>, EC2's
// <Response><Errors>, the JSON services' {"__type"}), so that the CLI and the SDKs report the
// refusal as they would AWS's own.
import assert from "node:assert/strict";
import {
  type Protocol,
  protocolOf,
  ProxyRefusal,
  refusalCode,
  type RefusalKind,
  refusalReason,
  refusalResponse,
} from "../lib/delivery/proxy_refusal.ts";

const headers = (init: Record<string, string> = {}) => new Headers(init);

Deno.test("protocolOf() tells the wire protocol from the signing name and headers", async (t) => {
  const cases: Array<[string, string | undefined, Record<string, string>, Protocol]> = [
    ["S3", "s3", {}, "s3"],
    ["S3 with a JSON body stays S3", "s3", { "content-type": "application/json" }, "s3"],
    ["a JSON target", "dynamodb", { "x-amz-target": "DynamoDB_20120810.GetItem" }, "json"],
    ["JSON by content type", "logs", { "content-type": "application/x-amz-json-1.1" }, "json"],
    ["a target wins over s3", "s3", { "x-amz-target": "X.Y" }, "json"],
    ["EC2", "ec2", { "content-type": "application/x-www-form-urlencoded" }, "ec2"],
    ["REST JSON (Lambda)", "lambda", { "content-type": "application/json" }, "rest-json"],
    ["query (STS)", "sts", { "content-type": "application/x-www-form-urlencoded" }, "query"],
    ["no scope at all", undefined, {}, "query"],
  ];
  for (const [name, service, init, protocol] of cases) {
    await t.step(name, () => assert.equal(protocolOf(service, headers(init)), protocol));
  }
});

/** Each refusal's code as AWS names the same condition: S3, query services, JSON services. */
const CODES: Record<RefusalKind, [string, string, string, number]> = {
  "unknown-key": [
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    403,
  ],
  "bad-signature": [
    "SignatureDoesNotMatch",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    403,
  ],
  "expired": ["ExpiredToken", "ExpiredToken", "ExpiredTokenException", 403],
  "presigned": ["InvalidRequest", "InvalidRequest", "InvalidRequestException", 400],
  "sigv4a": ["InvalidRequest", "InvalidRequest", "InvalidRequestException", 400],
  "not-sigv4": ["InvalidRequest", "IncompleteSignature", "IncompleteSignature", 400],
  "unsigned": [
    "AccessDenied",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    403,
  ],
  "host": ["AccessDenied", "AccessDenied", "AccessDeniedException", 403],
  "mints-credentials": ["AccessDenied", "AccessDenied", "AccessDeniedException", 403],
  "encoded-body": ["AccessDenied", "AccessDenied", "AccessDeniedException", 403],
  "body-too-large": ["EntityTooLarge", "RequestEntityTooLarge", "RequestEntityTooLarge", 413],
  "headers-too-large": [
    "RequestHeaderSectionTooLarge",
    "RequestHeaderSectionTooLarge",
    "RequestHeaderSectionTooLarge",
    431,
  ],
  "bad-scope": [
    "AuthorizationHeaderMalformed",
    "IncompleteSignature",
    "IncompleteSignature",
    400,
  ],
  "upstream-timeout": ["RequestTimeout", "RequestTimeout", "RequestTimeoutException", 504],
  "upstream-failed": ["ServiceUnavailable", "ServiceUnavailable", "ServiceUnavailable", 502],
  "busy": ["SlowDown", "Throttling", "ThrottlingException", 503],
};

/** EC2's own code where it differs from the query services': its `UnauthorizedOperation`. */
const EC2_CODES: Partial<Record<RefusalKind, string>> = {
  "host": "UnauthorizedOperation",
  "mints-credentials": "UnauthorizedOperation",
  "encoded-body": "UnauthorizedOperation",
};

/** The refusals that the JSON RPC services (awsJson) answer with 400 where others answer 403. */
const JSON_RPC_400: RefusalKind[] = ["unknown-key", "host", "mints-credentials", "encoded-body"];

Deno.test("every refusal has AWS's code and status in each protocol", async (t) => {
  for (const [kind, [s3, query, json, status]] of Object.entries(CODES)) {
    await t.step(kind, async () => {
      const refusal = new ProxyRefusal(kind as RefusalKind);
      const expected: Array<[Protocol, string]> = [
        ["s3", s3],
        ["query", query],
        ["ec2", EC2_CODES[kind as RefusalKind] ?? query],
        ["json", json],
        ["rest-json", json],
      ];
      for (const [protocol, code] of expected) {
        assert.equal(refusalCode(refusal, protocol), code, protocol);
        const response = refusalResponse(refusal, { protocol, requestId: "r-1", method: "POST" });
        const wanted = (kind === "expired" && protocol === "s3") ||
            (protocol === "json" && JSON_RPC_400.includes(kind as RefusalKind))
          ? 400
          : status;
        assert.equal(response.status, wanted, protocol);
        const body = await response.text();
        if (protocol === "json" || protocol === "rest-json") {
          assert.equal(response.headers.get("x-amzn-errortype"), code);
          assert.equal(JSON.parse(body).__type, code);
        } else {
          assert.match(body, new RegExp(`<Code>${code}</Code>`));
        }
      }
    });
  }
});

Deno.test("S3 gets <Error> with both request id headers", async () => {
  const response = refusalResponse(new ProxyRefusal("unknown-key"), {
    protocol: "s3",
    requestId: "req-7",
    method: "GET",
  });
  assert.equal(response.status, 403);
  assert.equal(response.headers.get("content-type"), "text/xml");
  assert.equal(response.headers.get("x-amz-request-id"), "req-7");
  assert.equal(response.headers.get("x-amzn-requestid"), "req-7");
  assert.equal(
    await response.text(),
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code>' +
      "<Message>The security token included in the request is invalid</Message>" +
      "<RequestId>req-7</RequestId></Error>\n",
  );
});

Deno.test("a query service gets <ErrorResponse>: Sender for the client's fault, Receiver for AWS's", async () => {
  const sender = refusalResponse(new ProxyRefusal("expired"), {
    protocol: "query",
    requestId: "q-1",
    method: "POST",
  });
  assert.equal(sender.status, 403);
  assert.equal(sender.headers.get("content-type"), "text/xml");
  assert.equal(sender.headers.get("x-amz-request-id"), null);
  assert.equal(
    await sender.text(),
    "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>" +
      "<Message>The security token included in the request is expired</Message></Error>" +
      "<RequestId>q-1</RequestId></ErrorResponse>\n",
  );
  const receiver = refusalResponse(new ProxyRefusal("upstream-failed"), {
    protocol: "query",
    requestId: "q-2",
    method: "POST",
  });
  assert.equal(receiver.status, 502);
  assert.match(await receiver.text(), /^<ErrorResponse><Error><Type>Receiver<\/Type>/);
});

Deno.test("EC2 gets <Response><Errors> with RequestID", async () => {
  const response = refusalResponse(new ProxyRefusal("bad-scope"), {
    protocol: "ec2",
    requestId: "e-1",
    method: "POST",
  });
  assert.equal(response.status, 400);
  assert.equal(
    await response.text(),
    "<Response><Errors><Error><Code>IncompleteSignature</Code><Message>The credential scope " +
      "names no AWS region or service that the proxy can reach</Message></Error></Errors>" +
      "<RequestID>e-1</RequestID></Response>\n",
  );
});

Deno.test("a JSON service gets __type and message, and DynamoDB 400 for a client error", async () => {
  const refusal = new ProxyRefusal("unsigned");
  const lambda = refusalResponse(refusal, {
    protocol: "rest-json",
    requestId: "j-1",
    method: "GET",
    service: "lambda",
  });
  assert.equal(lambda.status, 403);
  assert.equal(lambda.headers.get("content-type"), "application/x-amz-json-1.1");
  assert.equal(lambda.headers.get("x-amzn-requestid"), "j-1");
  assert.deepEqual(JSON.parse(await lambda.text()), {
    __type: "MissingAuthenticationTokenException",
    message: "timebound-iam's signing proxy refuses unsigned requests: sign them with the " +
      "stand-in credentials",
  });
  const dynamodb = (kind: RefusalKind) =>
    refusalResponse(new ProxyRefusal(kind), {
      protocol: "json",
      requestId: "j-2",
      method: "POST",
      service: "dynamodb",
    }).status;
  assert.equal(dynamodb("unsigned"), 400);
  assert.equal(dynamodb("body-too-large"), 400);
  assert.equal(dynamodb("upstream-timeout"), 504);
});

Deno.test("a refusal's own message replaces the usual one, escaped in XML", async () => {
  const refusal = new ProxyRefusal("bad-signature", 'a <b> & "c"');
  assert.equal(refusal.name, "ProxyRefusal");
  assert.equal(refusal.kind, "bad-signature");
  const xml = await refusalResponse(refusal, {
    protocol: "s3",
    requestId: "<id>&",
    method: "PUT",
  }).text();
  assert.match(xml, /<Message>a &#60;b&#62; &#38; &#34;c&#34;<\/Message>/);
  assert.match(xml, /<RequestId>&#60;id&#62;&#38;<\/RequestId>/);
  const json = await refusalResponse(refusal, { protocol: "json", requestId: "x", method: "POST" })
    .json();
  assert.equal(json.message, 'a <b> & "c"');
});

Deno.test("HEAD gets the status and headers and no body", async () => {
  const response = refusalResponse(new ProxyRefusal("unknown-key"), {
    protocol: "s3",
    requestId: "h-1",
    method: "HEAD",
  });
  assert.equal(response.status, 403);
  assert.equal(response.headers.get("x-amz-request-id"), "h-1");
  assert.equal(response.body, null);
  assert.equal(await response.text(), "");
});

Deno.test("each refusal's message says who refused and what to do", async (t) => {
  const proxy = "timebound-iam's signing proxy";
  const says: Record<RefusalKind, string> = {
    "unknown-key": "The security token included in the request is invalid",
    "bad-signature": "The request signature we calculated does not match the signature you " +
      "provided. Check your AWS Secret Access Key and signing method",
    "expired": "The security token included in the request is expired",
    "presigned": `${proxy} refuses presigned (query-string) requests: signing one again would ` +
      "make a URL that carries the real session; sign in the Authorization header instead",
    "sigv4a": `${proxy} refuses SigV4A (AWS4-ECDSA-P256-SHA256): it signs for one region only; ` +
      "use a regional endpoint, or set AWS_SIGV4A_SIGNING_REGION_SET to one region",
    "not-sigv4": `${proxy} accepts only AWS Signature Version 4 (AWS4-HMAC-SHA256) in the ` +
      "Authorization header",
    "unsigned": `${proxy} refuses unsigned requests: sign them with the stand-in credentials`,
    "host": `${proxy} answers only requests for Host 127.0.0.1:PORT or localhost:PORT`,
    "body-too-large": `The request body is larger than ${proxy} accepts`,
    "headers-too-large": "Your request header section exceeds the maximum allowed size",
    "bad-scope": "The credential scope names no AWS region or service that the proxy can reach",
    "upstream-timeout": `${proxy} got no answer from AWS in time`,
    "upstream-failed": `${proxy} could not reach AWS`,
    "busy": `${proxy} holds as many request bodies as it may at once: try again`,
    "mints-credentials": "timebound-iam's masked proxy refuses credential-minting actions: " +
      "their answer would hand out real credentials",
    "encoded-body": "timebound-iam's masked proxy refuses a compressed body to a service with " +
      "credential-minting actions: send it uncompressed",
  };
  for (const [kind, message] of Object.entries(says)) {
    await t.step(kind, async () => {
      const response = refusalResponse(new ProxyRefusal(kind as RefusalKind), {
        protocol: "json",
        requestId: "m",
        method: "POST",
      });
      assert.equal((await response.json()).message, message);
    });
  }
});

Deno.test("a JSON content type with parameters is still REST JSON", () => {
  const type = { "content-type": "application/json; charset=utf-8" };
  assert.equal(protocolOf("lambda", headers(type)), "rest-json");
  assert.equal(
    protocolOf("lambda", headers({ "content-type": "text/plain; application/json" })),
    "query",
  );
});

Deno.test("each refusal records one reason of the closed set, which says what to change", async (t) => {
  const why: Record<RefusalKind, string> = {
    "mints-credentials": "credential-minting action refused under --masked",
    "encoded-body":
      "compressed body to a service with credential-minting actions: send it uncompressed",
    "unknown-key": "not signed with the stand-in key",
    "bad-signature": "bad signature: wrong stand-in secret or clock skew",
    "expired": "grant expired or revoked",
    "presigned": "not signed with SigV4 in the Authorization header",
    "sigv4a": "not signed with SigV4 in the Authorization header",
    "not-sigv4": "not signed with SigV4 in the Authorization header",
    "unsigned": "not signed with SigV4 in the Authorization header",
    "host": "not for a host, region or service the proxy serves",
    "bad-scope": "not for a host, region or service the proxy serves",
    "body-too-large": "request over the proxy's size limits",
    "headers-too-large": "request over the proxy's size limits",
    "busy": "proxy busy with other large requests: retry",
    "upstream-timeout": "no usable answer from AWS",
    "upstream-failed": "no usable answer from AWS",
  };
  for (const [kind, reason] of Object.entries(why)) {
    await t.step(kind, () => {
      // A message of the refusal's own (which may quote the request) never changes its reason.
      const refusal = new ProxyRefusal(kind as RefusalKind, "said\nto the client");
      assert.equal(refusalReason(refusal), reason);
    });
  }
});

Deno.test("a credential-minting refusal is each protocol's own access denial", async (t) => {
  const message = "timebound-iam's masked proxy refuses credential-minting actions: their " +
    "answer would hand out real credentials";
  const refused = (protocol: Protocol) =>
    refusalResponse(new ProxyRefusal("mints-credentials"), {
      protocol,
      requestId: "m-1",
      method: "POST",
    });
  const headersOf = (response: Response) => Object.fromEntries(response.headers);
  await t.step("EC2: UnauthorizedOperation, 403, <Response><Errors> with RequestID", async () => {
    const response = refused("ec2");
    assert.equal(response.status, 403);
    assert.deepEqual(headersOf(response), {
      "content-type": "text/xml",
      "x-amzn-requestid": "m-1",
    });
    assert.equal(
      await response.text(),
      "<Response><Errors><Error><Code>UnauthorizedOperation</Code>" +
        `<Message>${message}</Message></Error></Errors><RequestID>m-1</RequestID></Response>\n`,
    );
  });
  await t.step(
    "awsJson (ECR, KMS…): AccessDeniedException, 400, __type and the header",
    async () => {
      const response = refused("json");
      assert.equal(response.status, 400);
      assert.deepEqual(headersOf(response), {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-errortype": "AccessDeniedException",
        "x-amzn-requestid": "m-1",
      });
      assert.deepEqual(await response.json(), { __type: "AccessDeniedException", message });
    },
  );
  await t.step(
    "restJson (Lambda, API Gateway…): AccessDeniedException, 403, the header",
    async () => {
      const response = refused("rest-json");
      assert.equal(response.status, 403);
      assert.equal(response.headers.get("x-amzn-errortype"), "AccessDeniedException");
      assert.equal(response.headers.get("x-amzn-requestid"), "m-1");
      assert.deepEqual(await response.json(), { __type: "AccessDeniedException", message });
    },
  );
  await t.step("query (STS, IAM): AccessDenied, 403, <ErrorResponse> of a Sender", async () => {
    const response = refused("query");
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("x-amzn-requestid"), "m-1");
    assert.equal(
      await response.text(),
      "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>" +
        `<Message>${message}</Message></Error><RequestId>m-1</RequestId></ErrorResponse>\n`,
    );
  });
  await t.step("S3: AccessDenied, 403, <Error> and x-amz-request-id", async () => {
    const response = refused("s3");
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("x-amz-request-id"), "m-1");
    assert.match(await response.text(), /^<\?xml [^>]+>\n<Error><Code>AccessDenied<\/Code>/);
  });
  await t.step("--calls and the audit name the code the client got", () => {
    const refusal = new ProxyRefusal("mints-credentials");
    assert.equal(refusalCode(refusal, "ec2"), "UnauthorizedOperation");
    assert.equal(refusalCode(refusal, "json"), "AccessDeniedException");
    assert.equal(refusalReason(refusal), "credential-minting action refused under --masked");
  });
});

Deno.test("an unknown key to an awsJson service gets 400 UnrecognizedClientException, as ECR answers", async () => {
  const response = refusalResponse(new ProxyRefusal("unknown-key"), {
    protocol: "json",
    requestId: "u-1",
    method: "POST",
    service: "ecr",
  });
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("x-amzn-errortype"), "UnrecognizedClientException");
  assert.equal((await response.json()).__type, "UnrecognizedClientException");
});
