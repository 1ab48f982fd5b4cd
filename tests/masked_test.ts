// exec --masked end to end: the real CLI (compile permission set) against the local endpoint,
// which stands in for AWS behind the proxy (the proxy's upstream is the parent's
// AWS_ENDPOINT_URL, as a user's would be; tests/support/masked.ts). Linux and macOS only. What the
// proxy refuses: masked_proxy_refusals_test.ts; the session's end: masked_expiry_test.ts;
// shell --masked: masked_shell_test.ts.
import assert from "node:assert/strict";
import { cli, ignore, MASKED_EXEC, maskedRig, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";

Deno.test(
  `exec --masked: the AWS CLI works through the proxy (STS, S3 multipart, DynamoDB) and the ` +
    `child holds no real key or token${note}`,
  { ignore },
  async () => {
    await using rig = await maskedRig();
    // 9 MiB: over the CLI's 8 MiB threshold, so it uploads in two parts and reads back in two
    // ranges. Not all one byte, so that a part in the wrong place would show.
    const big = new Uint8Array(9 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 12)) & 255;
    await Deno.writeFile(`${rig.home}/big.bin`, big);
    const A = shQuote(cli.path!);
    const script = [
      "set -e",
      `cd ${shQuote(rig.home)}`,
      `cat /proc/$$/environ > environ.bin 2>/dev/null || env > environ.bin`,
      `${A} sts get-caller-identity --output json > identity.json`,
      `${A} s3 mb s3://masked-reports`,
      `${A} s3 cp big.bin s3://masked-reports/data/big.bin --only-show-errors`,
      `${A} s3 ls s3://masked-reports/data/ > listing.txt`,
      `${A} s3 cp s3://masked-reports/data/big.bin back.bin --only-show-errors`,
      `${A} dynamodb create-table --table-name Orders --billing-mode PAY_PER_REQUEST ` +
      `--attribute-definitions AttributeName=id,AttributeType=S ` +
      `--key-schema AttributeName=id,KeyType=HASH > /dev/null`,
      `${A} dynamodb put-item --table-name Orders --item '{"id":{"S":"o-1"},"total":{"N":"42"}}'`,
      `${A} dynamodb get-item --table-name Orders --key '{"id":{"S":"o-1"}}' > item.json`,
    ].join("\n");
    const result = await rig.run([
      ...MASKED_EXEC,
      "-s",
      "s3:full,dynamodb:full",
      "--",
      "sh",
      "-c",
      script,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const session = rig.aws.sessions().find((s) => s.roleName === "timebound-iam-broker")!;
    const identity = JSON.parse(await Deno.readTextFile(`${rig.home}/identity.json`));
    assert.equal(identity.Arn, session.arn);
    assert.match(identity.Arn, /assumed-role\/timebound-iam-broker\/timebound-iam-[0-9a-f-]{36}$/);
    assert.match(
      await Deno.readTextFile(`${rig.home}/listing.txt`),
      /^\S+ \S+ +9437184 big\.bin\n$/,
    );
    assert.deepEqual(await Deno.readFile(`${rig.home}/back.bin`), big);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${rig.home}/item.json`)).Item, {
      id: { S: "o-1" },
      total: { N: "42" },
    });
    // What reached the endpoint: every call signed by the session's real key.
    const storage = rig.aws.requests.filter((r) => r.service === "s3" || r.service === "dynamodb");
    assert.deepEqual(
      storage.map((r) => r.action),
      [
        "CreateBucket",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
        "ListObjectsV2",
        "HeadObject",
        "GetObject",
        "GetObject",
        "CreateTable",
        "PutItem",
        "GetItem",
      ],
      "the endpoint saw each call once",
    );
    assert.ok(storage.every((r) => r.accessKeyId === session.accessKeyId && r.status < 300));
    // The child's own environment, from /proc: stand-ins and the proxy, no real secret.
    const environ = new TextDecoder().decode(await Deno.readFile(`${rig.home}/environ.bin`));
    const vars = Object.fromEntries(
      environ.split(/\0|\n/).filter(Boolean).map((
        l,
      ) => [l.split("=")[0], l.slice(l.indexOf("=") + 1)]),
    );
    assert.match(vars.AWS_ACCESS_KEY_ID, /^ASIA[A-Z2-7]{16}$/);
    assert.notEqual(vars.AWS_ACCESS_KEY_ID, session.accessKeyId);
    assert.match(vars.AWS_ENDPOINT_URL, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(vars.AWS_ENDPOINT_URL_STS, vars.AWS_ENDPOINT_URL, "the parent's STS variable too");
    assert.equal(vars.AWS_CONFIG_FILE, "/dev/null");
    assert.equal(vars.AWS_CONTAINER_CREDENTIALS_FULL_URI, undefined);
    for (const secret of [...rig.secrets(), session.accessKeyId, rig.aws.defaultUser.accessKeyId]) {
      assert.ok(!environ.includes(secret), "a real key, secret or token is in the child's environ");
      assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
    }
  },
);

Deno.test("exec --masked --dry-run and the config file's masked say so in the summary", async () => {
  await using rig = await maskedRig();
  const dry = await rig.run([
    "exec",
    "--dry-run",
    "--masked",
    "-s",
    "s3:ro",
    "-t",
    "15m",
    "--",
    "true",
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /\n {2}masked +stand-in keys and a loopback signing proxy/);
  assert.match(dry.stderr, /dry run: no credentials were requested\n$/);
  assert.doesNotMatch(dry.stderr, /mint credentials/, "s3:ro allows none");
  const minting = await rig.run([
    "exec",
    "--dry-run",
    "--masked",
    "-s",
    "sts:ro,ecr:ro@app,iam:list",
    "-t",
    "15m",
    "--",
    "true",
  ]);
  assert.equal(minting.code, 0, minting.stderr);
  const refusedLines = minting.stderr.split("\n").filter((l) => l.includes("mint credentials"));
  assert.deepEqual(refusedLines.map((l) => l.trim()), [
    "refused by the proxy (they mint credentials): sts:GetSessionToken",
    "refused by the proxy (they mint credentials): ecr:GetAuthorizationToken",
  ]);
  const config = `${rig.home}/config.json`;
  await Deno.writeTextFile(config, JSON.stringify({ masked: true }));
  const withConfig = (args: string[]) =>
    rig.run(["exec", "--dry-run", ...args, "-s", "s3:ro", "-t", "15m", "--", "true"], {
      TIMEBOUND_IAM_CONFIG: config,
    });
  const fromFile = await withConfig([]);
  assert.match(fromFile.stderr, /\n {2}masked +stand-in keys/);
  const off = await withConfig(["--no-masked"]);
  assert.doesNotMatch(off.stderr, /masked/);
  await Deno.writeTextFile(config, JSON.stringify({ masked: "yes" }));
  const bad = await withConfig([]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /field "masked": expected true or false, got "yes"/);
});
