import assert from "node:assert/strict";
import {
  canonicalRequest,
  checkSkew,
  parseAuthorization,
  sha256Hex,
  signString,
  stringToSign,
  verifySignature,
} from "./sigv4.ts";
import { AwsError } from "./aws_error.ts";

// AWS's documented example: IAM ListUsers signed on 2015-08-30 with the example secret.
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
const example = () => ({
  method: "GET",
  url: new URL("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"),
  headers: new Headers({
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    host: "iam.amazonaws.com",
    "x-amz-date": "20150830T123600Z",
  }),
  body: new Uint8Array(),
});
const header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
  `SignedHeaders=content-type;host;x-amz-date, Signature=${SIGNATURE}`;

Deno.test("sigv4 reproduces AWS's documented example", async (t) => {
  const auth = parseAuthorization(header)!;

  await t.step("parseAuthorization() reads the credential scope", () => {
    assert.deepEqual(auth, {
      accessKeyId: "AKIDEXAMPLE",
      date: "20150830",
      region: "us-east-1",
      service: "iam",
      signedHeaders: ["content-type", "host", "x-amz-date"],
      signature: SIGNATURE,
    });
    assert.equal(parseAuthorization(null), undefined);
  });

  await t.step("canonicalRequest() and signString() give AWS's hash and signature", () => {
    const canonical = canonicalRequest(example(), auth);
    assert.equal(
      sha256Hex(canonical),
      "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
    );
    assert.equal(
      signString(SECRET, stringToSign(canonical, "20150830T123600Z", auth), auth),
      SIGNATURE,
    );
  });

  await t.step("verifySignature() accepts it and refuses a changed request", () => {
    verifySignature(example(), auth, SECRET);
    const changed = example();
    changed.url.searchParams.set("Action", "DeleteUser");
    assert.throws(
      () => verifySignature(changed, auth, SECRET),
      (e: unknown) =>
        e instanceof AwsError && e.code === "SignatureDoesNotMatch" && e.status === 403,
    );
    assert.throws(
      () => verifySignature(example(), auth, SECRET.replace("w", "W")),
      (e: unknown) => e instanceof AwsError && e.code === "SignatureDoesNotMatch",
    );
  });

  await t.step("a malformed Authorization header is IncompleteSignature", () => {
    assert.throws(
      () => parseAuthorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830"),
      (e: unknown) => e instanceof AwsError && e.code === "IncompleteSignature",
    );
    assert.throws(
      () => parseAuthorization("Basic dXNlcjpwYXNz"),
      (e: unknown) => e instanceof AwsError && e.code === "IncompleteSignature",
    );
  });
});

Deno.test("checkSkew() refuses signatures more than 15 minutes from now", async (t) => {
  const headers = example().headers;
  const signedAt = new Date("2015-08-30T12:36:00Z").getTime();
  await t.step("within 15 minutes", () => {
    checkSkew(headers, new Date(signedAt + 15 * 60_000));
    checkSkew(headers, new Date(signedAt - 15 * 60_000));
  });
  await t.step("later than 15 minutes", () => {
    assert.throws(() => checkSkew(headers, new Date(signedAt + 16 * 60_000)), {
      message: "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z " +
        "(20150830T125200Z - 15 min.)",
    });
  });
  await t.step("earlier than 15 minutes", () => {
    assert.throws(() => checkSkew(headers, new Date(signedAt - 16 * 60_000)), {
      message: /^Signature not yet current: 20150830T123600Z is still later than/,
    });
  });
});
