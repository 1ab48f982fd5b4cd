/**
 * `timebound-iam keys`: the human's long-lived keys in a vault (the OS keychain or an encrypted
 * file) instead of `~/.aws/credentials`: `add`, `import`, `list`, `remove`, `rotate`. A thin
 * parser over the stories in `lib/keys/`.
 *
 * @module
 */

import { Command } from "../cli/commander.ts";
import { type Cli, profileOption, regionOption } from "../cli/options.ts";
import { openCliVault, vaultBackendOption } from "../cli/vault_option.ts";
import { readSecretLine } from "../core/secret_line.ts";
import { UsageError } from "../core/errors.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { resolveRegion } from "../aws/broker.ts";
import { profileName } from "../aws/base_credentials.ts";
import { checkProfileName } from "../request/input_bounds.ts";
import type { KeysContext } from "../keys/keys_context.ts";
import { addKeys } from "../keys/add_keys.ts";
import { importKeys } from "../keys/import_keys.ts";
import { listKeys, removeKeys } from "../keys/list_keys.ts";
import { rotateKeys } from "../keys/rotate_keys.ts";

interface CommonFlags {
  vaultBackend?: string;
  region?: string;
  profile?: string;
}

const LIST_HELP = `
AGE is the key's age since AWS created it (400d). When IAM did not say (no iam:ListAccessKeys),
it is ≥12d: the keys have been in the vault 12 days, so the key is at least that old. Past 90
days, AWS's advice, "(rotate)" follows: keys rotate PROFILE replaces the key.`;

/** Builds the `keys` command and its subcommands. */
export function keysCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  const context = async (flags: CommonFlags): Promise<KeysContext> => {
    const io = cli.io;
    return {
      io,
      vault: await openCliVault(io, { flag: flags.vaultBackend }),
      aws: {
        region: await resolveRegion({ env: io.env, region: flags.region, profile: flags.profile }),
        timeoutMs: awsTimeoutMs(io.env),
      },
      confirm: cli.confirm,
      readSecret: io.stdinIsTerminal
        ? (question) => readSecretLine(question, { write: io.stderr })
        : undefined,
      now: cli.now,
    };
  };
  const profileArgument = (value: string) => checkProfileName(value);
  const keys = new Command("keys").addHelpText(
    "after",
    `
When the profile a grant uses has keys in the vault, they are its base credentials; its other
settings (mfa_serial, region) still come from ~/.aws/config. See docs/vault.md.

Examples:
  timebound-iam keys import --profile dev
  timebound-iam keys add dev
  timebound-iam keys list
  timebound-iam keys rotate dev`,
  );
  keys.addCommand(
    new Command("add")
      .description("store a key pair, typed on the terminal (no echo) or --from-env, after a check")
      // Variadic and checked in the action, so that commander never echoes an extra argument
      // (a key typed there by mistake) back.
      .argument("[profile...]", "the AWS profile (default: --profile, AWS_PROFILE, else default)")
      .addOption(profileOption("the AWS profile, when not given as an argument"))
      .option("--from-env", "take AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment")
      .option("-y, --yes", "replace another pair the profile holds without asking")
      .addOption(regionOption())
      .addOption(vaultBackendOption())
      .action(async (words, flags) => {
        const name = words.length === 0
          ? profileName(flags.profile, cli.io.env)
          : quietProfileName(words);
        await addKeys(await context({ ...flags, profile: name }), {
          profile: name,
          fromEnv: flags.fromEnv,
          yes: flags.yes,
        });
      }),
  );
  keys.addCommand(
    new Command("import")
      .description("move keys from ~/.aws/credentials into the vault, removing exactly their lines")
      .addOption(profileOption("the profile to import (default: AWS_PROFILE, else default)"))
      .option("--all", "every profile of the file that holds long-lived keys")
      .option("-y, --yes", "do not ask before changing the file")
      .addOption(regionOption())
      .addOption(vaultBackendOption())
      .action(async (flags) => {
        const profile = flags.all ? undefined : profileName(flags.profile, cli.io.env);
        await importKeys(await context(flags), { profile, all: flags.all, yes: flags.yes });
      }),
  );
  keys.addCommand(
    new Command("list")
      .description("the profiles in the vault: backend, key id (AKIA…WXYZ), account, user, age")
      .addOption(vaultBackendOption())
      .addHelpText("after", LIST_HELP)
      .action(async (flags) => await listKeys(await context(flags))),
  );
  keys.addCommand(
    new Command("remove")
      .description("delete a profile's keys (and its cached MFA sessions) from the vault")
      .argument("<profile>", "the AWS profile", profileArgument)
      .option("-y, --yes", "do not ask first")
      .addOption(vaultBackendOption())
      .action(async (profile, flags) => {
        await removeKeys(await context(flags), { profile, yes: flags.yes });
      }),
  );
  keys.addCommand(
    new Command("rotate")
      .description("new key pair (CreateAccessKey), stored and checked, then the old one deleted")
      .argument("<profile>", "the AWS profile", profileArgument)
      .option("-y, --yes", "do not ask first")
      .addOption(regionOption())
      .addOption(vaultBackendOption())
      .action(async (profile, flags) => {
        await rotateKeys(await context({ ...flags, profile }), { profile, yes: flags.yes });
      }),
  );
  return keys;
}

/**
 * The one profile name `keys add` takes, checked without quoting what was given: an argument
 * that is not a profile name may be a key typed in the wrong place.
 */
function quietProfileName(words: string[]): string {
  const refuse = () =>
    new UsageError("keys add takes one profile name: keys are never given as arguments", {
      hint: "type them when asked, or use --from-env; if you typed a key, clear it from your " +
        "shell history",
    });
  if (words.length > 1) throw refuse();
  try {
    return checkProfileName(words[0]);
  } catch {
    throw refuse();
  }
}
