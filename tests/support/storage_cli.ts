/**
 * The local endpoint's S3 and DynamoDB for the AWS CLI: a session of the broker role, and a
 * runner for the AWS CLI that honours `AWS_ENDPOINT_URL` (see {@linkcode endpointAwareAws}) in a
 * private HOME with no config files. Its tests are split by service so that they run side by
 * side (`local_aws_s3_test.ts`, `local_aws_storage_test.ts`).
 *
 * @module
 */

import { type EndpointAwareAws, endpointAwareAws } from "./aws_cli.ts";
import { startFixture } from "./fixture.ts";
import type { LocalAws, LocalCredentials } from "./local_aws.ts";

/** The AWS CLI the storage tests run (none: they are ignored, saying why). */
export const storageCli: EndpointAwareAws = await endpointAwareAws();

/** The suffix of an ignored storage test's name. */
export const storageNote: string = storageCli.path === undefined
  ? ` (ignored: ${storageCli.version})`
  : "";

/** What {@linkcode startStorageEndpoint} gives; disposing of it closes the endpoint. */
export interface StorageEndpoint extends AsyncDisposable {
  /** The endpoint. */
  aws: LocalAws;
  /** A session of the broker role, whose keys the runs sign with by default. */
  session: LocalCredentials;
  /** The private HOME and working directory of the runs. */
  home: string;
  /** The environment of a run signed with `credentials`, `extra` added. */
  envOf(credentials: LocalCredentials, extra?: Record<string, string>): Record<string, string>;
  /** Runs the AWS CLI with `args` (signed with the session unless `env` says otherwise). */
  run(
    args: string[],
    env?: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts the endpoint for the AWS CLI's S3 and DynamoDB calls. */
export async function startStorageEndpoint(): Promise<StorageEndpoint> {
  const fx = await startFixture({ prefix: "tbi-local-" });
  const { aws, home } = fx;
  const session = aws.addAssumedRoleCaller({ roleName: "timebound-iam-broker" });
  const envOf = (credentials: LocalCredentials, extra: Record<string, string> = {}) => ({
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_ENDPOINT_URL: aws.url,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_MAX_ATTEMPTS: "1",
    ...extra,
  });
  const run = async (args: string[], env = envOf(session)) => {
    const out = await new Deno.Command(storageCli.path!, { args, env, clearEnv: true, cwd: home })
      .output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  return {
    aws,
    session,
    home,
    envOf,
    run,
    [Symbol.asyncDispose]: () => fx[Symbol.asyncDispose](),
  };
}
