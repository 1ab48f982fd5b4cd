/**
 * AWS calls made with a given key pair rather than the provider chain: checking a pair
 * (`GetCallerIdentity`, before `keys add` and `keys import` store it), learning when its key was
 * created (`ListAccessKeys`, for `keys list`'s age) and managing the caller's own access keys
 * (`CreateAccessKey`, `DeleteAccessKey`, `ListAccessKeys`, for `keys rotate`).
 * Every call has the usual timeout; every error is explained, and any access key id in AWS's
 * words is masked (`AKIA…WXYZ`) before it reaches a message.
 *
 * @module
 */

import { addCallDeadline, type DeadlineClient } from "./timeout.ts";
import { RuntimeError, UsageError, type UserError } from "../core/errors.ts";
import { baseClientConfig } from "./credential_source.ts";
import { classifyAwsError, explainAwsError } from "./on_failure.ts";
import type { ErrorContext } from "./aws_errors.ts";
import { iamModule, stsModule } from "./sdk.ts";
import { logText, messageLine } from "../core/log_text.ts";

/** A long-lived key pair. */
export interface KeyPair {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
}

/** Who a key pair belongs to. */
export interface KeyOwner {
  /** The account. */
  account: string;
  /** The caller's ARN (`arn:aws:iam::ACCOUNT:user/NAME`). */
  arn: string;
}

/** One of the user's access keys, as `ListAccessKeys` shows it. */
export interface AccessKeyInfo {
  /** The access key id. */
  accessKeyId: string;
  /** `Active` or `Inactive`. */
  status: string;
  /** When it was created. */
  createDate?: Date;
}

/** Where the calls go and for whom (for messages). */
export interface KeyCallOptions {
  /** The region. */
  region: string;
  /** The profile the keys are for: messages, and its `endpoint_url` (never `[default]`'s). */
  profile?: string;
  /** Each call's timeout, in milliseconds. */
  timeoutMs: number;
}

/**
 * Replaces every AWS access key id in `text` with its masked form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskKeyIdsIn } from "./access_keys.ts";
 * assert.equal(maskKeyIdsIn("key AKIAIOSFODNN7EXAMPLE gone"), "key AKIA…MPLE gone");
 * ```
 */
export function maskKeyIdsIn(text: string): string {
  return text.replace(/\b(AKIA|ASIA)[A-Z0-9]{8,124}([A-Z0-9]{4})\b/g, "$1…$2");
}

/** Who `keys` belong to, by one `GetCallerIdentity` signed with them. */
export async function callerOfKeys(keys: KeyPair, options: KeyCallOptions): Promise<KeyOwner> {
  const { STSClient, GetCallerIdentityCommand } = await stsModule();
  const client = bounded(new STSClient(await clientConfig(keys, options, "sts")), options);
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    // Shown on the terminal and kept in the vault: no escape code from the answer survives.
    return { account: logText(out.Account ?? "", 64), arn: logText(out.Arn ?? "", 2048) };
  } catch (error) {
    throw await explained(error, { operation: "GetCallerIdentity", profile: options.profile });
  } finally {
    client.destroy();
  }
}

/** What IAM said of when a key was created: the date, or why it is unknown. */
export interface KeyCreation {
  /** When the key was created (ISO 8601); absent when IAM did not say. */
  createdAt?: string;
  /**
   * Why IAM did not say, in one line (`could not reach AWS IAM: connection refused`), when the
   * human may want to know: absent when IAM said, and when it refused the call.
   */
  unknownBecause?: string;
}

/**
 * When the key of `keys` was created, by one `ListAccessKeys` signed with them. Many users may not
 * list their own keys, and the date only informs `keys list`: a refusal, a timeout or any other
 * failure is no error. A refusal is expected and lasts; any other failure is said in
 * `unknownBecause`.
 */
export async function keyCreationDate(
  keys: KeyPair,
  options: KeyCallOptions,
): Promise<KeyCreation> {
  let listed: AccessKeyInfo[];
  try {
    listed = await listAccessKeys(keys, options);
  } catch (error) {
    const cause = (error as Error).cause ?? error;
    if ((await classifyAwsError(cause, "iam")).kind === "access-denied") return {};
    const message = messageLine(error instanceof Error ? error.message : String(error), 200);
    // "Could not reach …" reads on inside a sentence; a name (ListAccessKeys) keeps its capital.
    return { unknownBecause: message.replace(/^[A-Z][a-z]+\b/, (word) => word.toLowerCase()) };
  }
  const createdAt = isoDate(listed.find((key) => key.accessKeyId === keys.accessKeyId)?.createDate);
  return createdAt === undefined
    ? { unknownBecause: "IAM's ListAccessKeys did not list it" }
    : { createdAt };
}

/**
 * Creates a new access key for the user whose `keys` sign the call; `createdAt` is when (ISO
 * 8601), as IAM's answer says.
 */
export async function createAccessKey(
  keys: KeyPair,
  options: KeyCallOptions,
): Promise<KeyPair & { createdAt?: string }> {
  const { IAMClient, CreateAccessKeyCommand } = await iamModule();
  const client = bounded(new IAMClient(await clientConfig(keys, options, "iam")), options);
  try {
    const out = await client.send(new CreateAccessKeyCommand({}));
    const created = out.AccessKey;
    if (!created?.AccessKeyId || !created.SecretAccessKey) {
      throw new RuntimeError("IAM's CreateAccessKey answer holds no key");
    }
    return {
      accessKeyId: created.AccessKeyId,
      secretAccessKey: created.SecretAccessKey,
      createdAt: isoDate(created.CreateDate),
    };
  } catch (error) {
    throw await explained(error, { operation: "CreateAccessKey", profile: options.profile });
  } finally {
    client.destroy();
  }
}

/** Deletes the access key `id` of the user whose `keys` sign the call. */
export async function deleteAccessKey(
  keys: KeyPair,
  options: KeyCallOptions & { id: string },
): Promise<void> {
  const { IAMClient, DeleteAccessKeyCommand } = await iamModule();
  const client = bounded(new IAMClient(await clientConfig(keys, options, "iam")), options);
  try {
    await client.send(new DeleteAccessKeyCommand({ AccessKeyId: options.id }));
  } catch (error) {
    throw await explained(error, { operation: "DeleteAccessKey", profile: options.profile });
  } finally {
    client.destroy();
  }
}

/** The access keys of the user whose `keys` sign the call. */
export async function listAccessKeys(
  keys: KeyPair,
  options: KeyCallOptions,
): Promise<AccessKeyInfo[]> {
  const { IAMClient, ListAccessKeysCommand } = await iamModule();
  const client = bounded(new IAMClient(await clientConfig(keys, options, "iam")), options);
  try {
    const out = await client.send(new ListAccessKeysCommand({}));
    return (out.AccessKeyMetadata ?? []).map((key) => ({
      accessKeyId: key.AccessKeyId ?? "",
      status: key.Status ?? "",
      createDate: key.CreateDate,
    }));
  } catch (error) {
    throw await explained(error, { operation: "ListAccessKeys", profile: options.profile });
  } finally {
    client.destroy();
  }
}

/** A date from an answer as ISO 8601; `undefined` for none or one that does not read. */
function isoDate(date: Date | undefined): string | undefined {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

/** The client, with `TIMEBOUND_IAM_TIMEOUT` for each whole call. */
function bounded<C extends DeadlineClient>(client: C, options: KeyCallOptions): C {
  addCallDeadline(client, options.timeoutMs);
  return client;
}

async function clientConfig(keys: KeyPair, options: KeyCallOptions, service: "sts" | "iam") {
  const settings = await baseClientConfig({ region: options.region, timeoutMs: options.timeoutMs });
  // The profile's own endpoint: the keys sign nothing for an endpoint another profile names.
  const profile = options.profile;
  const endpoint = profile === undefined ? {} : await import("./profile_endpoint.ts")
    .then(({ profileEndpointConfig }) =>
      profileEndpointConfig(service, { profile, env: Deno.env.toObject() })
    );
  return {
    ...settings,
    ...endpoint,
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
  };
}

/** The error explained, with every access key id in its words masked. */
async function explained(error: unknown, context: ErrorContext): Promise<UserError> {
  const user = await explainAwsError(error, context);
  const message = maskKeyIdsIn(user.message);
  const hint = user.hint && maskKeyIdsIn(user.hint);
  if (message === user.message && hint === user.hint) return user;
  const options = { hint, cause: user.cause, detail: user.detail };
  return user.exitCode === 2
    ? new UsageError(message, options)
    : new RuntimeError(message, options);
}
