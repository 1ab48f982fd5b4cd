/**
 * The story `exec` and `env` share: validate the request, find the caller, show the summary,
 * ask, and assume the broker role. Dry runs stop after the summary.
 *
 * @module
 */

import {
  assumeBrokerRole,
  type BrokerContext,
  connectBroker,
  type Grant,
  preloadSdk,
} from "../aws/broker.ts";
import { checkRoleArn } from "../request/role_arn.ts";
import type { Cli } from "./context.ts";
import { renderSummary } from "./confirmation.ts";
import { RuntimeError, UsageError, UserError } from "../core/errors.ts";
import { resolveBrokerSettings } from "./config.ts";
import { loadCatalog } from "../request/catalog.ts";
import { prepareGrant } from "../request/grant_request.ts";

/** The flags `exec` and `env` share. */
export interface GrantFlags {
  /** `-s` values. */
  scope: string[];
  /** `-t` value. */
  ttl?: string;
  /** `--profile`. */
  profile?: string;
  /** `--region`. */
  region?: string;
  /** `--role-arn`. */
  roleArn?: string;
  /** `--dry-run`. */
  dryRun?: boolean;
  /** `--no-confirm` sets this to false. */
  confirm: boolean;
}

/**
 * Runs the grant story and returns the grant, or `undefined` after a dry run.
 */
export async function obtainGrant(
  cli: Cli,
  flags: GrantFlags,
  options: { command?: readonly string[] } = {},
): Promise<Grant | undefined> {
  // Start loading the AWS SDK while the IAM data is read; nothing is sent before the request
  // has been validated.
  const sdk = preloadSdk();
  const catalog = await loadCatalog();
  const request = await prepareGrant({ scopes: flags.scope, ttl: flags.ttl }, {
    catalog,
    now: cli.now,
  });
  // Flags, then the environment, then the config file written by `setup aws`.
  const { roleArn, region } = await resolveBrokerSettings(flags, cli.io.env);
  if (roleArn !== undefined) checkRoleArn(roleArn);
  if (flags.confirm && !flags.dryRun && !cli.io.stdinIsTerminal) {
    throw new UsageError("Cannot ask for confirmation: standard input is not a terminal", {
      hint: "pass --no-confirm to proceed without asking (as in CI or a self-wrapping script)",
    });
  }
  const brokerOptions = { profile: flags.profile, region, roleArn, env: cli.io.env };
  await sdk;
  let broker: BrokerContext | undefined;
  let unknownBecause: string | undefined;
  try {
    broker = await connectBroker(brokerOptions);
  } catch (error) {
    if (!flags.dryRun || !(error instanceof UserError)) throw error;
    unknownBecause = error.message;
  }
  try {
    if (flags.confirm || flags.dryRun) {
      cli.io.stderr(renderSummary({
        request,
        catalog,
        profile: flags.profile,
        account: broker?.account,
        callerArn: broker?.callerArn,
        roleArn: broker?.roleArn ?? roleArn,
        region: broker?.region ?? region,
        unknownBecause,
        command: options.command,
        now: cli.now(),
      }));
    }
    if (flags.dryRun) {
      cli.io.stderr(`session policy:\n${JSON.stringify(request.policy.document, null, 2)}\n`);
      cli.io.stderr("dry run: no credentials were requested\n");
      return undefined;
    }
    if (flags.confirm && !(await cli.confirm())) {
      throw new RuntimeError("Declined: no credentials were requested");
    }
    return await assumeBrokerRole(broker!, {
      policy: request.policy,
      ttlSeconds: request.ttlSeconds,
      now: cli.now,
    });
  } finally {
    broker?.client.destroy();
  }
}
