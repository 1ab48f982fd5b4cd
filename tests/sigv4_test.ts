// The signing proxy's SigV4: what it checks a client's signature with and signs again with must
// give AWS's own signatures, so it is held to AWS's documented examples (IAM ListUsers, S3 GET
// Object) and to the parsing rules a client's Authorization header goes through.
import assert from "node:assert/strict";
import {
  authorizationHeader,
  canonicalPath,
  canonicalQuery,
  canonicalRequest,
  EMPTY_SHA256,
  fromAmzDate,
  hmacHex,
  parseAuthorization,
  sameSignature,
  scopeString,
  sha256Hex,
  signingKey,
  stringToSign,
  toAmzDate,
  uriEncode,
} from "../lib/core/sigv4.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("the empty payload's hash is SHA-256 of nothing", () => {
  assert.equal(EMPTY_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

Deno.test("AWS's IAM ListUsers example signs to AWS's signature", () => {
  const scope = {
    accessKeyId: "AKIDEXAMPLE",
    date: "20150830",
    region: "us-east-1",
    service: "iam",
  };
  const canonical = canonicalRequest({
    method: "get",
    path: "/",
    query: "Version=2010-05-08&Action=ListUsers",
    headers: new Headers({
      "content-type": "application/x-www-form-urlencoded;   charset=utf-8",
      host: " iam.amazonaws.com ",
      "x-amz-date": "20150830T123600Z",
    }),
    signedHeaders: ["content-type", "host", "x-amz-date"],
    payloadHash: EMPTY_SHA256,
    service: "iam",
  });
  assert.equal(
    canonical,
    "GET\n/\nAction=ListUsers&Version=2010-05-08\n" +
      "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n" +
      "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n" + EMPTY_SHA256,
  );
  assert.equal(
    sha256Hex(canonical),
    "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
  );
  const toSign = stringToSign(canonical, { amzDate: "20150830T123600Z", scope });
  assert.equal(
    toSign,
    "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n" +
      "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
  );
  const key = signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", scope);
  assert.equal(hex(key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  assert.equal(
    hmacHex(key, toSign),
    "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
  );
});

Deno.test("AWS's S3 GET Object example signs to AWS's signature", () => {
  const scope = {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    date: "20130524",
    region: "us-east-1",
    service: "s3",
  };
  const canonical = canonicalRequest({
    method: "GET",
    path: "/test.txt",
    query: "",
    headers: new Headers({
      host: "examplebucket.s3.amazonaws.com",
      range: "bytes=0-9",
      "x-amz-content-sha256": EMPTY_SHA256,
      "x-amz-date": "20130524T000000Z",
    }),
    signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"],
    payloadHash: EMPTY_SHA256,
    service: "s3",
  });
  const key = signingKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", scope);
  const signature = hmacHex(key, stringToSign(canonical, { amzDate: "20130524T000000Z", scope }));
  assert.equal(signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  assert.equal(
    authorizationHeader({
      ...scope,
      signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"],
      signature,
    }),
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  );
});

Deno.test("a header signed but absent is signed as empty", () => {
  const canonical = canonicalRequest({
    method: "POST",
    path: "",
    query: "",
    headers: new Headers({ host: "h" }),
    signedHeaders: ["host", "x-amz-missing"],
    payloadHash: "UNSIGNED-PAYLOAD",
    service: "sts",
  });
  assert.equal(
    canonical,
    "POST\n/\n\nhost:h\nx-amz-missing:\n\nhost;x-amz-missing\nUNSIGNED-PAYLOAD",
  );
});

Deno.test("the path: S3's as sent, every other service's encoded once more", async (t) => {
  await t.step("S3", () => {
    assert.equal(canonicalPath("/b/my%20key+x", "s3"), "/b/my%20key+x");
    assert.equal(canonicalPath("", "s3"), "/");
  });
  await t.step("others", () => {
    assert.equal(canonicalPath("/functions/my%20fn", "lambda"), "/functions/my%2520fn");
    assert.equal(canonicalPath("/a b/c~d_e.f-g", "execute-api"), "/a%20b/c~d_e.f-g");
    assert.equal(canonicalPath("", "iam"), "/");
  });
});

Deno.test("uriEncode() encodes all but the unreserved characters, upper-case, per UTF-8 byte", () => {
  const unreserved = "ABCXYZabcxyz0189-_.~";
  assert.equal(uriEncode(unreserved), unreserved);
  assert.equal(uriEncode("a/b c+d=e&f%g*h"), "a%2Fb%20c%2Bd%3De%26f%25g%2Ah");
  assert.equal(uriEncode("a/b", true), "a/b");
  assert.equal(uriEncode("é\n"), "%C3%A9%0A");
  assert.equal(uriEncode("\u0001"), "%01");
  assert.equal(uriEncode(""), "");
});

Deno.test("canonicalQuery() decodes, encodes again and sorts by name then value", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["empty", "", ""],
    ["sorted by name", "b=2&a=1&c=3", "a=1&b=2&c=3"],
    ["same name: sorted by value", "k=b&k=a&k=c", "k=a&k=b&k=c"],
    ["equal pairs kept", "k=a&k=a", "k=a&k=a"],
    ["a name alone gets an empty value", "versioning&acl", "acl=&versioning="],
    ["an empty value", "prefix=", "prefix="],
    ["encoded as AWS wants", "prefix=a b&x=%7e%2f", "prefix=a%20b&x=~%2F"],
    ["only the first = splits", "token=ab==", "token=ab%3D%3D"],
    ["empty parts dropped", "&a=1&&b=2&", "a=1&b=2"],
    ["a bad escape kept as sent, then encoded", "k=%zz&n%=1", "k=%25zz&n%25=1"],
    ["a name sorts before a longer one", "ab=1&a=2", "a=2&ab=1"],
  ];
  for (const [name, query, canonical] of cases) {
    await t.step(name, () => assert.equal(canonicalQuery(query), canonical));
  }
});

Deno.test("parseAuthorization() reads a SigV4 header and refuses anything else", async (t) => {
  const signature = "0123456789abcdef".repeat(4);
  const good = "AWS4-HMAC-SHA256 Credential=AKID/20300101/eu-west-1/s3/aws4_request, " +
    `SignedHeaders=host;x-amz-date, Signature=${signature}`;
  await t.step("the header as an SDK sends it", () => {
    assert.deepEqual(parseAuthorization(good), {
      accessKeyId: "AKID",
      date: "20300101",
      region: "eu-west-1",
      service: "s3",
      signedHeaders: ["host", "x-amz-date"],
      signature,
    });
  });
  await t.step("spacing and the order of the fields do not matter", () => {
    const header = `  AWS4-HMAC-SHA256 Signature=${signature},SignedHeaders=host ,  ` +
      "Credential=AKID/20300101/eu-west-1/s3/aws4_request  ";
    assert.equal(parseAuthorization(header)?.signature, signature);
    assert.deepEqual(parseAuthorization(header)?.signedHeaders, ["host"]);
  });
  await t.step("round trip through authorizationHeader()", () => {
    assert.equal(authorizationHeader(parseAuthorization(good)!), good);
  });
  const bad: Array<[string, string]> = [
    ["another algorithm", good.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")],
    ["no space after the algorithm", good.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256,")],
    ["SigV2", "AWS AKID:c2ln"],
    ["a part without =", good + ", Extra"],
    ["a field twice", good + ", Signature=" + signature],
    ["no Credential", good.replace(/Credential=[^,]*, /, "")],
    ["no SignedHeaders", good.replace(/SignedHeaders=[^,]*, /, "")],
    ["no Signature", good.replace(/, Signature=.*/, "")],
    ["four scope parts", good.replace("/s3/aws4_request", "/aws4_request")],
    ["six scope parts", good.replace("/s3/", "/s3/x/")],
    ["not aws4_request", good.replace("aws4_request", "aws4_requesx")],
    ["an empty key", good.replace("=AKID/", "=/")],
    ["a key with a space", good.replace("=AKID/", "=AK ID/")],
    ["a region with a slash-like char", good.replace("eu-west-1", "eu-west-1:")],
    ["a service too long", good.replace("/s3/", `/${"s".repeat(129)}/`)],
    ["a short date", good.replace("20300101", "2030011")],
    ["a date with letters", good.replace("20300101", "2030010a")],
    ["a long date", good.replace("20300101", "203001011")],
    ["an upper-case signature", good.replace(signature, signature.toUpperCase())],
    ["a short signature", good.replace(signature, signature.slice(1))],
    ["a long signature", good.replace(signature, signature + "0")],
    ["no signed header", good.replace("host;x-amz-date", "")],
    ["an upper-case signed header", good.replace("host;", "Host;")],
    ["an empty signed header", good.replace("host;", ";")],
    ["a signed header with a space", good.replace("host;", "ho st;")],
  ];
  for (const [name, header] of bad) {
    await t.step(`refused: ${name}`, () => assert.equal(parseAuthorization(header), undefined));
  }
  await t.step("scope parts at their longest", () => {
    const long = good.replace("=AKID/", `=${"K".repeat(128)}/`);
    assert.equal(parseAuthorization(long)?.accessKeyId, "K".repeat(128));
    assert.equal(parseAuthorization(good.replace("=AKID/", "=A_b.c-9/"))?.accessKeyId, "A_b.c-9");
  });
});

Deno.test("amz dates: formatted as AWS wants and read back, or refused", () => {
  const time = new Date("2030-01-02T03:04:05.678Z");
  assert.equal(toAmzDate(time), "20300102T030405Z");
  assert.equal(fromAmzDate("20300102T030405Z")?.toISOString(), "2030-01-02T03:04:05.000Z");
  for (
    const bad of [
      "",
      "20300102T030405",
      "2030-01-02T03:04:05Z",
      "20301302T030405Z",
      " 20300102T030405Z",
      "20300102T030405Zx",
    ]
  ) {
    assert.equal(fromAmzDate(bad), undefined, bad);
  }
});

Deno.test("scope strings, hashes and signature comparison", () => {
  assert.equal(
    scopeString({ accessKeyId: "K", date: "20300101", region: "eu-west-1", service: "sqs" }),
    "20300101/eu-west-1/sqs/aws4_request",
  );
  assert.equal(sha256Hex(""), EMPTY_SHA256);
  assert.equal(sha256Hex(new Uint8Array()), EMPTY_SHA256);
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const a = "a".repeat(64);
  assert.equal(sameSignature(a, a), true);
  assert.equal(sameSignature(a, "a".repeat(63) + "b"), false);
  assert.equal(sameSignature(a, "a".repeat(63)), false);
});

Deno.test("parseAuthorization() refuses another algorithm's name, a nameless part, a scope too long", () => {
  const signature = "0123456789abcdef".repeat(4);
  const good = "AWS4-HMAC-SHA256 Credential=AKID/20300101/eu-west-1/s3/aws4_request, " +
    `SignedHeaders=host;x-amz-date, Signature=${signature}`;
  assert.ok(parseAuthorization(good));
  const bad = [
    good.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
    good.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256"),
    `${good}, =x`,
    good.replace("Credential=", " =x, Credential="),
    good.replace("/aws4_request", "/aws4_request/x"),
  ];
  for (const header of bad) assert.equal(parseAuthorization(header), undefined, header);
});

Deno.test("canonicalQuery() sorts by name before value, and keeps a nameless value", () => {
  assert.equal(canonicalQuery("b=1&a=2"), "a=2&b=1");
  assert.equal(canonicalQuery("a=2&b=1"), "a=2&b=1");
  assert.equal(canonicalQuery("w=4&x=3&y=2&z=1"), "w=4&x=3&y=2&z=1");
  assert.equal(canonicalQuery("z=1&y=2&x=3&w=4"), "w=4&x=3&y=2&z=1");
  assert.equal(canonicalQuery("=v"), "=v");
  assert.equal(canonicalQuery("a=1&=v"), "=v&a=1");
});
