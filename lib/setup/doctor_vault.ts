/**
 * `doctor`'s vault checks: which vault backend is in use and why (or would be, when none is), and
 * whether the profile's keys are in it; and a warning for long-lived keys still in plain sight —
 * in `~/.aws/credentials` or in the environment — where any process of the user (an agent's
 * shell included) can read them, with the `keys` command that moves them.
 *
 * @module
 */

import { profileLabel, resolveProfile, usesEnvironmentKeys } from "../aws/profile.ts";
import { UserError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import {
  credentialsFilePath,
  findFileKeys,
  readCredentialsFile,
} from "../keys/credentials_file.ts";
import { getStoredKeys } from "../vault/stored_keys.ts";
import { openVault } from "../vault/vault.ts";
import type { VaultChoiceSource } from "../vault/backend.ts";
import { vaultInUse } from "../vault/vault_place.ts";

/** One line of `doctor`, as `doctor.ts` renders it. */
export interface VaultCheck {
  /** `warn` (!) does not fail `doctor`; it points at a risk. */
  status: "pass" | "fail" | "skip" | "warn";
  /** What was checked. */
  label: string;
  /** What was found. */
  detail: string;
  /** What to do. */
  fix?: string;
}

const WHY: Readonly<Record<VaultChoiceSource, string>> = {
  "--vault-backend": "from --vault-backend",
  TIMEBOUND_IAM_VAULT_BACKEND: "from TIMEBOUND_IAM_VAULT_BACKEND",
  "the config file": "from the config file's vaultBackend",
  default: "the default",
};

/** Where the vault is, why, and whether the profile's keys are in it. */
export async function vaultCheck(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<VaultCheck> {
  const label = "vault";
  const name = profileLabel(resolveProfile(profile, env));
  try {
    const inUse = vaultInUse(env);
    const vault = await openVault({ env });
    const where = `${vault.backend.location} (${WHY[vault.chosenBy]}${
      vault.chosenBy === "default"
        ? vault.backend.kind === "keychain" ? ": a keychain answers" : ": no keychain answers"
        : ""
    })`;
    if (!inUse) {
      return {
        status: "skip",
        label,
        detail: `not in use; it would be ${where}`,
      };
    }
    const keys = await getStoredKeys(vault, name);
    // A role profile whose source's keys are there (the base credentials check explains a
    // broken chain).
    const chain = keys ? undefined : await (await import("../aws/vault_chain.ts"))
      .findVaultChain(profile, env).catch(() => undefined);
    const held = keys
      ? `it holds the keys of profile "${name}", which grants use`
      : chain
      ? `it holds the keys of profile "${
        logText(chain.source, 80)
      }", which grants with profile "${name}" ` +
        "use to assume its role_arn"
      : `it holds no keys for profile "${name}"`;
    return { status: "pass", label, detail: `${where}; ${held}` };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { status: "fail", label, detail: error.message, fix: error.hint };
  }
}

/**
 * Long-lived keys in `~/.aws/credentials` (a profile with a key pair and no session token) or in
 * `AWS_ACCESS_KEY_ID` (an `AKIA…` key): a warning with the command that moves them.
 */
export async function plaintextKeysCheck(
  profile: string | undefined,
  env: Readonly<Record<string, string>>,
): Promise<VaultCheck> {
  const label = "plaintext keys";
  const path = credentialsFilePath(env);
  const text = await readCredentialsFile(path).catch(() => undefined);
  const inFile = findFileKeys(text ?? "").filter((keys) => !keys.hasSessionToken)
    .map((keys) => keys.profile);
  const inEnv = (env.AWS_ACCESS_KEY_ID ?? "").startsWith("AKIA") && !env.AWS_SESSION_TOKEN &&
    Boolean(env.AWS_SECRET_ACCESS_KEY);
  if (inFile.length === 0 && !inEnv) {
    return { status: "pass", label, detail: "none in ~/.aws/credentials or the environment" };
  }
  const where: string[] = [];
  const fixes: string[] = [];
  if (inFile.length > 0) {
    // Names from the file are shown neutralised, and quoted for a shell in the command to copy.
    where.push(`${path} (${inFile.map((p) => `"${logText(p, 80)}"`).join(", ")})`);
    fixes.push(
      inFile.length === 1
        ? `timebound-iam keys import --profile ${shellWord(logText(inFile[0], 80))}`
        : "timebound-iam keys import --all",
    );
  }
  if (inEnv) {
    where.push("AWS_ACCESS_KEY_ID");
    const target = usesEnvironmentKeys(profile, env)
      ? "default"
      : profileLabel(resolveProfile(profile, env));
    fixes.push(
      `timebound-iam keys add ${target} --from-env, then unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY`,
    );
  }
  return {
    status: "warn",
    label,
    detail: `long-lived keys in ${where.join(" and ")}: any process of yours can read and use ` +
      "them, unscoped",
    fix: fixes.join("; "),
  };
}

/** `word` as one POSIX shell word: as it is when plain, else in single quotes. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_.,:@%+=\/-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
