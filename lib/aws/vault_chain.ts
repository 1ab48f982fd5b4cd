/**
 * A role profile whose source's keys are in the vault (`[profile prod]` with `role_arn` and
 * `source_profile = base`, base's keys in the vault: the layout of most aws-vault users). The
 * AWS SDK's chain would look for base's keys in `~/.aws/credentials`, where they no longer are,
 * so timebound-iam assumes the roles itself, as aws-vault does: the vault's keys of the source
 * assume the first role of the chain (`role_chain.ts`), its session the next, down to the
 * profile's own role. Each AssumeRole carries the profile's `mfa_serial` with a code,
 * `external_id`, `role_session_name` and `duration_seconds`, and goes to the profile's region; the
 * whole chain is held to one call deadline (`TIMEBOUND_IAM_TIMEOUT`, the time a person takes to
 * type a code aside), and a step's failure comes back as a sentence.
 *
 * Loaded only for a profile with `role_arn` and `source_profile`, and a vault in use.
 *
 * @module
 */

import { RuntimeError, UsageError, UserError, withAgentText } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import { cachedMfaSession, openMfaSessionStore } from "./mfa_session.ts";
import { classifyAwsError, explainAwsError } from "./on_failure.ts";
import { profileLabel, resolveProfile, usesEnvironmentKeys } from "./profile.ts";
import { type EndpointInUse, profileEndpointConfig, stsEndpointInUse } from "./profile_endpoint.ts";
import {
  CHAIN_FAILURE_FOR_AGENTS,
  hasSourceProfile,
  type RoleStep,
  walkRoleChain,
} from "./role_chain.ts";
import { credentialProvidersModule, smithyConfigModule } from "./sdk.ts";
import { callDeadlinePlugin } from "./timeout.ts";
import { VAULT_CHAIN_MARK, type VaultHolding, vaultHolding } from "./vault_keys.ts";
import { vaultInUse } from "../vault/vault_place.ts";

/** A role chain that starts at keys in the vault. */
export interface VaultChain {
  /** The profile granted with (the last role assumed is its own). */
  profile: string;
  /** The profile whose keys in the vault assume the first role. */
  source: string;
  /** Those keys and their vault. */
  holding: VaultHolding;
  /** The roles, in the order they are assumed. */
  steps: RoleStep[];
}

/**
 * The role chain of `profile` (see the module's description), or `undefined` when it has none
 * that starts in the vault: no vault in use (the chain is then the AWS SDK's, as it always was,
 * and nothing is walked), no `role_arn` with `source_profile`, keys of its own in the vault, keys
 * in the environment (they win, as for the AWS CLI), or a chain that ends at a source the AWS SDK
 * resolves itself. A cycle, a chain too long, invalid settings and a source with no keys anywhere
 * are usage errors.
 */
export async function findVaultChain(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<VaultChain | undefined> {
  if (usesEnvironmentKeys(profile, env) || !vaultInUse(env)) return undefined;
  const name = profileLabel(resolveProfile(profile, env));
  const { loadSharedConfigFiles } = await smithyConfigModule();
  const files = await loadSharedConfigFiles();
  if (!hasSourceProfile(files, name)) return undefined;
  // The profile's own keys in the vault win over its role_arn (see vault_keys.ts).
  if (await vaultHolding(name, { env })) return undefined;
  const end = await walkRoleChain(name, {
    files,
    vaultKeys: (source) => vaultHolding(source, { env }),
  });
  if (end.kind !== "vault") return undefined;
  return { profile: name, source: end.source, holding: end.holding, steps: end.steps };
}

/** Temporary credentials from the chain, marked for `doctor`. */
export interface ChainedCredentials {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** The session token. */
  sessionToken?: string;
  /** When they expire. */
  expiration?: Date;
  /** The SDK's `$source` marks: the source profile under {@linkcode VAULT_CHAIN_MARK}. */
  $source: Record<string, string>;
}

/** Options of {@linkcode chainCredentials}. */
export interface ChainOptions {
  /** The region of a step whose profile names none. */
  region: string;
  /** The environment (`AWS_ENDPOINT_URL_STS`). */
  env: Readonly<Record<string, string>>;
  /** The deadline of the whole chain, its AssumeRoles and their retries, in milliseconds. */
  timeoutMs: number;
  /** The STS client's HTTP settings (its timeouts). */
  requestHandler: Record<string, unknown>;
  /** The STS client's logger (one that drops the SDK's console warnings). */
  logger: Record<"debug" | "info" | "warn" | "error", () => void>;
  /** Asks for the code of a step's MFA device (flag, environment, prompt, elicitation). */
  mfaCodeProvider?: (serial: string) => Promise<string>;
  /**
   * What signs the first AssumeRole instead of the vault's keys: the source's cached MFA
   * session with the first step's device, which then needs no code.
   */
  master?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * The chain as an AWS SDK credential provider: each call assumes every role of the chain again
 * (an SDK client memoizes the result until it nears its expiry).
 */
export function chainCredentials(
  chain: VaultChain,
  options: ChainOptions,
): () => Promise<ChainedCredentials> {
  return async () => {
    const { fromTemporaryCredentials } = await credentialProvidersModule();
    const { accessKeyId, secretAccessKey } = chain.holding.keys;
    // A command that asks for no code (doctor, setup) signs with the source's cached session.
    const master = options.master ??
      (options.mfaCodeProvider ? undefined : await cachedSession(chain, options.env));
    let credentials: Omit<ChainedCredentials, "$source"> = master ??
      { accessKeyId, secretAccessKey };
    // Every AssumeRole follows the granted profile's settings: its endpoint_url, not [default]'s.
    const endpoint = await profileEndpointConfig("sts", {
      profile: chain.profile,
      env: options.env,
    });
    // One deadline for the whole chain, not one per role: the time a person takes to type a
    // code does not count, as for a single call.
    const budget = chainBudget(options.timeoutMs);
    const askCode = options.mfaCodeProvider && budget.excluding(options.mfaCodeProvider);
    for (const [i, step] of chain.steps.entries()) {
      // A cached MFA session carries the MFA context already: no code for the first role.
      const serial = i === 0 && master ? undefined : step.mfaSerial;
      const assume = fromTemporaryCredentials({
        masterCredentials: credentials,
        params: {
          RoleArn: step.roleArn,
          RoleSessionName: step.roleSessionName ?? defaultSessionName(chain),
          ExternalId: step.externalId,
          DurationSeconds: step.durationSeconds,
          SerialNumber: serial,
        },
        clientConfig: {
          ...endpoint,
          region: step.region ?? options.region,
          requestHandler: options.requestHandler,
          logger: options.logger,
        },
        clientPlugins: [callDeadlinePlugin(budget.left())],
        mfaCodeProvider: askCode ?? ((device) => noCodeHere(step, device)),
        logger: options.logger,
      });
      try {
        credentials = await assume();
      } catch (error) {
        const used = await stsEndpointInUse(step.region ?? options.region, {
          profile: chain.profile,
          env: options.env,
        });
        throw await explainStepFailure(error, { chain, index: i, endpoint: used });
      }
    }
    return { ...credentials, $source: { [VAULT_CHAIN_MARK]: chain.source } };
  };
}

/**
 * The time left of a chain's deadline: the time since it started, less the time spent waiting
 * for a person's MFA code (a call's deadline starts once its code is in). At least 1 ms, so that
 * a step that finds none left times out as a call does.
 */
function chainBudget(timeoutMs: number): {
  left(): number;
  excluding(ask: (serial: string) => Promise<string>): (serial: string) => Promise<string>;
} {
  const started = performance.now();
  let waited = 0;
  return {
    left: () => Math.max(1, Math.ceil(timeoutMs - (performance.now() - started - waited))),
    excluding: (ask) => async (serial) => {
      const asked = performance.now();
      try {
        return await ask(serial);
      } finally {
        waited += performance.now() - asked;
      }
    },
  };
}

/**
 * The session name of a role whose profile sets no `role_session_name`: the IAM user's name of
 * the vault's keys (recorded when they were stored), so that CloudTrail, and the broker
 * session's source identity taken from it, name the person; else `timebound-iam-<ms>`.
 */
function defaultSessionName(chain: VaultChain): string {
  const user = /:user\/(?:[^/]*\/)*([\w+=,.@-]{2,64})$/.exec(chain.holding.keys.arn ?? "");
  return user?.[1] ?? `timebound-iam-${Date.now()}`;
}

/** The source's cached MFA session with the first role's device, if there is one. */
async function cachedSession(
  chain: VaultChain,
  env: Readonly<Record<string, string>>,
): Promise<ChainOptions["master"]> {
  const serial = chain.steps[0].mfaSerial;
  if (serial === undefined) return undefined;
  const store = openMfaSessionStore(env, { vault: chain.holding.vault.backend });
  return await cachedMfaSession(store, { profile: chain.source, serial }, new Date());
}

function noCodeHere(step: RoleStep, serial: string): Promise<never> {
  const profile = logText(step.profile, 80);
  return Promise.reject(
    new UsageError(
      `Profile "${profile}" assumes its role_arn with an MFA code for ${logText(serial, 256)}, ` +
        "and this command asks for none",
      {
        hint: `run: timebound-iam mfa login --profile ${profile}`,
        forAgents: CHAIN_FAILURE_FOR_AGENTS,
      },
    ),
  );
}

/**
 * An AssumeRole of the chain failed: which profile's role, signed with what. That names the
 * human's other profiles and roles, so an agent is told less ({@linkcode CHAIN_FAILURE_FOR_AGENTS});
 * an error that is the person's or the request's own (a code not given, declined) passes as is.
 */
async function explainStepFailure(
  error: unknown,
  at: { chain: VaultChain; index: number; endpoint: EndpointInUse },
): Promise<UserError> {
  if (error instanceof UserError) return error;
  const { chain, index } = at;
  const step = chain.steps[index];
  const profile = `profile "${logText(step.profile, 80)}"`;
  const role = logText(step.roleArn, 256);
  const signer = index === 0
    ? `the keys of profile "${logText(chain.source, 80)}"`
    : `the session of profile "${logText(chain.steps[index - 1].profile, 80)}"`;
  const { kind } = await classifyAwsError(error, "sts");
  const message = ((error as { message?: string }).message ?? "").split("\n")[0];
  if (kind === "access-denied" && !/MultiFactorAuthentication/i.test(message)) {
    const settings = ["role_arn", step.externalId && "external_id", step.mfaSerial && "mfa_serial"]
      .filter(Boolean).join(", ");
    return new RuntimeError(
      `Access denied assuming ${role}, the role_arn of ${profile}: the role does not exist or ` +
        `its trust policy does not allow ${signer}`,
      {
        cause: error,
        hint: `check ${settings} of ${profile} in ~/.aws/config`,
        forAgents: CHAIN_FAILURE_FOR_AGENTS,
      },
    );
  }
  if (kind === "validation") {
    return new RuntimeError(`AWS refused to assume ${role} for ${profile}: ${message}`, {
      cause: error,
      hint: `check duration_seconds of ${profile} in ~/.aws/config (at most the role's ` +
        "MaxSessionDuration, and 1h when assumed with another role's session)",
      forAgents: CHAIN_FAILURE_FOR_AGENTS,
    });
  }
  const explained = await explainAwsError(error, {
    operation: "AssumeRole",
    profile: step.profile,
    roleArn: step.roleArn,
    endpoint: at.endpoint,
  });
  // withBaseCredentials finds AWS's refusal of a cached MFA session through the cause.
  return withAgentText(explained, CHAIN_FAILURE_FOR_AGENTS, error);
}
