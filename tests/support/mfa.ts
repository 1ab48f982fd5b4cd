/**
 * MFA for the local AWS endpoint, as AWS documents it: virtual devices with a TOTP seed
 * (RFC 6238: SHA-1, six digits, 30-second steps, a code accepted one step either side), the
 * IAM actions that create, enable, list, deactivate and delete them, STS `GetSessionToken`, the
 * check of `SerialNumber`/`TokenCode` on `AssumeRole`, and the condition keys
 * (`aws:MultiFactorAuthPresent`, `aws:MultiFactorAuthAge`) a request carries. Codes are computed
 * and checked by the `otpauth` library, against the endpoint's clock.
 *
 * @module
 */

import { Secret, TOTP } from "otpauth";
import qrcode from "qrcode";
import { type ActionContext, type ActionHandler, awsTimestamp } from "./action.ts";
import { AwsError, checkDurationSeconds, validationError, violation } from "./aws_error.ts";
import type { RequestContext } from "./conditions.ts";
import {
  type Identity,
  type LocalAwsState,
  type MfaDevice,
  randomId,
  randomSecret,
  randomSessionToken,
  type UserIdentity,
  type UserSessionIdentity,
} from "./state.ts";
import type { XmlValue } from "./xml.ts";

// The package ships no types, and @types/qrcode would pull in a newer @types/node for all.
const QRCode = qrcode as unknown as {
  toBuffer(text: string, options: { type: "png" }): Promise<Uint8Array>;
};

const STEP_SECONDS = 30;
const NAME_PATTERN = /^[\w+=,.@-]+$/;

function totp(base32Seed: string): TOTP {
  return new TOTP({
    secret: Secret.fromBase32(base32Seed),
    algorithm: "SHA1",
    digits: 6,
    period: STEP_SECONDS,
  });
}

/** The code an authenticator app shows for `base32Seed` at `time` (`steps` later or earlier). */
export function totpCode(base32Seed: string, time: Date, steps = 0): string {
  return totp(base32Seed).generate({ timestamp: time.getTime() + steps * STEP_SECONDS * 1000 });
}

/** Whether `code` is valid for `base32Seed` at `time`, one step either side. */
export function totpValid(base32Seed: string, code: string, time: Date): boolean {
  return totp(base32Seed).validate({ token: code, timestamp: time.getTime(), window: 1 }) !== null;
}

/** A new random seed of 20 bytes in Base32 (as AWS's are: 32 characters). */
export function newBase32Seed(): string {
  return new Secret({ size: 20 }).base32;
}

/** The user an identity acts for: a user, or a user's GetSessionToken session. */
function userOf(caller: Identity): UserIdentity | UserSessionIdentity | undefined {
  return caller.kind === "session" ? undefined : caller;
}

const INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
const UNKNOWN_DEVICE = "MultiFactorAuthentication failed, unable to validate MFA code.  " +
  "Please verify your MFA serial number is valid and associated with this user.";

function checkCodeFormat(params: Record<string, string>, violations: string[]): void {
  const serial = params.SerialNumber;
  const code = params.TokenCode;
  if (serial !== undefined && (serial.length < 9 || serial.length > 256)) {
    violations.push(violation("serialNumber", serial, "have length greater than or equal to 9"));
  }
  if (code !== undefined) {
    if (code.length !== 6) {
      violations.push(violation("tokenCode", code, "have length less than or equal to 6"));
    } else if (!/^\d*$/.test(code)) {
      violations.push(violation("tokenCode", code, "satisfy regular expression pattern: [\\d]*"));
    }
  }
}

/**
 * Checks the `SerialNumber`/`TokenCode` pair of a request for `caller` as STS does (AccessDenied
 * on a wrong code or a device that is not the caller's) and returns when MFA was proven, or
 * `undefined` when the request carries no pair.
 */
export function checkMfaCode(
  state: LocalAwsState,
  caller: Identity,
  params: Record<string, string>,
): Date | undefined {
  const { SerialNumber: serial, TokenCode: code } = params;
  if (serial === undefined && code === undefined) return undefined;
  const violations: string[] = [];
  checkCodeFormat(params, violations);
  if (violations.length > 0) throw validationError(violations);
  if (serial === undefined || code === undefined) {
    throw new AwsError("AccessDenied", UNKNOWN_DEVICE, 403);
  }
  const device = state.mfaDevices.get(serial);
  const user = userOf(caller);
  if (device === undefined || user === undefined || device.userName !== user.userName) {
    throw new AwsError("AccessDenied", UNKNOWN_DEVICE, 403);
  }
  const now = state.clock.now();
  if (!totpValid(device.base32Seed, code, now)) {
    throw new AwsError("AccessDenied", INVALID_CODE, 403);
  }
  return now;
}

/**
 * The MFA condition keys of a request by `caller` (with MFA proven at `provenAt` by the request
 * itself, if so): none for a user's long-term keys, as AWS leaves them out;
 * `aws:MultiFactorAuthPresent` `true` with `aws:MultiFactorAuthAge` in seconds for credentials
 * that carry MFA; `false` for other temporary credentials.
 */
export function mfaContext(
  state: LocalAwsState,
  caller: Identity,
  provenAt?: Date,
): RequestContext {
  const at = provenAt ?? (caller.kind === "user" ? undefined : caller.mfaAuthenticatedAt);
  if (at !== undefined) {
    const age = Math.max(0, Math.floor((state.clock.now().getTime() - at.getTime()) / 1000));
    return { "aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": String(age) };
  }
  return caller.kind === "user" ? {} : { "aws:MultiFactorAuthPresent": "false" };
}

/**
 * `GetSessionToken`: temporary credentials of the calling IAM user (900 s to 36 h, 12 h by
 * default), with the MFA context when a valid `SerialNumber`/`TokenCode` is given. Session
 * credentials cannot call it.
 */
export function getSessionToken({ state, caller, params }: ActionContext): XmlValue {
  const violations: string[] = [];
  checkCodeFormat(params, violations);
  const duration = params.DurationSeconds;
  checkDurationSeconds(duration, 129600, violations);
  if (violations.length > 0) throw validationError(violations);
  if (caller.kind !== "user") {
    throw new AwsError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403);
  }
  const provenAt = checkMfaCode(state, caller, params);
  const durationSeconds = Number(duration ?? 43200);
  const session: UserSessionIdentity = {
    ...caller,
    kind: "user-session",
    accessKeyId: randomId("ASIA"),
    secretAccessKey: randomSecret(),
    sessionToken: randomSessionToken(),
    expiration: new Date(state.clock.now().getTime() + durationSeconds * 1000),
    durationSeconds,
    mfaAuthenticatedAt: provenAt,
    mfaSerial: provenAt ? params.SerialNumber : undefined,
  };
  state.identities.set(session.accessKeyId, session);
  return {
    Credentials: {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: awsTimestamp(session.expiration),
    },
  };
}

function targetUser(state: LocalAwsState, caller: Identity, userName?: string): UserIdentity {
  const self = userOf(caller);
  const name = userName ?? self?.userName;
  if (name === undefined) {
    throw new AwsError(
      "ValidationError",
      "Must specify userName when calling with non-User credentials",
    );
  }
  const user = [...state.identities.values()].find((i): i is UserIdentity =>
    i.kind === "user" && i.userName === name && i.accountId === caller.accountId
  );
  if (user === undefined) {
    throw new AwsError("NoSuchEntity", `The user with name ${name} cannot be found.`, 404);
  }
  return user;
}

function existingDevice(state: LocalAwsState, serial: string | undefined): MfaDevice {
  const device = serial === undefined ? undefined : state.mfaDevices.get(serial);
  if (device === undefined) {
    throw new AwsError(
      "NoSuchEntity",
      `MFA Device with serial number ${serial} does not exist.`,
      404,
    );
  }
  return device;
}

/** `ListMFADevices`: the devices enabled for a user (the caller unless `UserName`). */
export function listMfaDevices({ state, caller, params }: ActionContext): XmlValue {
  const user = targetUser(state, caller, params.UserName);
  const devices = [...state.mfaDevices.values()].filter((d) =>
    d.accountId === user.accountId && d.userName === user.userName
  );
  return {
    MFADevices: devices.map((d) => ({
      UserName: d.userName,
      SerialNumber: d.serialNumber,
      EnableDate: awsTimestamp(d.enableDate!),
    })),
    IsTruncated: false,
  };
}

/**
 * `CreateVirtualMFADevice`: a new device with a random seed, returned as `Base32StringSeed` and as
 * a `QRCodePNG` of its `otpauth://` URI (both base64, as the query protocol sends blobs).
 */
export async function createVirtualMfaDevice(
  { state, caller, params }: ActionContext,
): Promise<XmlValue> {
  const name = params.VirtualMFADeviceName;
  const violations: string[] = [];
  if (name === undefined) violations.push(violation("virtualMFADeviceName", name, "not be null"));
  else if (!NAME_PATTERN.test(name) || name.length > 226) {
    violations.push(
      violation("virtualMFADeviceName", name, "satisfy regular expression pattern: [\\w+=,.@-]+"),
    );
  }
  if (violations.length > 0) throw validationError(violations);
  const path = params.Path ?? "/";
  const serialNumber = `arn:aws:iam::${caller.accountId}:mfa${path}${name}`;
  if (state.mfaDevices.has(serialNumber)) {
    throw new AwsError(
      "EntityAlreadyExists",
      "MFADevice entity at the same path and name already exists.",
      409,
    );
  }
  const base32Seed = newBase32Seed();
  state.mfaDevices.set(serialNumber, { accountId: caller.accountId, serialNumber, base32Seed });
  const uri = `otpauth://totp/Amazon%20Web%20Services:${name}@${caller.accountId}?secret=` +
    `${base32Seed}&issuer=Amazon%20Web%20Services`;
  const png: Uint8Array = await QRCode.toBuffer(uri, { type: "png" });
  return {
    VirtualMFADevice: {
      SerialNumber: serialNumber,
      Base32StringSeed: btoa(base32Seed),
      QRCodePNG: btoa(String.fromCharCode(...png)),
    },
  };
}

/**
 * `EnableMFADevice`: assigns a device to a user when `AuthenticationCode1` and
 * `AuthenticationCode2` are two consecutive codes (`InvalidAuthenticationCode` otherwise).
 */
export function enableMfaDevice({ state, caller, params }: ActionContext): XmlValue {
  const user = targetUser(state, caller, params.UserName);
  const device = existingDevice(state, params.SerialNumber);
  if (device.userName !== undefined) {
    throw new AwsError("EntityAlreadyExists", "MFA Device is already in use.", 409);
  }
  const [code1, code2] = [params.AuthenticationCode1, params.AuthenticationCode2];
  const now = state.clock.now();
  const consecutive = [-2, -1, 0].some((step) =>
    totpCode(device.base32Seed, now, step) === code1 &&
    totpCode(device.base32Seed, now, step + 1) === code2
  );
  if (!consecutive) {
    throw new AwsError(
      "InvalidAuthenticationCode",
      "Authentication code for device is not valid.",
      403,
    );
  }
  device.userName = user.userName;
  device.enableDate = now;
  return undefined;
}

/** `DeactivateMFADevice`: unassigns a device from its user. */
export function deactivateMfaDevice({ state, caller, params }: ActionContext): XmlValue {
  const user = targetUser(state, caller, params.UserName);
  const device = existingDevice(state, params.SerialNumber);
  if (device.userName !== user.userName) {
    throw new AwsError(
      "NoSuchEntity",
      `MFA Device with serial number ${params.SerialNumber} not found for user ${user.userName}.`,
      404,
    );
  }
  device.userName = undefined;
  device.enableDate = undefined;
  return undefined;
}

/** `DeleteVirtualMFADevice`: deletes a device that no user has enabled (`DeleteConflict` else). */
export function deleteVirtualMfaDevice({ state, params }: ActionContext): XmlValue {
  const device = existingDevice(state, params.SerialNumber);
  if (device.userName !== undefined) {
    throw new AwsError("DeleteConflict", "MFA Device must be deactivated before deletion.", 409);
  }
  state.mfaDevices.delete(device.serialNumber);
  return undefined;
}

/** The IAM MFA actions by name. */
export const IAM_MFA_ACTIONS: Record<string, ActionHandler> = {
  ListMFADevices: listMfaDevices,
  CreateVirtualMFADevice: createVirtualMfaDevice,
  EnableMFADevice: enableMfaDevice,
  DeactivateMFADevice: deactivateMfaDevice,
  DeleteVirtualMFADevice: deleteVirtualMfaDevice,
};
