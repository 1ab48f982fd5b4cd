/**
 * The whole flow on a machine with no AWS account: starts the local STS endpoint from
 * tests/support, then runs the real CLI (`policy`, `exec --dry-run`, and `exec` with the AWS CLI
 * as the child when it is installed) against it, printing what a user would see.
 *
 * Run: `deno task demo`.
 *
 * @module
 */

import { baseEnv, cliCommand } from "../tests/support/cli.ts";
import { LocalAws } from "../tests/support/local_aws.ts";

const encoder = new TextEncoder();
const say = (text: string) => Deno.stdout.write(encoder.encode(text));

async function hasAwsCli(): Promise<boolean> {
  return (await new Deno.Command("sh", { args: ["-c", "command -v aws"] }).output()).success;
}

async function show(args: string[], env: Record<string, string>): Promise<void> {
  await say(`\n$ timebound-iam ${args.map((a) => (/[\s$'"]/.test(a) ? `'${a}'` : a)).join(" ")}\n`);
  const [command, fullArgs] = cliCommand(args);
  const status = await new Deno.Command(command, {
    args: fullArgs,
    env,
    clearEnv: true,
    stdin: "null",
  })
    .spawn().status;
  await say(`(exit code ${status.code})\n`);
}

const home = await Deno.makeTempDir({ prefix: "timebound-iam-demo-" });
const aws = await LocalAws.start();
try {
  const env = { ...await baseEnv(home), ...aws.env() };
  await say(
    `A local STS endpoint is listening on ${aws.url}; the base credentials are those of\n` +
      `${aws.defaultUser.arn}, and the broker role is ${aws.brokerRoleArn}.\n`,
  );
  await show(["policy", "-s", "s3:ro,dynamodb:full"], env);
  await show(["exec", "--dry-run", "-s", "s3:ro", "-t", "15m", "--", "aws", "s3", "ls"], env);
  const child = await hasAwsCli()
    ? ["aws", "--endpoint-url", aws.url, "sts", "get-caller-identity"]
    : [
      "sh",
      "-c",
      'echo "child sees AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID until $AWS_CREDENTIAL_EXPIRATION"',
    ];
  await show(["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", ...child], env);
  const assume = aws.requests.find((r) => r.action === "AssumeRole");
  await say(
    `\nThe endpoint saw ${aws.requests.length} requests; AssumeRole asked for ` +
      `DurationSeconds=${assume?.params.DurationSeconds} with this session policy:\n` +
      `${assume?.params.Policy}\n`,
  );
} finally {
  await aws.close();
  await Deno.remove(home, { recursive: true });
}
