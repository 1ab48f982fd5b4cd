/**
 * `keys add`: the human's key pair into the vault. The pair is read on the terminal without echo,
 * or from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` with `--from-env` — never from the command
 * line, where every process of the machine could read it. One `GetCallerIdentity` signed with it
 * checks it before anything is stored, and the account and user are shown; one `ListAccessKeys`
 * learns when the key was created, if IAM lets the user ask.
 *
 * @module
 */

import { DeclinedError, RuntimeError, UsageError } from "../core/errors.ts";
import type { KeyPair } from "../aws/access_keys.ts";
import { getStoredKeys, isAccessKeyId, maskKeyId, putStoredKeys } from "../vault/stored_keys.ts";
import {
  approved,
  checkedEntry,
  forgetProfileMfaSessions,
  type KeysContext,
} from "./keys_context.ts";

/** Options of {@linkcode addKeys}. */
export interface AddKeysOptions {
  /** The profile the keys are for. */
  profile: string;
  /** Take the pair from the environment instead of the terminal. */
  fromEnv?: boolean;
  /** Replace another pair the profile holds without asking. */
  yes?: boolean;
}

const SECRET = /^[A-Za-z0-9/+=]{16,128}$/;

/** Reads, checks and stores a key pair for `options.profile` (see the module's description). */
export async function addKeys(ctx: KeysContext, options: AddKeysOptions): Promise<void> {
  const keys = options.fromEnv ? keysFromEnv(ctx.io.env) : await keysFromTerminal(ctx);
  const entry = await checkedEntry(ctx, keys, options.profile);
  const previous = await storedOrUnreadable(ctx, options.profile);
  if (previous && previous.accessKeyId !== keys.accessKeyId) {
    // The old secret is kept nowhere else once it is replaced: ask, as remove and rotate do.
    const held = previous.accessKeyId ? maskKeyId(previous.accessKeyId) : "an unreadable item";
    ctx.io.stderr(
      `Profile "${options.profile}" holds ${held} in ` +
        `${ctx.vault.backend.location}; the new pair replaces it, and its secret is not kept.\n`,
    );
    if (!await approved(ctx, { yes: options.yes, what: "replacing the stored keys" })) {
      throw new DeclinedError(`Declined: profile "${options.profile}" keeps its keys`);
    }
  }
  await putStoredKeys(ctx.vault, options.profile, { keys: entry, env: ctx.io.env });
  const replaced = previous && previous.accessKeyId !== keys.accessKeyId
    ? ` (replacing ${
      previous.accessKeyId ? maskKeyId(previous.accessKeyId) : "an unreadable item"
    })`
    : "";
  ctx.io.stderr(
    `Stored ${maskKeyId(keys.accessKeyId)} for profile "${options.profile}" in ` +
      `${ctx.vault.backend.location}${replaced}: account ${entry.account}, ${entry.arn}\n`,
  );
  // The old keys started the profile's cached MFA sessions: they go with them.
  if (replaced) await forgetProfileMfaSessions(ctx, options.profile);
}

/**
 * The profile's stored keys; an item that is not readable (whose error's hint is `keys add`) as
 * an empty key id, so that add asks before replacing it instead of refusing for ever.
 */
async function storedOrUnreadable(
  ctx: KeysContext,
  profile: string,
): Promise<{ accessKeyId: string } | undefined> {
  try {
    return await getStoredKeys(ctx.vault, profile);
  } catch (error) {
    if (error instanceof RuntimeError && / is not readable$/.test(error.message)) {
      return { accessKeyId: "" };
    }
    throw error;
  }
}

/** The pair in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`; a session token is refused. */
export function keysFromEnv(env: Readonly<Record<string, string>>): KeyPair {
  const accessKeyId = env.AWS_ACCESS_KEY_ID ?? "";
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY ?? "";
  if (!accessKeyId || !secretAccessKey) {
    throw new UsageError("--from-env needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", {
      hint: "set both, or leave out --from-env to type them on the terminal",
    });
  }
  if (env.AWS_SESSION_TOKEN) {
    throw new UsageError(
      "AWS_SESSION_TOKEN is set: these are temporary credentials, not a long-lived key pair",
      { hint: "the vault keeps an IAM user's own keys (AKIA…); unset AWS_SESSION_TOKEN" },
    );
  }
  return checkPair({ accessKeyId, secretAccessKey }, "AWS_ACCESS_KEY_ID");
}

async function keysFromTerminal(ctx: KeysContext): Promise<KeyPair> {
  if (!ctx.io.stdinIsTerminal || ctx.readSecret === undefined) {
    throw new UsageError("Cannot ask for the keys: standard input is not a terminal", {
      hint: "run keys add in a terminal, or pass --from-env with AWS_ACCESS_KEY_ID and " +
        "AWS_SECRET_ACCESS_KEY set",
    });
  }
  const accessKeyId = (await ctx.readSecret("AWS access key id: ")).trim();
  const secretAccessKey = (await ctx.readSecret("AWS secret access key: ")).trim();
  return checkPair({ accessKeyId, secretAccessKey }, "the prompt");
}

function checkPair(keys: KeyPair, from: string): KeyPair {
  if (keys.accessKeyId.startsWith("ASIA")) {
    throw new UsageError(
      `The access key id from ${from} is temporary (ASIA…): the vault keeps long-lived keys`,
      { hint: "give an IAM user's access key (AKIA…)" },
    );
  }
  if (!isAccessKeyId(keys.accessKeyId)) {
    throw new UsageError(
      `Invalid access key id from ${from}: expected AKIA and 16 or more capitals and digits`,
    );
  }
  if (!SECRET.test(keys.secretAccessKey)) {
    throw new UsageError(`Invalid secret access key from ${from}: expected 40 characters`, {
      hint: "copy it again from where you keep it (it is shown once, when the key is created)",
    });
  }
  return keys;
}
