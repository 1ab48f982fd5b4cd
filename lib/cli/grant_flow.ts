/**
 * The story `exec` and `env` share: validate the request, find the caller, show the summary,
 * ask, and assume the broker role. Dry runs stop after the summary.
 *
 * @module
 */

import {
  assumeBrokerRole,
  type BrokerContext,
  brokerTarget,
  connectBroker,
  type Grant,
  resolveRegion,
} from "../aws/broker.ts";
import {
  type BaseCredentials,
  type BaseCredentialsOptions,
  MfaCodeNeeded,
  profileName,
  withBaseCredentials,
} from "../aws/base_credentials.ts";
import { checkRefreshLimit } from "../request/ttl.ts";
import { openCallerIdentityCache } from "../aws/caller_cache.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import type { AskingGrantOptionValues, Cli } from "./context.ts";
import { renderSummary } from "./confirmation.ts";
import { DeclinedError, UsageError, UserError } from "../core/errors.ts";
import { type GrantSettings, resolveGrantSettings } from "../grant/settings.ts";
import { loadCatalog } from "../request/catalog.ts";
import { forTarget, prepareGrant } from "../request/grant_request.ts";
import { sourceIdentityOf } from "../request/session_identity.ts";
import {
  identityRefusedBefore,
  identitySkippedNote,
  rememberIdentityRefused,
} from "../grant/identity_support.ts";

/**
 * The flags of a grant: those of `askingGrantOptions` (`context.ts`), and `--debug`. `dryRun` may
 * also be false, for callers that must never stop after the summary (`credential-process`).
 */
export interface GrantFlags extends Omit<AskingGrantOptionValues, "dryRun"> {
  /** `--dry-run`. */
  dryRun?: boolean;
  /** `--debug`: also report AWS's PackedPolicySize. */
  debug?: boolean;
}

/**
 * The MFA part of the base-credentials request from the settings: the device (the flag or its
 * variable, then the config file; the AWS profile's own `mfa_serial` is read later), the code,
 * the session length, and how to ask (the terminal).
 */
export function mfaRequest(
  cli: Cli,
  settings: Pick<GrantSettings, "mfaSerial" | "mfaCode" | "mfaSessionTtlSeconds">,
): Pick<BaseCredentialsOptions, "mfaSerial" | "mfaCode" | "mfaSessionTtlSeconds" | "ask"> {
  return {
    mfaSerial: settings.mfaSerial,
    mfaCode: settings.mfaCode,
    mfaSessionTtlSeconds: settings.mfaSessionTtlSeconds,
    // The prompt's module loads when a code is asked for, not on every grant.
    ask: cli.askMfaCode ??
      (async (serial) => (await import("./mfa_prompt.ts")).askMfaCodeOnTerminal(serial, cli.io)),
  };
}

/** Tells the user, on stderr, that a new MFA session was cached and until when. */
export function noteMfaSession(cli: Cli, base: BaseCredentials): void {
  if (!base.mfa || base.mfa.cached) return;
  cli.io.stderr(
    `MFA session for ${base.mfa.serial} cached until ${base.mfa.expiration.toISOString()} ` +
      "(timebound-iam mfa logout forgets it)\n",
  );
}

/** A grant that can be renewed: the same role, scopes and TTL, assumed again. */
export interface RenewableGrant {
  /** The first grant. */
  grant: Grant;
  /** Assumes the role again with the same request (never prompts); `signal` abandons it. */
  renew(signal?: AbortSignal): Promise<Grant>;
  /** Releases the base credentials' client; renew() fails after. */
  close(): void;
}

/** How the grant story runs, beyond the flags. */
export interface GrantStoryOptions {
  /** The command the credentials are for, shown in the summary. */
  command?: readonly string[];
  /** False when nobody may be asked for an MFA code (`credential-process`). */
  prompt?: boolean;
  /** The settings, when the caller has resolved them from `flags` already. */
  settings?: GrantSettings;
}

/**
 * Runs the grant story and returns the grant, or `undefined` after a dry run.
 */
export async function obtainGrant(
  cli: Cli,
  flags: GrantFlags,
  options: GrantStoryOptions = {},
): Promise<Grant | undefined> {
  const renewable = await obtainRenewableGrant(cli, flags, options);
  renewable?.close();
  return renewable?.grant;
}

/**
 * Runs the grant story and keeps the base credentials, so that the grant can be renewed with
 * the same request; `undefined` after a dry run. The caller closes it.
 */
export async function obtainRenewableGrant(
  cli: Cli,
  flags: GrantFlags,
  options: GrantStoryOptions & { refreshSeconds?: number } = {},
): Promise<RenewableGrant | undefined> {
  // Flags, then the environment, then the config file written by `setup aws`: checked first.
  const settings = options.settings ?? await resolveGrantSettings(flags, cli.io.env);
  const catalog = await loadCatalog();
  let request = await prepareGrant({ scopes: flags.scope, ttl: flags.ttl }, {
    catalog,
    now: cli.now,
  });
  if (options.refreshSeconds !== undefined) {
    checkRefreshLimit(options.refreshSeconds, request.ttlSeconds);
  }
  const { roleArn, file, sourceIdentity: override } = settings;
  const mfa = mfaRequest(cli, settings);
  if (flags.confirm && !flags.dryRun && !cli.io.stdinIsTerminal) {
    throw new UsageError("Cannot ask for confirmation: standard input is not a terminal", {
      hint: "pass --no-confirm to proceed without asking (as in CI or a self-wrapping script)",
    });
  }
  const region = await resolveRegion({
    profile: flags.profile,
    region: settings.region,
    env: cli.io.env,
  });
  const brokerOptions = {
    profile: flags.profile,
    region,
    roleArn,
    env: cli.io.env,
    // Without a summary to show, the caller's identity from an earlier grant will do: then the
    // grant is one request, AssumeRole.
    identityCache: openCallerIdentityCache(cli.io.env),
    useCachedIdentity: !flags.confirm && !flags.dryRun,
  };
  // Once the first grant is made, nobody is asked again: a renewal (which the SDK may need a
  // profile's role_arn MFA code for) runs while a child or a shell owns the terminal.
  let granted = false;
  const ask = mfa.ask;
  const baseOptions: BaseCredentialsOptions = {
    profile: flags.profile,
    region,
    env: cli.io.env,
    now: cli.now,
    ...mfa,
    ask: ask === "no-prompt" ? ask : (serial: string) => {
      if (granted) return Promise.reject(new MfaCodeNeeded(serial));
      return ask(serial);
    },
    // A dry run requests nothing: it uses a cached MFA session if there is one, never a code;
    // neither does a caller that no person watches (credential-process).
    ...(flags.dryRun ? { mfaCode: undefined, ask: "no-prompt" as const } : {}),
    ...(options.prompt === false ? { ask: "no-prompt" as const } : {}),
  };
  let broker: BrokerContext | undefined;
  let base: BaseCredentials | undefined;
  let unknownBecause: string | undefined;
  try {
    broker = await withBaseCredentials(baseOptions, (found) => {
      base = found;
      return connectBroker({ ...brokerOptions, credentials: found.credentials });
    });
    if (base) noteMfaSession(cli, base);
  } catch (error) {
    if (!flags.dryRun || !(error instanceof UserError)) throw error;
    unknownBecause = error.message;
  }
  try {
    // Bare resource names (s3:ro@my-bucket) live in the broker role's account and this region.
    if (broker) request = await forTarget(request, brokerTarget(broker), catalog);
    const callerName = broker && sourceIdentityOf(broker.callerArn);
    // A grant that names someone else never goes without identity, whatever was remembered.
    let skipIdentity = broker !== undefined && override === undefined &&
      identityRefusedBefore(file.config, {
        roleArn: broker.roleArn,
        callerArn: broker.callerArn,
        now: cli.now(),
      });
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
        refreshSeconds: options.refreshSeconds,
        now: cli.now(),
        sourceIdentity: skipIdentity ? undefined : override ?? callerName,
        callerName,
      }));
    }
    if (flags.dryRun) {
      cli.io.stderr(`session policy:\n${JSON.stringify(request.policy.document, null, 2)}\n`);
      cli.io.stderr("dry run: no credentials were requested\n");
      return undefined;
    }
    if (flags.confirm && !(await cli.confirm())) {
      throw new DeclinedError("Declined: no credentials were requested");
    }
    if (skipIdentity) {
      cli.io.stderr(identitySkippedNote(file, broker!.roleArn, broker!.callerArn));
    }
    const connected = broker!;
    const assume = (signal?: AbortSignal) =>
      assumeBrokerRole(connected, {
        signal,
        policy: request.policy,
        ttlSeconds: request.ttlSeconds,
        now: cli.now,
        identity: skipIdentity
          ? undefined
          : { sourceIdentity: override ?? callerName, tags: request.tags },
        // Only the first grant, in the caller's own name, may go without identity (and remember
        // the role): never one that names someone else, nor a renewal.
        refusedIdentity: override !== undefined || granted ? "fail" : "retry",
      });
    let grant: Grant;
    try {
      grant = await assume();
    } catch (error) {
      if (base?.mfa) throw error;
      // Only a refusal looks up MFA devices: their module loads then.
      const { explainMissingMfa } = await import("../aws/mfa_devices.ts");
      throw await explainMissingMfa(error, {
        region,
        profile: flags.profile,
        configProfile: profileName(flags.profile, cli.io.env),
        timeoutMs: awsTimeoutMs(cli.io.env),
      });
    }
    if (grant.identityRefused) {
      cli.io.stderr(
        await rememberIdentityRefused(file, {
          roleArn: grant.roleArn,
          callerArn: connected.callerArn,
          action: grant.identityRefused,
          now: cli.now(),
        }),
      );
      // Renewals go without identity at once, not through the same refusals each time.
      skipIdentity = true;
    }
    if (flags.debug || cli.io.env.TIMEBOUND_IAM_DEBUG === "1") {
      cli.io.stderr(`debug: AssumeRole PackedPolicySize ${grant.packedPolicySize ?? "?"}%\n`);
    }
    granted = true;
    broker = undefined;
    return { grant, renew: assume, close: () => connected.client.destroy() };
  } finally {
    broker?.client.destroy();
  }
}
