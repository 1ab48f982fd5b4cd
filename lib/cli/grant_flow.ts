/**
 * The story `exec`, `env`, `shell` and `credential-process` share around the granter: check the
 * request, show the summary, ask, grant, and tell what happened (a new MFA session, a grant
 * without identity). Dry runs stop after the summary.
 *
 * @module
 */

import type { AllowList } from "../request/allow_list.ts";
import { formatTime } from "../core/time_text.ts";
import { type WaitingLine, waitingLine } from "../core/waiting_line.ts";
import { checkRoleChaining, type Grant, resolveRegion } from "../aws/broker.ts";
import {
  type BaseCredentials,
  type BaseCredentialsOptions,
  profileName,
} from "../aws/base_credentials.ts";
import { checkRefreshLimit } from "../request/ttl.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import type { AskingGrantOptionValues, Cli } from "./options.ts";
import { DeclinedError, UsageError, UserError } from "../core/errors.ts";
import { type GrantSettings, resolveGrantSettings } from "../grant/settings.ts";
import { type Granter, openGranter } from "../grant/granter.ts";
import { identitySkippedNote, rememberIdentityRefused } from "../grant/identity.ts";
import { loadCatalog } from "../request/catalog.ts";
import { forTarget, prepareGrant } from "../request/grant_request.ts";
import { sourceIdentityOf } from "../request/session_identity.ts";

/**
 * The flags of a grant: those of `askingGrantOptions` (`options.ts`), and `--debug`. `dryRun` may
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
    `MFA session for ${base.mfa.serial} cached until ${formatTime(base.mfa.expiration)} ` +
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
  /** Whether the summary says the credentials are masked (`exec`, `shell` with `--masked`). */
  masked?: boolean;
  /**
   * A `serve` allow list whose account-wide narrowing the policy follows, so that the grant is
   * exactly the one serve would make an agent (`console --like-serve`).
   */
  allow?: AllowList;
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
 * Runs the grant story and keeps the granter, so that the grant can be renewed with the same
 * request; `undefined` after a dry run. The caller closes it.
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
    allow: options.allow,
  });
  if (options.refreshSeconds !== undefined) {
    checkRefreshLimit(options.refreshSeconds, request.ttlSeconds);
  }
  if (flags.confirm && !flags.dryRun && !cli.io.stdinIsTerminal) {
    throw new UsageError("Cannot ask for confirmation: standard input is not a terminal", {
      hint: "pass --no-confirm to proceed without asking (as in CI or a self-wrapping script)",
    });
  }
  const region = await resolveRegion({
    profile: settings.profile,
    region: settings.region,
    env: cli.io.env,
  });
  // On a terminal, a wait for AWS of more than a second says so (never while a question is open).
  const waiting = waitingLine(cli.io);
  const opened = await openForStory(cli, settings, {
    flags,
    region,
    prompt: options.prompt,
    waiting,
  });
  let granter = opened.granter;
  try {
    // Bare resource names (s3:ro@my-bucket) live in the broker role's account and this region.
    if (granter) request = await forTarget(request, granter.target(), catalog);
    const plan = await granter?.identity(request.tags);
    if (flags.confirm || flags.dryRun) {
      const broker = granter?.broker;
      // The summary's module loads when there is a summary to show.
      const { renderSummary } = await import("./confirmation.ts");
      cli.io.stderr(renderSummary({
        request,
        catalog,
        profile: settings.profile,
        account: broker?.account,
        callerArn: broker?.callerArn,
        roleArn: broker?.roleArn ?? settings.roleArn,
        region: broker?.region ?? region,
        unknownBecause: opened.unknownBecause,
        command: options.command,
        refreshSeconds: options.refreshSeconds,
        masked: options.masked,
        now: cli.now(),
        sourceIdentity: plan?.identity?.sourceIdentity,
        callerName: broker && sourceIdentityOf(broker.callerArn),
      }));
    }
    if (flags.dryRun) {
      cli.io.stderr(`session policy:\n${JSON.stringify(request.policy.document, null, 2)}\n`);
      // What the grant would be refused for before any call, its dry run is refused for too.
      if (granter) checkRoleChaining(granter.broker, request.ttlSeconds);
      cli.io.stderr("dry run: no credentials were requested\n");
      return undefined;
    }
    if (flags.confirm && !(await cli.confirm())) {
      throw new DeclinedError("Declined: no credentials were requested");
    }
    const connected = granter!;
    const { broker } = connected;
    if (plan?.skipped) {
      cli.io.stderr(identitySkippedNote(settings.file, broker.roleArn, broker.callerArn));
    }
    const { policy, ttlSeconds, tags } = request;
    const assume = (signal?: AbortSignal) => connected.assume({ policy, ttlSeconds, tags, signal });
    const grant = await waiting.run("AWS STS", () => assume()).catch(async (error) => {
      throw connected.base?.mfa ? error : await explainRefusal(error, settings, region, waiting);
    });
    if (grant.identityRefused) {
      cli.io.stderr(
        await rememberIdentityRefused(settings.file, {
          roleArn: grant.roleArn,
          callerArn: broker.callerArn,
          action: grant.identityRefused,
          now: cli.now(),
        }),
      );
    }
    if (flags.debug || cli.io.env.TIMEBOUND_IAM_DEBUG === "1") {
      cli.io.stderr(`debug: AssumeRole PackedPolicySize ${grant.packedPolicySize ?? "?"}%\n`);
    }
    granter = undefined;
    return { grant, renew: assume, close: () => connected.close() };
  } finally {
    granter?.close();
  }
}

/**
 * Opens the granter of the story. A dry run requests nothing: it uses a cached MFA session if
 * there is one, never a code (neither does a caller that no person watches, credential-process),
 * and a granter that cannot open leaves its reason for the summary.
 */
async function openForStory(
  cli: Cli,
  settings: GrantSettings,
  story: { flags: GrantFlags; region: string; prompt?: boolean; waiting: WaitingLine },
): Promise<{ granter?: Granter; unknownBecause?: string }> {
  const { flags, waiting } = story;
  const quiet = flags.dryRun || story.prompt === false;
  try {
    const granter = await waiting.run("AWS STS", () =>
      openGranter(
        flags.dryRun ? { ...settings, mfaCode: undefined } : settings,
        {
          for: "human",
          region: story.region,
          ask: quiet ? "no-prompt" : mfaRequest(cli, settings).ask,
          now: cli.now,
          // Without a summary to show, the caller's identity from an earlier grant will do: then
          // the grant is one request, AssumeRole.
          useCachedIdentity: !flags.confirm && !flags.dryRun,
        },
      ));
    if (granter.base) noteMfaSession(cli, granter.base);
    return { granter };
  } catch (error) {
    if (!flags.dryRun || !(error instanceof UserError)) throw error;
    return { unknownBecause: error.message };
  }
}

/** A refusal without an MFA session: when the role's trust may require MFA, says which device. */
async function explainRefusal(
  error: unknown,
  settings: GrantSettings,
  region: string,
  waiting: WaitingLine,
): Promise<unknown> {
  // Only a refusal looks up MFA devices: their module loads then.
  const { explainMissingMfa } = await import("../aws/mfa_devices.ts");
  // The look-up is a call to IAM: a wait for it says so too.
  return await waiting.run("AWS IAM", () =>
    explainMissingMfa(error, {
      region,
      profile: settings.profile,
      configProfile: profileName(settings.profile, settings.env),
      timeoutMs: awsTimeoutMs(settings.env),
    }));
}
