/**
 * The IAM access key actions of the local AWS endpoint — `CreateAccessKey`, `DeleteAccessKey`,
 * `ListAccessKeys` — as AWS documents them: the user is `UserName`, else the user whose key
 * signed the request (a caller that is not an IAM user must name one); at most two keys per user
 * (`LimitExceeded`, 409); an unknown user or key is `NoSuchEntity` (404). A new key is refused
 * for `newAccessKeyDelayMs` after it is made (see `state.ts`), as AWS takes a few seconds to make
 * a new key usable.
 *
 * @module
 */

import { type ActionContext, type ActionHandler, awsTimestamp } from "./action.ts";
import { AwsError } from "./aws_error.ts";
import { randomId, randomSecret, type UserIdentity } from "./state.ts";
import type { XmlValue } from "./xml.ts";

const KEYS_PER_USER = 2;
const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const ACCESS_KEY_ID = /^[\w]{16,128}$/;

/** The user the request is about: `UserName` in the caller's account, else the caller itself. */
function targetUser({ state, caller, params }: ActionContext): UserIdentity {
  const name = params.UserName;
  if (name === undefined) {
    if (caller.kind !== "user") {
      throw new AwsError(
        "ValidationError",
        "Must specify userName when calling with non-User credentials",
      );
    }
    return caller;
  }
  if (!USER_NAME.test(name)) {
    throw new AwsError(
      "ValidationError",
      `1 validation error detected: Value '${name}' at 'userName' failed to satisfy constraint: ` +
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    );
  }
  const arn = `arn:aws:iam::${caller.accountId}:user/${name}`;
  const [user] = state.accessKeysOf(arn);
  if (user === undefined) {
    throw new AwsError("NoSuchEntity", `The user with name ${name} cannot be found.`, 404);
  }
  return user;
}

function metadata(key: UserIdentity): XmlValue {
  return {
    UserName: key.userName,
    AccessKeyId: key.accessKeyId,
    Status: "Active",
    CreateDate: awsTimestamp(key.createDate ?? new Date(0)),
  };
}

/** `CreateAccessKey`: a new key pair for the user, the secret shown this once. */
export function createAccessKey(context: ActionContext): XmlValue {
  const user = targetUser(context);
  const { state } = context;
  if (state.accessKeysOf(user.arn).length >= KEYS_PER_USER) {
    throw new AwsError(
      "LimitExceeded",
      `Cannot exceed quota for AccessKeysPerUser: ${KEYS_PER_USER}`,
      409,
    );
  }
  const key: UserIdentity = {
    ...user,
    accessKeyId: randomId("AKIA"),
    secretAccessKey: randomSecret(),
    createDate: state.clock.now(),
    usableAt: Date.now() + state.newAccessKeyDelayMs,
  };
  state.identities.set(key.accessKeyId, key);
  return { AccessKey: { ...metadata(key) as object, SecretAccessKey: key.secretAccessKey } };
}

/** `DeleteAccessKey`: removes one of the user's keys; `NoSuchEntity` if it is not theirs. */
export function deleteAccessKey(context: ActionContext): XmlValue {
  const id = context.params.AccessKeyId;
  if (id === undefined || !ACCESS_KEY_ID.test(id)) {
    throw new AwsError(
      "ValidationError",
      `1 validation error detected: Value ${id === undefined ? "null" : `'${id}'`} at ` +
        "'accessKeyId' failed to satisfy constraint: Member must satisfy regular expression " +
        "pattern: [\\w]+",
    );
  }
  const user = targetUser(context);
  const key = context.state.identities.get(id);
  if (key?.kind !== "user" || key.arn !== user.arn) {
    throw new AwsError("NoSuchEntity", `The Access Key with id ${id} cannot be found.`, 404);
  }
  context.state.identities.delete(id);
  return undefined;
}

/** `ListAccessKeys`: the user's keys (id, status, creation date; never a secret), one page. */
export function listAccessKeys(context: ActionContext): XmlValue {
  const user = targetUser(context);
  return {
    AccessKeyMetadata: context.state.accessKeysOf(user.arn).map(metadata),
    IsTruncated: false,
  };
}

/** The access key actions by name. */
export const IAM_ACCESS_KEY_ACTIONS: Record<string, ActionHandler> = {
  CreateAccessKey: createAccessKey,
  DeleteAccessKey: deleteAccessKey,
  ListAccessKeys: listAccessKeys,
};
