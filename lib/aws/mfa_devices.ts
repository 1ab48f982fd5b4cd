/**
 * The caller's MFA devices in IAM: listing them (`doctor`, and the hint when a role refuses a
 * caller who gave no MFA code), and the IAM calls of `mfa provision` (create a virtual device,
 * enable it with two consecutive codes, and delete it again when something fails).
 *
 * @module
 */

import type { IAMClient } from "@aws-sdk/client-iam";
import { RuntimeError, UserError } from "../core/errors.ts";
import { explainAwsError } from "./aws_errors.ts";
import { classifyAwsError } from "./sdk_errors.ts";
import type { ClientCredentials } from "./base_credentials.ts";
import { createIamClient } from "./credential_source.ts";
import { iamModule } from "./sdk.ts";

/** One MFA device of a user. */
export interface MfaDevice {
  /** The serial number (ARN for virtual devices). */
  serial: string;
  /** When it was enabled. */
  enabledAt?: Date;
}

/** Where the IAM client gets its credentials. */
export interface IamClientConfig {
  /** The region. */
  region: string;
  /** The AWS profile (the SDK's default chain when omitted). */
  profile?: string;
  /** Credentials over the profile's (a cached MFA session, say). */
  credentials?: ClientCredentials;
  /** Each request's timeout (`TIMEBOUND_IAM_TIMEOUT`). */
  timeoutMs?: number;
}

/** The caller's MFA devices (`iam:ListMFADevices` without a user name: the caller's own). */
export async function listMfaDevices(
  client: IAMClient,
  options: { profile?: string; userName?: string } = {},
): Promise<MfaDevice[]> {
  const { ListMFADevicesCommand } = await iamModule();
  try {
    const out = await client.send(new ListMFADevicesCommand({ UserName: options.userName }));
    return (out.MFADevices ?? []).map((d) => ({
      serial: d.SerialNumber ?? "",
      enabledAt: d.EnableDate,
    }));
  } catch (error) {
    throw await explainAwsError(error, { operation: "ListMFADevices", profile: options.profile });
  }
}

/**
 * When AssumeRole was refused and no MFA device was in play, looks up the caller's devices and
 * says exactly what to pass or configure, should the role's trust require MFA. Returns `error`
 * unchanged when the refusal was something else or the lookup fails.
 */
export async function explainMissingMfa(
  error: unknown,
  options: IamClientConfig & { configProfile: string },
): Promise<unknown> {
  if (!(error instanceof UserError)) return error;
  if ((await classifyAwsError(error.cause, "sts")).kind !== "access-denied") return error;
  let devices: MfaDevice[];
  const client = await createIamClient(options);
  try {
    devices = await listMfaDevices(client, options);
  } catch {
    return error;
  } finally {
    client.destroy();
  }
  // Without a device, MFA is not the likely cause: the original hint stands.
  if (devices.length === 0) return error;
  const hint = `if its trust policy requires MFA, pass --mfa-serial ${devices[0].serial} (or ` +
    `set TIMEBOUND_IAM_MFA_SERIAL, or "mfaSerial" for profile "${options.configProfile}" in the ` +
    "config file)";
  return new RuntimeError(error.message, { cause: error.cause, detail: error.detail, hint });
}

/** A virtual MFA device just created: its serial and seed (secret: never printed by default). */
export interface NewVirtualDevice {
  /** The serial (ARN). */
  serial: string;
  /** The Base32 seed an authenticator app needs. Secret. */
  base32Seed: string;
  /** AWS's picture of the QR code (PNG), which holds the seed too. */
  qrPng: Uint8Array;
}

/** `iam:CreateVirtualMFADevice` named `name` (the user name, by convention). */
export async function createVirtualMfaDevice(
  client: IAMClient,
  name: string,
  options: { profile?: string } = {},
): Promise<NewVirtualDevice> {
  const { CreateVirtualMFADeviceCommand, EntityAlreadyExistsException } = await import(
    "@aws-sdk/client-iam"
  );
  let out;
  try {
    out = await client.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: name }));
  } catch (error) {
    if (error instanceof EntityAlreadyExistsException) {
      throw new RuntimeError(`A virtual MFA device named "${name}" exists already`, {
        cause: error,
        hint: "pass --device-name NAME, or delete the unused one: aws iam " +
          "delete-virtual-mfa-device --serial-number arn:aws:iam::ACCOUNT:mfa/" + name,
      });
    }
    throw await explainAwsError(error, {
      operation: "CreateVirtualMFADevice",
      profile: options.profile,
    });
  }
  const device = out.VirtualMFADevice;
  if (!device?.SerialNumber || !device.Base32StringSeed) {
    throw new RuntimeError("CreateVirtualMFADevice returned no device");
  }
  return {
    serial: device.SerialNumber,
    base32Seed: new TextDecoder().decode(device.Base32StringSeed),
    qrPng: device.QRCodePNG ?? new Uint8Array(),
  };
}

/** `iam:EnableMFADevice` for `userName` with two consecutive codes. */
export async function enableMfaDevice(
  client: IAMClient,
  request: { userName: string; serial: string; code1: string; code2: string; profile?: string },
): Promise<void> {
  const { EnableMFADeviceCommand, InvalidAuthenticationCodeException } = await import(
    "@aws-sdk/client-iam"
  );
  try {
    await client.send(
      new EnableMFADeviceCommand({
        UserName: request.userName,
        SerialNumber: request.serial,
        AuthenticationCode1: request.code1,
        AuthenticationCode2: request.code2,
      }),
    );
  } catch (error) {
    if (error instanceof InvalidAuthenticationCodeException) {
      throw new RuntimeError("AWS refused the two codes: they must be two consecutive codes", {
        cause: error,
        hint: "wait for a fresh code, type it, then wait for the next one and type that",
      });
    }
    throw await explainAwsError(error, { operation: "EnableMFADevice", profile: request.profile });
  }
}

/** `iam:DeleteVirtualMFADevice`, for a device that was never enabled. */
export async function deleteVirtualMfaDevice(
  client: IAMClient,
  serial: string,
  options: { profile?: string } = {},
): Promise<void> {
  const { DeleteVirtualMFADeviceCommand } = await iamModule();
  try {
    await client.send(new DeleteVirtualMFADeviceCommand({ SerialNumber: serial }));
  } catch (error) {
    throw await explainAwsError(error, {
      operation: "DeleteVirtualMFADevice",
      profile: options.profile,
    });
  }
}
