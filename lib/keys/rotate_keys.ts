/**
 * `keys rotate`: a profile's key pair replaced by a new one, as aws-vault rotates:
 *
 * 1. `CreateAccessKey`, signed with the old key;
 * 2. the new pair stored in the vault;
 * 3. the new pair checked with `GetCallerIdentity`, retried within a bound (AWS takes a few
 *    seconds to accept a new key everywhere);
 * 4. `DeleteAccessKey` of the old one, signed with the new.
 *
 * A failure in 2 or 3 is rolled back (the old pair put back, the new key deleted); every failure
 * says what state the keys are in and how to finish. Key ids appear masked only.
 *
 * @module
 */

import { DeclinedError, RuntimeError, UserError } from "../core/errors.ts";
import {
  callerOfKeys,
  createAccessKey,
  deleteAccessKey,
  type KeyPair,
  listAccessKeys,
} from "../aws/access_keys.ts";
import { rejectsCredentials } from "../aws/base_credentials.ts";
import { getStoredKeys, maskKeyId, putStoredKeys, type StoredKeys } from "../vault/stored_keys.ts";
import { approved, forgetProfileMfaSessions, type KeysContext } from "./keys_context.ts";

/** Options of {@linkcode rotateKeys}. */
export interface RotateKeysOptions {
  /** The profile whose keys rotate. */
  profile: string;
  /** Do not ask. */
  yes?: boolean;
  /** How long the new key may take to work, in ms (default 30 s). */
  acceptWithinMs?: number;
  /** The pause between checks of the new key, in ms (default 1 s). */
  retryEveryMs?: number;
}

/** Rotates the keys (see the module's description). */
export async function rotateKeys(ctx: KeysContext, options: RotateKeysOptions): Promise<void> {
  const old = await getStoredKeys(ctx.vault, options.profile);
  if (old === undefined) {
    throw new RuntimeError(`The vault holds no keys for profile "${options.profile}"`, {
      hint: `add them first: timebound-iam keys add ${options.profile}`,
    });
  }
  const aws = { ...ctx.aws, profile: options.profile };
  const oldId = maskKeyId(old.accessKeyId);
  ctx.io.stderr(
    `Rotating ${oldId} of profile "${options.profile}": a new key is created and stored, ` +
      "checked, then the old one is deleted at AWS.\n",
  );
  if (!await approved(ctx, { yes: options.yes, what: "rotating" })) {
    throw new DeclinedError("Declined: nothing was changed");
  }
  let created: KeyPair & { createdAt?: string };
  try {
    created = await createAccessKey(old, aws);
  } catch (error) {
    throw await creationFailure(error, old, aws);
  }
  const newId = maskKeyId(created.accessKeyId);
  const now = ctx.now().toISOString();
  // Every field of the new key: none of the old one's (its creation date) may stay behind.
  const stored: StoredKeys = {
    ...old,
    ...created,
    storedAt: now,
    createdAt: created.createdAt ?? now,
  };
  try {
    await putStoredKeys(ctx.vault, options.profile, { keys: stored, env: ctx.io.env });
    await untilAccepted(created, { ...options, aws });
  } catch (error) {
    throw await rollBack(ctx, { error, old, created, profile: options.profile });
  }
  ctx.io.stderr(`New key ${newId} stored and working\n`);
  // The old key started the profile's cached MFA sessions: they go with it.
  await forgetProfileMfaSessions(ctx, options.profile);
  try {
    await deleteAccessKey(created, { ...aws, id: old.accessKeyId });
  } catch (error) {
    throw new RuntimeError(
      `The vault holds the new key ${newId}, but deleting the old key ${oldId} failed: ` +
        (error instanceof Error ? error.message : String(error)),
      {
        hint: `the old key still works: delete it in the IAM console (the access key ending in ` +
          `${old.accessKeyId.slice(-4)}), or run keys rotate again later`,
        cause: error,
      },
    );
  }
  ctx.io.stderr(`Deleted the old key ${oldId}: profile "${options.profile}" now uses ${newId}\n`);
}

/** Waits until STS accepts `keys`, checking every second or so, at most `acceptWithinMs`. */
async function untilAccepted(
  keys: KeyPair,
  options: RotateKeysOptions & { aws: Parameters<typeof callerOfKeys>[1] },
): Promise<void> {
  const deadline = Date.now() + (options.acceptWithinMs ?? 30_000);
  for (;;) {
    try {
      await callerOfKeys(keys, options.aws);
      return;
    } catch (error) {
      if (!await rejectsCredentials(error) || Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.retryEveryMs ?? 1000));
  }
}

/**
 * Puts the old pair back and deletes the new key; says where things stand. The new key is
 * deleted only once the vault holds the old one again: a vault that could not be given it back
 * may still hold the new key (stored in step 2), and deleting it then would leave the vault with
 * a dead key and the old key's secret nowhere.
 */
async function rollBack(
  ctx: KeysContext,
  failure: { error: unknown; old: StoredKeys; created: KeyPair; profile: string },
): Promise<UserError> {
  const { old, created } = failure;
  const reason = failure.error instanceof Error ? failure.error.message : String(failure.error);
  const newId = maskKeyId(created.accessKeyId);
  const oldId = maskKeyId(old.accessKeyId);
  const undone: string[] = [];
  let holds: "old" | "new" | "unknown";
  try {
    await putStoredKeys(ctx.vault, failure.profile, { keys: old, env: ctx.io.env });
    holds = "old";
    undone.push(`the vault holds the old key ${oldId} again`);
  } catch {
    holds = await heldKey(ctx, { profile: failure.profile, old, created });
    if (holds === "old") undone.push(`the vault still holds the old key ${oldId}`);
  }
  if (holds === "old") {
    try {
      await deleteAccessKey(old, { ...ctx.aws, profile: failure.profile, id: created.accessKeyId });
      undone.push(`the new key ${newId} was deleted`);
    } catch {
      undone.push(
        `the new key ${newId} still exists: delete it in the IAM console (the access key ending ` +
          `in ${created.accessKeyId.slice(-4)})`,
      );
    }
  } else {
    undone.push(
      holds === "new"
        ? `the vault could not be given back the old key ${oldId}, so it keeps the new key ` +
          `${newId}, which was not deleted`
        : `the vault could not be given back the old key ${oldId} and cannot say which key it ` +
          `holds: the new key ${newId} was not deleted`,
      `both keys exist at AWS; see which one the vault holds with keys list, and delete the ` +
        `other in the IAM console once the vault's key works`,
    );
  }
  return new RuntimeError(`Rotation of profile "${failure.profile}" failed: ${reason}`, {
    hint: `${undone.join("; ")}; run keys rotate again when the cause is fixed`,
    cause: failure.error,
  });
}

/** Which of the two keys the vault holds for the profile now, as far as it can be read. */
async function heldKey(
  ctx: KeysContext,
  keys: { profile: string; old: KeyPair; created: KeyPair },
): Promise<"old" | "new" | "unknown"> {
  try {
    const held = await getStoredKeys(ctx.vault, keys.profile);
    if (held?.accessKeyId === keys.created.accessKeyId) return "new";
    if (held?.accessKeyId === keys.old.accessKeyId) return "old";
  } catch {
    // Unreadable: unknown.
  }
  return "unknown";
}

/** CreateAccessKey failed: nothing changed; with two keys already, say which other one exists. */
async function creationFailure(
  error: unknown,
  old: StoredKeys,
  aws: Parameters<typeof listAccessKeys>[1],
): Promise<UserError> {
  const message = error instanceof Error ? error.message : String(error);
  if (!/LimitExceeded|quota/i.test(message)) {
    return error instanceof UserError ? error : new RuntimeError(message, { cause: error });
  }
  const others = (await listAccessKeys(old, aws).catch(() => []))
    .filter((key) => key.accessKeyId !== old.accessKeyId)
    .map((key) => maskKeyId(key.accessKeyId));
  return new RuntimeError(
    `Cannot create a new key: your IAM user already has two (${
      [maskKeyId(old.accessKeyId), ...others].join(", ")
    }); nothing was changed`,
    {
      hint: `delete the one the vault does not use (${
        others.join(", ") || "the other one"
      }) in the IAM console, then rotate again`,
      cause: error,
    },
  );
}
