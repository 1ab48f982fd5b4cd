/**
 * A child for `exec --refresh` tests: for the given number of seconds, calls
 * `sts:GetCallerIdentity` in turn through the AWS CLI (`aws --endpoint-url URL sts
 * get-caller-identity`) and through the AWS SDK for JavaScript's default provider chain, which
 * both find the credentials through `AWS_CONTAINER_CREDENTIALS_FULL_URI`. Prints one JSON
 * line: how many calls each made, the ARNs seen, and every failure.
 *
 * Usage: `deno run -A tests/support/caller_loop.ts SECONDS STS_URL`
 *
 * @module
 */

import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const [seconds, url] = Deno.args;
const end = Date.now() + Number(seconds) * 1000;
const result = { cli: 0, sdk: 0, arns: [] as string[], failures: [] as string[] };
const client = new STSClient({ region: "us-east-1", endpoint: url });
while (Date.now() < end) {
  const out = await new Deno.Command("aws", {
    args: ["--endpoint-url", url, "sts", "get-caller-identity", "--output", "json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  result.cli++;
  if (out.code === 0) result.arns.push(JSON.parse(new TextDecoder().decode(out.stdout)).Arn);
  else result.failures.push(`aws: ${new TextDecoder().decode(out.stderr).trim()}`);
  try {
    const identity = await client.send(new GetCallerIdentityCommand({}));
    result.sdk++;
    result.arns.push(identity.Arn ?? "");
  } catch (error) {
    result.sdk++;
    result.failures.push(`sdk: ${(error as Error).message}`);
  }
}
client.destroy();
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(result) + "\n"));
