/**
 * Start-up and end-to-end timings of the CLI, as medians of several runs (wall clock, whole
 * processes): `--version` and `policy -s s3:ro` against `deno run` of an empty file;
 * `exec --no-confirm … -- true` (role ARN configured, the key seen before: one AssumeRole) against
 * the least a Deno program can do for a grant (`bench_assume_role.ts`: `@aws-sdk/client-sts`,
 * one AssumeRole), and against one `aws sts assume-role`; all on the local STS endpoint.
 *
 * Run: `deno task bench` (optionally `-- --runs 15`).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { baseEnv, cliCommand } from "../tests/support/cli.ts";
import { LocalAws } from "../tests/support/local_aws.ts";

const ASSUME_ROLE_SCRIPT = fileURLToPath(new URL("./bench_assume_role.ts", import.meta.url));
const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 11;

async function time(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<number> {
  const start = performance.now();
  const output = await new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - start;
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return elapsed;
}

async function median(
  label: string,
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<number> {
  await time(command, args, env); // warm the caches once
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await time(command, args, env));
  samples.sort((a, b) => a - b);
  const value = samples[Math.floor(samples.length / 2)];
  const line = `${label.padEnd(44)} median ${value.toFixed(0).padStart(5)} ms  ` +
    `(min ${samples[0].toFixed(0)}, max ${samples.at(-1)!.toFixed(0)}, ${RUNS} runs)\n`;
  await Deno.stdout.write(new TextEncoder().encode(line));
  return value;
}

const home = await Deno.makeTempDir({ prefix: "tbi-bench-" });
const aws = await LocalAws.start();
try {
  // The role ARN is known (as after setup aws --apply), so exec needs no GetCallerIdentity once
  // the key has been seen (the warm-up run of each median sees it).
  const env = {
    ...await baseEnv(home),
    ...aws.env(),
    TIMEBOUND_IAM_ROLE_ARN: aws.brokerRoleArn,
  };
  const empty = `${home}/empty.ts`;
  await Deno.writeTextFile(empty, "");
  const cli = (args: string[]) => cliCommand(args);

  const baseline = await median(
    "deno run (empty file)",
    Deno.execPath(),
    ["run", "-q", empty],
    env,
  );
  const version = await median("timebound-iam --version", ...cli(["--version"]), env);
  const policy = await median(
    "timebound-iam policy -s s3:ro",
    ...cli(["policy", "-s", "s3:ro"]),
    env,
  );
  const exec = await median(
    "timebound-iam exec -s s3:ro -t 15m -- true",
    ...cli(["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"]),
    env,
  );
  const before = aws.requests.length;
  const execOnce = await time(
    ...cli(["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"]),
    env,
  );
  const sent = aws.requests.slice(before).map((r) => r.action).join(", ");
  const sdk = await median(
    "deno: one AssumeRole with client-sts",
    Deno.execPath(),
    ["run", "-q", "-P=cli", "--no-prompt", ASSUME_ROLE_SCRIPT],
    env,
  );
  const awsCli = await median("aws sts assume-role", "aws", [
    "--endpoint-url",
    aws.url,
    "sts",
    "assume-role",
    "--role-arn",
    aws.brokerRoleArn,
    "--role-session-name",
    "bench",
  ], env);
  const summary = [
    `--version: +${(version - baseline).toFixed(0)} ms over an empty deno run`,
    `policy -s s3:ro: +${(policy - baseline).toFixed(0)} ms over an empty deno run`,
    `exec sends: ${sent} (one run, ${execOnce.toFixed(0)} ms)`,
    `exec / one AssumeRole from Deno: ${(exec / sdk).toFixed(2)} (goal: 1.15 or less)`,
    `exec / aws sts assume-role: ${(exec / awsCli).toFixed(2)} (goal: 0.25 or less)`,
  ];
  await Deno.stdout.write(new TextEncoder().encode(`\n${summary.join("\n")}\n`));
} finally {
  await aws.close();
  await Deno.remove(home, { recursive: true });
}
