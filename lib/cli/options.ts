/**
 * What the commands share: the {@linkcode Cli} context (streams, clock, exit code, the
 * confirmation prompt) and the factories of the options that several commands take. It sits
 * below every file under `lib/commands/`, which import it; it imports none of them.
 *
 * @module
 */

import { type Command, Option } from "./commander.ts";
import type { Io } from "../core/io.ts";
import type { CallReportFlags } from "./call_report.ts";
import { UsageError } from "../core/errors.ts";
import {
  checkLength,
  checkProfileName,
  checkRegion,
  INPUT_LIMITS,
} from "../request/input_bounds.ts";

/** What every command shares: the streams, and where it leaves its exit code. */
export interface Cli {
  /** The process's streams and environment. */
  io: Io;
  /** The exit code a command asks for when it succeeds (`exec` passes its child's here). */
  exitCode: number;
  /** The clock. */
  now: () => Date;
  /** Asks the user `Proceed? [y/N]`; true means yes. */
  confirm: () => Promise<boolean>;
  /** Asks the user for an MFA device's code (the terminal prompt unless given). */
  askMfaCode?: (serial: string) => Promise<string>;
}

/** Builds a command of the tree; each file under `lib/commands/` exports one. */
export type CommandFactory = (cli: Cli) => Command<unknown[], Record<string, unknown>>;

/**
 * The scope option shared by every command that grants: repeatable, each value possibly a
 * comma-separated list.
 */
export function scopeOption(): Option<"-s, --scope <scopes>", undefined, string[], string[]> {
  return new Option("-s, --scope <scopes>", "service:level, repeatable or comma-separated")
    .argParser((value: string, previous: string[]) => [
      ...previous,
      checkLength(value, "--scope", INPUT_LIMITS.scopes),
    ])
    .default([] as string[], "none")
    .env(envName("scope"));
}

/** `-t, --ttl`: the session length. */
export function ttlOption(): Option<"-t, --ttl <duration>"> {
  return new Option(
    "-t, --ttl <duration>",
    "how long the credentials live: 1m to 12h (e.g. 5m, 1h30m)",
  ).env(envName("ttl")).argParser((value) => checkLength(value, "--ttl", INPUT_LIMITS.word));
}

/**
 * `--profile`: the AWS profile holding the base credentials (a command that makes no AWS call
 * describes what it uses the name for).
 */
export function profileOption(
  description = "AWS profile for the base credentials (default: SDK chain)",
): Option<"--profile <name>"> {
  return new Option("--profile <name>", description)
    .env(envName("profile")).argParser((value) => checkProfileName(value));
}

/** `--region`: the region for STS and for the credentials (a command that makes no AWS call describes what it uses it for). */
export function regionOption(
  description = "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1)",
): Option<"--region <region>"> {
  return new Option("--region <region>", description)
    .env(envName("region")).argParser((value) => checkRegion(value));
}

/** `--role-arn`: the broker role to assume. */
export function roleArnOption(): Option<"--role-arn <arn>"> {
  return new Option(
    "--role-arn <arn>",
    "broker role (default: TIMEBOUND_IAM_ROLE_ARN, else arn:aws:iam::<account>:role/timebound-iam-broker)",
  ).argParser((value) => checkLength(value, "--role-arn", INPUT_LIMITS.roleArn));
}

/** `--mfa-serial`: the MFA device whose code the grant uses. */
export function mfaSerialOption(): Option<"--mfa-serial <arn>"> {
  return new Option(
    "--mfa-serial <arn>",
    "MFA device (default: the config file's mfaSerial, else the AWS profile's mfa_serial)",
  ).env(envName("mfa-serial"));
}

/** `--mfa-code`: the MFA device's current code, instead of a prompt. */
export function mfaCodeOption(): Option<"--mfa-code <code>"> {
  return new Option("--mfa-code <code>", "the MFA device's current six-digit code (else asked)")
    .env(envName("mfa-code"));
}

/** `--mfa-session-ttl`: how long a new MFA session lasts. */
export function mfaSessionTtlOption(): Option<"--mfa-session-ttl <duration>"> {
  return new Option(
    "--mfa-session-ttl <duration>",
    "how long a new cached MFA session lasts: 15m to 36h (default 12h)",
  ).env(envName("mfa-session-ttl"));
}

/** `--source-identity`: the name CloudTrail shows as the session's SourceIdentity. */
export function sourceIdentityOption(): Option<"--source-identity <name>"> {
  return new Option(
    "--source-identity <name>",
    "who the session serves, in CloudTrail (default: the caller's user or session name)",
  ).env(envName("source-identity"));
}

/** `--dry-run`: show the summary and the policy, request nothing. */
export function dryRunOption(): Option<"--dry-run"> {
  return new Option("--dry-run", "show the summary and the session policy; request no credentials")
    .env(envName("dry-run"));
}

/** `--no-confirm`: skip the `Proceed? [y/N]` question. */
export function noConfirmOption(): Option<"--no-confirm"> {
  return new Option("--no-confirm", "do not ask before requesting (CI, self-wrapping scripts)")
    .env(envName("no-confirm"));
}

/** `--refresh[=MAX]`: renew the credentials through a local endpoint, for at most MAX. */
export function refreshOption(): Option<"--refresh [max]"> {
  return new Option(
    "--refresh [max]",
    "renew the credentials through a local endpoint while the command runs, for at most MAX " +
      "(default 12h)",
  ).env(envName("refresh"));
}

/**
 * `--masked` and `--no-masked`: stand-in keys and the loopback signing proxy instead of the
 * session (the config file's `masked` decides when neither is given).
 */
export function maskedOptions(): [Option<"--masked">, Option<"--no-masked">] {
  return [
    new Option(
      "--masked",
      "give the command stand-in keys and a loopback signing proxy (AWS_ENDPOINT_URL), never " +
        "the session",
    ).env(envName("masked")),
    new Option(
      "--no-masked",
      "give the command the session itself (over the config file's masked)",
    ),
  ];
}

/**
 * `--calls[=FILE]` and `--learn` of a masked command or shell: what it did, told when it ends.
 * `ends` names that moment in the help text ("the command ends", "the shell exits").
 */
export function callReportOptions(
  ends = "the command ends",
): [Option<"--calls [file]">, Option<"--learn">] {
  return [
    new Option(
      "--calls [file]",
      `with --masked: when ${ends}, list each distinct AWS call it made on stderr ` +
        "(service, action, resource, count, refused), or as JSON lines in FILE (a new 0600 file)",
    ),
    new Option(
      "--learn",
      `with --masked: when ${ends}, print the narrowest -s line that allows every call it made`,
    ),
  ];
}

/**
 * The call report of `--calls` and `--learn`, its flags checked before anything is granted (they
 * need `--masked`; `--calls=FILE` a new file), or `undefined` without them. Its modules load only
 * then: the plain grant path never reads them.
 */
export async function loadCallReport(
  flags: CallReportFlags,
  context: { masked: boolean; command: "exec" | "shell" },
): Promise<typeof import("./call_report.ts") | undefined> {
  if (flags.calls === undefined && flags.learn !== true) return undefined;
  const reporting = await import("./call_report.ts");
  await reporting.checkCallReport(flags, context);
  return reporting;
}

/** The values of {@linkcode grantOptions}: what to grant, and where the credentials come from. */
export type GrantOptionValues = {
  /** `-s, --scope`: every value given, each possibly a comma-separated list. */
  scope: string[];
  /** `-t, --ttl`. */
  ttl?: string;
  /** `--profile`. */
  profile?: string;
  /** `--region`. */
  region?: string;
  /** `--role-arn`. */
  roleArn?: string;
};

/**
 * Adds the options that every command which grants takes, in the order its help lists them:
 * `--scope`, `--ttl`, `--profile`, `--region`, `--role-arn`. Give it the command before any
 * other option, and chain the command's own options after it.
 */
export function grantOptions<Args extends unknown[]>(
  command: Command<Args, Record<never, never>>,
): Command<Args, GrantOptionValues> {
  return command
    .addOption(scopeOption())
    .addOption(ttlOption())
    .addOption(profileOption())
    .addOption(regionOption())
    .addOption(roleArnOption());
}

/** The values of {@linkcode askingGrantOptions}. */
export type AskingGrantOptionValues = GrantOptionValues & {
  /** `--mfa-serial` (or `TIMEBOUND_IAM_MFA_SERIAL`). */
  mfaSerial?: string;
  /** `--mfa-code` (or `TIMEBOUND_IAM_MFA_CODE`). */
  mfaCode?: string;
  /** `--mfa-session-ttl`. */
  mfaSessionTtl?: string;
  /** `--source-identity`: the name CloudTrail shows instead of the caller's own. */
  sourceIdentity?: string;
  /** `--dry-run`. */
  dryRun?: true;
  /** `--no-confirm` sets this to false. */
  confirm: boolean;
};

/**
 * Adds the options of a grant that shows its summary and may ask (for an MFA code, then
 * `Proceed?`), as `exec` and `env` are: {@linkcode grantOptions}, then `--mfa-serial`,
 * `--mfa-code`, `--mfa-session-ttl`, `--source-identity`, `--dry-run` and `--no-confirm`.
 */
export function askingGrantOptions<Args extends unknown[]>(
  command: Command<Args, Record<never, never>>,
): Command<Args, AskingGrantOptionValues> {
  return grantOptions(command)
    .addOption(mfaSerialOption())
    .addOption(mfaCodeOption())
    .addOption(mfaSessionTtlOption())
    .addOption(sourceIdentityOption())
    .addOption(dryRunOption())
    .addOption(noConfirmOption());
}

/**
 * How this program can be called again: the compiled binary's own path, or, under `deno run`,
 * `timebound-iam` (the installed name) from PATH.
 */
export function ownProgram(): string {
  const path = Deno.execPath();
  return /(^|[\\/])timebound-iam[^\\/]*$/.test(path) ? path : "timebound-iam";
}

/**
 * The environment variable that stands in for a flag: `TIMEBOUND_IAM_` and the flag's long name
 * in capitals, dashes as underscores (as aws-session's variables are). A flag given on the
 * command line wins over its variable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { envName } from "./options.ts";
 * assert.equal(envName("no-confirm"), "TIMEBOUND_IAM_NO_CONFIRM");
 * ```
 */
export function envName(flag: string): string {
  return `TIMEBOUND_IAM_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** The variables of the on/off flags: `1` or `true` turns the flag on. */
export const SWITCH_VARIABLES: readonly string[] = [envName("dry-run"), envName("no-confirm")];

/**
 * Checks the variables of on/off flags, because commander turns a flag on whatever its variable
 * holds, and `TIMEBOUND_IAM_NO_CONFIRM=0` must not silently skip the question.
 */
export function checkSwitchVariables(env: Readonly<Record<string, string>>): void {
  for (const name of SWITCH_VARIABLES) {
    const value = env[name];
    if (value === undefined || value === "1" || value.toLowerCase() === "true") continue;
    throw new UsageError(`Invalid ${name} "${value}": set it to 1 to turn the flag on`, {
      hint: `or unset it: unset ${name}`,
    });
  }
}
