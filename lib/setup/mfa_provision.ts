/**
 * The story of `mfa provision` (aws-session's `provision-mfa`): create a virtual MFA device for
 * the calling IAM user, show its QR code in the terminal (or write AWS's picture of it to a
 * file), ask for two consecutive codes and enable it. The secret is printed only when asked for;
 * if anything fails after the device was created, the device is deleted again.
 *
 * @module
 */

import { connectBroker, resolveRegion } from "../aws/broker.ts";
import { createIamClient } from "../aws/credential_source.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import {
  createVirtualMfaDevice,
  deleteVirtualMfaDevice,
  enableMfaDevice,
} from "../aws/mfa_devices.ts";
import { dirname, resolve } from "node:path";
import { RuntimeError, UsageError, UserError } from "../core/errors.ts";
import type { Io } from "../core/io.ts";
import { verifyParentDirectory } from "../core/private_dir.ts";
import { signalExitCode, watchStopSignals } from "../core/signals.ts";
import { pauseWaitingLines, waitingLine } from "../core/waiting_line.ts";
import { resolveGrantSettings } from "../grant/settings.ts";

/** The flags of `mfa provision`. */
export interface ProvisionFlags {
  /** `--profile`: whose IAM user gets the device. */
  profile?: string;
  /** `--region`. */
  region?: string;
  /** `--device-name` (default: the user name). */
  deviceName?: string;
  /** `--qr-png FILE`: write the QR code as a PNG instead of drawing it. */
  qrPng?: string;
  /** `--show-secret`: print the Base32 secret too. */
  showSecret?: boolean;
}

/** The seams of `mfa provision`. */
export interface ProvisionDeps {
  /** Asks for a six-digit code with this question. */
  askCode: (question: string) => Promise<string>;
}

/**
 * Creates, shows and enables a virtual MFA device for the caller; prints its serial on stdout
 * and the next step on stderr.
 */
export async function provisionMfaDevice(
  io: Io,
  flags: ProvisionFlags,
  deps: ProvisionDeps,
): Promise<string> {
  if (flags.deviceName !== undefined && !/^[\w+=,.@-]{1,226}$/.test(flags.deviceName)) {
    throw new UsageError(`Invalid device name "${flags.deviceName.slice(0, 80)}"`, {
      hint: "use letters, digits and +=,.@_- (226 at most)",
    });
  }
  // Checked before the device exists: a device created for nobody to scan is left to delete.
  if (!io.stdinIsTerminal) {
    throw new UsageError("mfa provision asks for two codes and needs a terminal", {
      hint: "run it in a terminal",
    });
  }
  if (flags.qrPng === undefined && !io.stderrIsTerminal) {
    throw new UsageError("The QR code holds the device's secret and is drawn only on a terminal", {
      hint: "pass --qr-png FILE, or run it with stderr on a terminal",
    });
  }
  const settings = await resolveGrantSettings(flags, io.env);
  const region = await resolveRegion({
    profile: flags.profile,
    region: settings.region,
    env: io.env,
  });
  // On a terminal, a wait for AWS of more than a second says so (never while a code is asked).
  const waiting = waitingLine(io);
  const broker = await waiting.run(
    "AWS STS",
    () => connectBroker({ profile: flags.profile, region, env: io.env }),
  );
  broker.client.destroy();
  const user = /^arn:[\w-]+:iam::\d{12}:user\/(?:.*\/)?([\w+=,.@-]+)$/.exec(broker.callerArn);
  if (user === null) {
    throw new UsageError(
      `mfa provision needs an IAM user's own keys, and the caller is ${broker.callerArn}`,
      { hint: "pass --profile NAME of an IAM user's access keys" },
    );
  }
  const userName = user[1];
  const iam = await createIamClient({
    region,
    profile: flags.profile,
    timeoutMs: awsTimeoutMs(io.env),
  });
  try {
    // From creation to enabling, a closing terminal or Ctrl-C must not leave the device behind.
    const stop = watchStopSignals();
    const interrupted = stop.signal.then((signal): never => {
      throw new UserError(`Interrupted by ${signal}`, signalExitCode(signal));
    });
    interrupted.catch(() => {}); // handled by the race below; never an unhandled rejection
    const device = await waiting.run(
      "AWS IAM",
      () => createVirtualMfaDevice(iam, flags.deviceName ?? userName, flags),
    );
    try {
      // The line covers the race, so that an interruption erases it before the delete below.
      await waiting.run("AWS IAM", () =>
        Promise.race([
          interrupted,
          (async () => {
            // The QR code and both codes are one question: no line between them.
            const [code1, code2] = await pauseWaitingLines(async () => {
              await showDevice(io, device, { ...flags, userName, account: broker.account });
              const first = await deps.askCode("First code from the app: ");
              return [first, await deps.askCode("The next code (wait for it to change): ")];
            });
            await enableMfaDevice(iam, { userName, serial: device.serial, code1, code2, ...flags });
          })(),
        ]));
    } catch (error) {
      // Without the line: after a hangup no terminal is left to write it to.
      await deleteVirtualMfaDevice(iam, device.serial, flags).then(
        () => io.stderr(`The new device ${device.serial} was deleted again.\n`),
        () =>
          io.stderr(
            `The new device ${device.serial} could not be deleted: delete it with ` +
              `aws iam delete-virtual-mfa-device --serial-number ${device.serial}\n`,
          ),
      );
      throw error;
    } finally {
      stop.dispose();
    }
    io.stdout(`${device.serial}\n`);
    io.stderr(
      `MFA device enabled for ${userName}.\nnext: timebound-iam mfa login --mfa-serial ` +
        `${device.serial}\n  (or put "mfa_serial = ${device.serial}" in the profile in ` +
        "~/.aws/config, and the serial is found by itself)\n",
    );
    return device.serial;
  } finally {
    iam.destroy();
  }
}

async function showDevice(
  io: Io,
  device: { serial: string; base32Seed: string; qrPng: Uint8Array },
  options: ProvisionFlags & { userName: string; account: string },
): Promise<void> {
  if (options.qrPng !== undefined) {
    await writePrivateFile(options.qrPng, device.qrPng);
    io.stderr(
      `The QR code is in ${options.qrPng}: scan it with your authenticator app, then delete ` +
        "the file (it holds the secret).\n",
    );
  } else {
    const label = `Amazon Web Services:${options.userName}@${options.account}`;
    const uri = `otpauth://totp/${encodeURIComponent(label)}?secret=${device.base32Seed}` +
      "&issuer=Amazon%20Web%20Services";
    io.stderr("Scan this QR code with your authenticator app:\n");
    io.stderr(await renderQr(uri));
  }
  if (options.showSecret) io.stderr(`Secret (Base32): ${device.base32Seed}\n`);
  else if (options.qrPng === undefined) {
    io.stderr("(An app that cannot scan needs the secret key: run again with --show-secret.)\n");
  }
}

/** Draws a QR code with half-block characters; the QR library is loaded only here. */
async function renderQr(text: string): Promise<string> {
  const { default: qrcode } = await import("qrcode");
  // The package ships no types; this is the one call used.
  const QRCode = qrcode as unknown as {
    toString(text: string, options: { type: "terminal"; small: boolean }): Promise<string>;
  };
  return await QRCode.toString(text, { type: "terminal", small: true });
}

async function writePrivateFile(path: string, bytes: Uint8Array): Promise<void> {
  // Another user must not be able to swap the picture of the secret: the directory is checked
  // like every directory we write to, and the file is created new (never through a symlink).
  const absolute = resolve(path);
  verifyParentDirectory(dirname(absolute));
  try {
    const file = await Deno.open(absolute, { createNew: true, write: true, mode: 0o600 });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    } finally {
      file.close();
    }
  } catch (error) {
    const reason = error instanceof Deno.errors.AlreadyExists
      ? "it exists already"
      : (error as Error).message.split("\n")[0];
    throw new RuntimeError(`Cannot write the QR code to "${path}": ${reason}`, {
      cause: error,
      hint: "name a new file (it is created 0600 and never overwritten)",
    });
  }
}
