// exec --masked: what the signing proxy refuses (a wrong stand-in, a call around it, another
// Host, a presigned URL, credential-minting actions), as the child and the human see it; the real
// CLI against the local endpoint (tests/support/masked.ts). Linux and macOS only.
import assert from "node:assert/strict";
import { cli, ignore, MASKED_EXEC, maskedRig, note } from "./support/masked.ts";
import { shQuote } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";

Deno.test(
  `exec --masked: what the proxy refuses, as the child sees it${note}`,
  { ignore: ignore || !(await canRun("curl")) },
  async () => {
    await using rig = await maskedRig();
    const A = shQuote(cli.path!);
    const script = [
      `cd ${shQuote(rig.home)}`,
      `${A} s3 mb s3://refusals-bucket > /dev/null`,
      `AWS_SECRET_ACCESS_KEY=not-the-stand-in ${A} sts get-caller-identity 2> wrong-secret.txt`,
      `${A} --endpoint-url ${shQuote(rig.aws.url)} sts get-caller-identity 2> straight.txt`,
      `${A} --endpoint-url ${shQuote(rig.aws.url)} s3 ls 2> straight-s3.txt`,
      `curl -s -H "Host: rebind.example:\${AWS_ENDPOINT_URL##*:}" "$AWS_ENDPOINT_URL/" > host.txt`,
      `curl -s "$(${A} s3 presign s3://refusals-bucket/x)" > presigned.txt`,
    ].join("\n");
    const result = await rig.run([
      ...MASKED_EXEC,
      "-s",
      "s3:full,sts:ro",
      "--",
      "sh",
      "-c",
      script,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const read = (name: string) => Deno.readTextFile(`${rig.home}/${name}`);
    assert.match(
      await read("wrong-secret.txt"),
      /An error occurred \(SignatureDoesNotMatch\) when calling the GetCallerIdentity operation/,
    );
    assert.match(await read("straight.txt"), /\(InvalidClientTokenId\)/);
    assert.match(await read("straight-s3.txt"), /\(InvalidAccessKeyId\)/);
    assert.match(await read("host.txt"), /<Code>AccessDenied<\/Code>.*127\.0\.0\.1:PORT/);
    const presigned = await read("presigned.txt");
    assert.match(presigned, /<Code>InvalidRequest<\/Code>/);
    assert.match(presigned, /<Message>timebound-iam's signing proxy refuses presigned [^<\n]+</);
    assert.equal(
      rig.aws.requests.filter((r) =>
        r.service === "s3" && r.action !== "CreateBucket" &&
        r.accessKeyId !== undefined && !r.errorCode
      ).length,
      0,
      "no refused call reached the endpoint",
    );
  },
);

Deno.test(
  `exec --masked: credential-minting calls are refused before they are signed, and --calls ` +
    `says so${note}`,
  { ignore },
  async () => {
    await using rig = await maskedRig();
    const A = shQuote(cli.path!);
    // Each call's stdout, stderr and exit code, as the command (an agent) sees them.
    const call = (name: string, args: string) =>
      `${A} ${args} > ${name}.out 2> ${name}.err; echo $? > ${name}.code`;
    const script = [
      `cd ${shQuote(rig.home)}`,
      call("identity", "sts get-caller-identity --query Arn --output text"),
      call(
        "assume",
        `sts assume-role --role-arn ${shQuote(rig.aws.brokerRoleArn)} ` +
          "--role-session-name escape",
      ),
      call("session", "sts get-session-token"),
      call("ecr", "ecr get-authorization-token"),
    ].join("\n");
    const result = await rig.run([
      ...MASKED_EXEC,
      "--calls",
      "-s",
      "sts:full,ecr:full",
      "--",
      "sh",
      "-c",
      script,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const read = (name: string) => Deno.readTextFile(`${rig.home}/${name}`);
    assert.match(await read("identity.out"), /assumed-role\/timebound-iam-broker\//);
    const refusal = (code: string, operation: string, action: string) =>
      `An error occurred (${code}) when calling the ${operation} operation: timebound-iam's ` +
      `masked proxy refuses credential-minting actions such as ${action}: their answer would ` +
      "hand out real credentials, which masked mode keeps from the command. A human who needs " +
      "them runs the grant without --masked (timebound-iam exec -s SCOPES -t TTL -- COMMAND)";
    for (
      const [name, code, operation, action] of [
        ["assume", "AccessDenied", "AssumeRole", "sts:AssumeRole"],
        ["session", "AccessDenied", "GetSessionToken", "sts:GetSessionToken"],
        ["ecr", "AccessDeniedException", "GetAuthorizationToken", "ecr:GetAuthorizationToken"],
      ]
    ) {
      assert.equal((await read(`${name}.err`)).trim(), refusal(code, operation, action));
      assert.equal(await read(`${name}.out`), "");
      assert.equal((await read(`${name}.code`)).trim(), "255", `${name}: the CLI's error code`);
    }
    // What the human reads after the command: each refused call, as other refusals are.
    assert.equal(
      result.stderr,
      [
        "calls: 4 (4 distinct)",
        "  sts GetCallerIdentity - 1",
        "  sts AssumeRole - 1 refused (AccessDenied): " +
        "credential-minting action refused under --masked",
        "  sts GetSessionToken - 1 refused (AccessDenied): " +
        "credential-minting action refused under --masked",
        "  ecr GetAuthorizationToken - 1 refused (AccessDeniedException): " +
        "credential-minting action refused under --masked",
        "",
      ].join("\n"),
    );
    // What reached the endpoint with the session's key: the one allowed call, nothing else.
    const session = rig.aws.sessions().find((s) => s.roleName === "timebound-iam-broker")!;
    assert.deepEqual(
      rig.aws.requests.filter((r) => r.accessKeyId === session.accessKeyId).map((r) => r.action),
      ["GetCallerIdentity"],
    );
    assert.equal(
      rig.aws.requests.filter((r) => r.action === "AssumeRole").length,
      1,
      "the grant's",
    );
    assert.equal(rig.aws.requests.filter((r) => r.service === "ecr").length, 0);
    for (const secret of rig.secrets()) {
      assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
    }
  },
);

Deno.test(
  `exec --masked: the child's AWS CLI reads the proxy's refusals in the service's own protocol: ` +
    `EC2's UnauthorizedOperation (403), ECR's AccessDeniedException (400)${note}`,
  { ignore },
  async () => {
    await using rig = await maskedRig();
    const A = shQuote(cli.path!);
    // 127.1 is 127.0.0.1, but not a Host the proxy answers (DNS rebinding): refused before
    // anything is read, in EC2's protocol since the call is signed for ec2.
    const script = [
      `cd ${shQuote(rig.home)}`,
      `${A} --debug --endpoint-url "http://127.1:\${AWS_ENDPOINT_URL##*:}" ec2 describe-instances ` +
      "> ec2.out 2> ec2.err; echo $? > ec2.code",
      `${A} --debug ecr get-authorization-token > ecr.out 2> ecr.err; echo $? > ecr.code`,
    ].join("\n");
    const result = await rig.run([...MASKED_EXEC, "-s", "ecr:full", "--", "sh", "-c", script]);
    assert.equal(result.code, 0, result.stderr);
    const read = (name: string) => Deno.readTextFile(`${rig.home}/${name}`);
    const lastLine = (text: string) => text.trimEnd().split("\n").at(-1);
    const ec2 = await read("ec2.err");
    assert.equal(
      lastLine(ec2),
      "An error occurred (UnauthorizedOperation) when calling the DescribeInstances operation: " +
        "timebound-iam's signing proxy answers only requests for Host 127.0.0.1:PORT or " +
        "localhost:PORT",
    );
    assert.match(ec2, /"POST \/ HTTP\/1\.1" 403 /, "the status the CLI got");
    assert.equal(await read("ec2.out"), "");
    assert.equal((await read("ec2.code")).trim(), "255", "the CLI's error code");
    const ecr = await read("ecr.err");
    assert.match(
      lastLine(ecr) ?? "",
      /^An error occurred \(AccessDeniedException\) when calling the GetAuthorizationToken operation: timebound-iam's masked proxy refuses credential-minting actions such as ecr:GetAuthorizationToken: /,
    );
    assert.match(ecr, /"POST \/ HTTP\/1\.1" 400 /, "the status the CLI got");
    assert.equal(await read("ecr.out"), "");
    assert.equal((await read("ecr.code")).trim(), "255", "the CLI's error code");
    assert.equal(
      rig.aws.requests.filter((r) => r.service === "ecr" || r.service === "ec2").length,
      0,
    );
  },
);

Deno.test(
  `exec --masked --calls: a call the proxy refuses for its Host is listed with its reason when ` +
    `it is signed with the child's stand-in secret, counted when it only names its key id, and ` +
    `not seen otherwise${note}`,
  { ignore: ignore || !(await canRun("curl")) },
  async () => {
    await using rig = await maskedRig();
    const A = shQuote(cli.path!);
    // 127.1 is 127.0.0.1, but not a Host the proxy answers: the CLI signs for it all the same.
    const other = `--endpoint-url "http://127.1:\${AWS_ENDPOINT_URL##*:}"`;
    const rebind = `-H "Host: rebind.example:\${AWS_ENDPOINT_URL##*:}"`;
    const forged = `-H "Authorization: AWS4-HMAC-SHA256 ` +
      `Credential=$AWS_ACCESS_KEY_ID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, ` +
      `Signature=${"0".repeat(64)}" -H "X-Amz-Security-Token: not-the-token"`;
    const script = [
      `cd ${shQuote(rig.home)}`,
      `${A} ${other} s3 ls s3://elsewhere-bucket 2> s3.err; echo $? > s3.code`,
      `${A} ${other} ecr describe-repositories 2> ecr.err`,
      `${A} ${other} ec2 describe-instances 2> ec2.err`,
      // A presigned URL sent under another Host: the key and token are in its query, but the
      // proxy verifies no presigned signature (the CLI presigns with Signature Version 2).
      `curl -s ${rebind} "$(${A} s3 presign s3://presigned-bucket/x)" > presigned.txt`,
      // No key at all (no grant's), or the key without its token (anyone who read the key id).
      `curl -s ${rebind} "$AWS_ENDPOINT_URL/anonymous-bucket" > anonymous.txt`,
      `curl -s ${rebind} ${forged} "$AWS_ENDPOINT_URL/forged-bucket" > forged.txt`,
    ].join("\n");
    const result = await rig.run([
      ...MASKED_EXEC,
      "--calls",
      "-s",
      "s3:full,ecr:full,ec2:full",
      "--",
      "sh",
      "-c",
      script,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const read = (name: string) => Deno.readTextFile(`${rig.home}/${name}`);
    assert.match(await read("s3.err"), /\(AccessDenied\).*Host 127\.0\.0\.1:PORT/);
    assert.equal((await read("s3.code")).trim(), "255", "the CLI's error code");
    for (const name of ["presigned.txt", "anonymous.txt", "forged.txt"]) {
      assert.match(await read(name), /<Code>AccessDenied<\/Code>.*127\.0\.0\.1:PORT/, name);
    }
    const reason = "not for a host, region or service the proxy serves";
    // EC2's action is in its form body, read to check the signature as for any call; the
    // presigned URL and the forged header are counted, never listed.
    assert.equal(
      result.stderr,
      [
        "calls: 3 (3 distinct)",
        `  s3 ListObjectsV2 elsewhere-bucket 1 refused (AccessDenied): ${reason}`,
        `  ecr DescribeRepositories - 1 refused (AccessDeniedException): ${reason}`,
        `  ec2 DescribeInstances - 1 refused (UnauthorizedOperation): ${reason}`,
        "  (2 requests not verified as signed with the stand-in key were refused, not listed)",
        "",
      ].join("\n"),
    );
    assert.equal(
      rig.aws.requests.filter((r) => ["s3", "ecr", "ec2"].includes(r.service ?? "")).length,
      0,
      "no refused call reached the endpoint",
    );
  },
);
