/**
 * Two AWS CLI calls made with the AWS SDK for JavaScript instead, configured from the
 * environment alone (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM`, the keys, the region):
 * `sts get-caller-identity` and `iam get-role --role-name NAME`. A test that needs a client
 * honouring the endpoint variables runs this where the AWS CLI predates them (see
 * {@linkcode endpointVariablesClient}). It prints the CLI's JSON (`Arn`, `Account`, `UserId`;
 * `Role`); an AWS error prints the CLI's line `An error occurred (CODE) when calling the
 * OPERATION operation: MESSAGE` on stderr and exits 254, as the AWS CLI v2 does.
 *
 * Usage: `deno run -A --config deno.json tests/support/sdk_call.ts sts get-caller-identity`
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/**
 * The command that runs `aws ARGS` against the endpoint variables on this machine: `aws` itself
 * when its version honours `AWS_ENDPOINT_URL_<SERVICE>` (v1 from 1.29, v2 from 2.13), else this
 * script under Deno. `undefined` when no `aws` runs at all.
 */
export async function endpointVariablesClient(): Promise<string[] | undefined> {
  const version = await awsCliVersion();
  if (version === undefined) return undefined;
  return honoursEndpointVariables(version)
    ? ["aws"]
    : [Deno.execPath(), "run", "-A", "--no-prompt", "--config", CONFIG, SELF];
}

/** `aws --version`'s version (`1.45.11`, `2.9.19`), or `undefined` when `aws` does not run. */
export async function awsCliVersion(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("aws", {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    // v1 printed its version on stderr before 1.17; later ones and v2 on stdout.
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return out.success ? /aws-cli\/(\d+\.\d+\.\d+)/.exec(text)?.[1] : undefined;
  } catch {
    return undefined;
  }
}

/** Whether an AWS CLI of `version` reads `AWS_ENDPOINT_URL_<SERVICE>` (v1 ≥ 1.29, v2 ≥ 2.13). */
export function honoursEndpointVariables(version: string): boolean {
  const [major, minor] = version.split(".").map(Number);
  if (major === 1) return minor >= 29;
  if (major === 2) return minor >= 13;
  return major > 2;
}

async function main(args: string[]): Promise<number> {
  const command = args.slice(0, 2).join(" ");
  try {
    if (command === "sts get-caller-identity") {
      const { GetCallerIdentityCommand, STSClient } = await import("@aws-sdk/client-sts");
      const client = new STSClient({ maxAttempts: 1 });
      try {
        const { Arn, Account, UserId } = await client.send(new GetCallerIdentityCommand({}));
        print({ UserId, Account, Arn });
      } finally {
        client.destroy();
      }
      return 0;
    }
    const roleName = args[2] === "--role-name" ? args[3] : undefined;
    if (command === "iam get-role" && roleName !== undefined) {
      const { GetRoleCommand, IAMClient } = await import("@aws-sdk/client-iam");
      const client = new IAMClient({ maxAttempts: 1 });
      try {
        const { Role } = await client.send(new GetRoleCommand({ RoleName: roleName }));
        print({ Role });
      } finally {
        client.destroy();
      }
      return 0;
    }
  } catch (error) {
    const { name, message } = error as Error;
    const code = name.replace(/Exception$/, "");
    const operation = command === "iam get-role" ? "GetRole" : "GetCallerIdentity";
    await write(
      Deno.stderr,
      `\nAn error occurred (${code}) when calling the ${operation} ` +
        `operation: ${message}\n`,
    );
    return 254;
  }
  await write(Deno.stderr, `sdk_call.ts: unsupported command: ${args.join(" ")}\n`);
  return 2;
}

function print(value: unknown): Promise<void> {
  return write(Deno.stdout, JSON.stringify(value, null, 4) + "\n");
}

async function write(to: { write(p: Uint8Array): Promise<number> }, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  while (done < bytes.length) done += await to.write(bytes.subarray(done));
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
