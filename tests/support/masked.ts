/**
 * What the tests of `exec --masked` and `shell --masked` share: the child's AWS CLI and two rigs.
 * The child's client is the AWS CLI v1 that endpointAwareAws finds on PATH (it honours
 * AWS_ENDPOINT_URL; Debian's /usr/bin/aws 2.9.19 does not), called by its full path from sh
 * scripts: Linux and macOS only.
 *
 * @module
 */
import assert from "node:assert/strict";
import { baseEnv, type CliResult, runCli } from "./cli.ts";
import { endpointAwareAws } from "./aws_cli.ts";
import { startFixture } from "./fixture.ts";
import { LocalAws, type LocalAwsOptions } from "./local_aws.ts";
import { simulated } from "./iam_simulator.ts";
import { shQuote } from "./pty.ts";

/** The AWS CLI a masked child runs, or why there is none. */
export const cli = await endpointAwareAws();
/** Whether the children (sh scripts) can run here: not on Windows. */
export const posix = Deno.build.os !== "windows";
/** Whether a test of a masked child is ignored: no such AWS CLI, or no sh. */
export const ignore = cli.path === undefined || !posix;
/** What a test's name says when there is no such AWS CLI. */
export const note = cli.path === undefined ? ` (ignored: ${cli.version})` : "";

/** The grant of every masked run: `exec --no-confirm --masked -t 15m`. */
export const MASKED_EXEC = ["exec", "--no-confirm", "--masked", "-t", "15m"];

/** The shared fixture of {@linkcode maskedRig}, with the child's environment. */
export interface MaskedRig extends AsyncDisposable {
  aws: LocalAws;
  home: string;
  /** The whole clean environment of a child, with AWS_ENDPOINT_URL naming the endpoint. */
  childEnv: Record<string, string>;
  /** Every secret the endpoint issued or holds: the base user's and the sessions'. */
  secrets(): string[];
  /** Runs the CLI in the fixture, with AWS_ENDPOINT_URL naming the endpoint. */
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
}

/**
 * The shared fixture (a private HOME, the local endpoint, a CLI that fails the test when a secret
 * reaches its stderr), with the parent's own AWS_ENDPOINT_URL naming the endpoint: where the proxy
 * sends the child's calls.
 */
export async function maskedRig(options: LocalAwsOptions = {}): Promise<MaskedRig> {
  const fx = await startFixture({ aws: options, prefix: "tbi-masked-" });
  const endpoint = { AWS_ENDPOINT_URL: fx.aws.url };
  return {
    aws: fx.aws,
    home: fx.home,
    childEnv: { ...fx.childEnv, ...endpoint },
    /** Every secret the endpoint issued or holds: the base user's and the sessions'. */
    secrets: () => fx.aws.issuedSecrets(),
    run: (args: string[], env: Record<string, string> = {}) =>
      fx.run(args, { env: { ...endpoint, ...env } }),
    [Symbol.asyncDispose]: () => fx[Symbol.asyncDispose](),
  };
}

/** The endpoint and HOME of {@linkcode callsRig}, and its runs of `exec --masked`. */
export interface CallsRig extends AsyncDisposable {
  aws: LocalAws;
  home: string;
  env: Record<string, string>;
  /** Runs `exec --masked FLAGS -- sh -c SCRIPT`. */
  exec(flags: string[], script: string): Promise<CliResult>;
}

/**
 * A local endpoint holding a bucket with one object and a table with one item. It evaluates each
 * session's policy with an IAM simulator (@cloud-copilot/iam-simulate, AGPL: tests only), so a
 * call outside the scopes is refused as AWS would refuse it.
 */
export async function callsRig(): Promise<CallsRig> {
  const aws = await LocalAws.start({ sessionPolicy: simulated });
  const home = await Deno.makeTempDir({ prefix: "tbi-calls-" });
  await baseEnv(home);
  const env = { HOME: home, ...aws.env(), AWS_ENDPOINT_URL: aws.url };
  const A = shQuote(cli.path!);
  const setup = await runCli([
    "exec",
    "--no-confirm",
    "--masked",
    "-t",
    "15m",
    "-s",
    "s3:full,dynamodb:full",
    "--",
    "sh",
    "-c",
    [
      "set -e",
      `cd ${shQuote(home)}`,
      "printf 'a,b\\n1,2\\n' > report.csv",
      `${A} s3 mb s3://learn-bucket > /dev/null`,
      `${A} s3api put-object --bucket learn-bucket --key data/report.csv --body report.csv ` +
      "> /dev/null",
      `${A} dynamodb create-table --table-name Orders --billing-mode PAY_PER_REQUEST ` +
      `--attribute-definitions AttributeName=id,AttributeType=S ` +
      `--key-schema AttributeName=id,KeyType=HASH > /dev/null`,
      `${A} dynamodb put-item --table-name Orders --item '{"id":{"S":"o-1"}}'`,
    ].join("\n"),
  ], { env });
  assert.equal(setup.code, 0, setup.stderr);
  return {
    aws,
    home,
    env,
    /** Runs `exec --masked FLAGS -- sh -c SCRIPT`. */
    exec(flags: string[], script: string) {
      return runCli(
        ["exec", "--no-confirm", "--masked", "-t", "15m", ...flags, "--", "sh", "-c", script],
        { env },
      );
    },
    async [Symbol.asyncDispose]() {
      await aws.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}
