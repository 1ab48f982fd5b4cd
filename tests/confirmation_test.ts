// The summary printed before credentials are requested, with the clock handed in.
import { formatTime } from "../lib/core/time_text.ts";
import assert from "node:assert/strict";
import { renderSummary } from "../lib/cli/confirmation.ts";
import { createCatalog, loadCatalog } from "../lib/request/catalog.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";

const catalog = createCatalog(
  [{ prefix: "s3", name: "Amazon S3" }, { prefix: "ec2", name: "Amazon EC2" }],
  (prefix) =>
    Promise.resolve(
      prefix === "s3"
        ? [{ name: "GetObject", accessLevel: "Read" }, { name: "PutObject", accessLevel: "Write" }]
        : [],
    ),
);

Deno.test("renderSummary() gives the TTL and its absolute expiry by the injected clock", async () => {
  const request = await prepareGrant({ scopes: ["s3:ro,ec2:full"], ttl: "3661s" }, { catalog });
  const text = renderSummary({
    request,
    catalog,
    account: "123456789012",
    callerArn: "arn:aws:iam::123456789012:user/dev",
    roleArn: "arn:aws:iam::123456789012:role/timebound-iam-broker",
    region: "eu-west-1",
    command: ["aws", "s3", "ls"],
    now: new Date("2030-01-01T00:00:00Z"),
  });
  assert.equal(
    text,
    [
      "timebound-iam will request temporary AWS credentials:",
      "  account  123456789012",
      "  caller   arn:aws:iam::123456789012:user/dev",
      "  role     arn:aws:iam::123456789012:role/timebound-iam-broker",
      "  profile  (default credential chain)",
      "  region   eu-west-1",
      `  ttl      1h1m1s, until ${formatTime(new Date("2030-01-01T01:01:01Z"))}`,
      "  scopes   s3:ro     Amazon S3, Read and List actions only (1 pattern)",
      "           ec2:full  every Amazon EC2 action (ec2:*)",
      "  command  aws s3 ls",
      "",
    ].join("\n"),
  );
});

Deno.test("renderSummary() says why the account is unknown on a dry run without credentials", async () => {
  const request = await prepareGrant({ scopes: ["s3:ro"], ttl: "15m" }, { catalog });
  const text = renderSummary({
    request,
    catalog,
    profile: "prod",
    unknownBecause: "No AWS credentials found",
    now: new Date("2030-01-01T00:00:00Z"),
  });
  assert.match(text, /^ {2}account {2}unknown \(No AWS credentials found\)$/m);
  assert.match(text, /^ {2}profile {2}prod$/m);
  assert.ok(
    text.includes(`\n  ttl      15m, until ${formatTime(new Date("2030-01-01T00:15:00Z"))}\n`),
    text,
  );
  assert.doesNotMatch(text, /command/);
});

Deno.test("renderSummary() says what a policy variable in a resource is", async () => {
  const real = await loadCatalog();
  const summary = async (scope: string) =>
    renderSummary({
      request: await prepareGrant({ scopes: [scope], ttl: "15m" }, { catalog: real }),
      catalog: real,
      now: new Date("2030-01-01T00:00:00Z"),
    });
  const text = await summary("s3:ro@arn:aws:s3:::home/${aws:username}/*");
  assert.match(text, /on arn:aws:s3:::home\/\$\{aws:username\}\/\* only/);
  assert.match(
    text,
    /\n +note: \$\{…\} is an IAM policy variable, filled in by AWS at each call \(\$\{\*\}, \$\{\?\} and \$\{\$\} are those characters themselves, not wildcards\)\n/,
  );
  assert.doesNotMatch(await summary("s3:ro@arn:aws:s3:::home/*"), /policy variable/);
});
