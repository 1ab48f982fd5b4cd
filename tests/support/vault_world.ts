/**
 * The world of the vault's tests: a private HOME and the local endpoint, with the human's keys
 * nowhere but where a test puts them, the file backend and its passphrase, and every output
 * collected to check for secrets at the end.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runCli } from "./cli.ts";
import type { LocalAws } from "./local_aws.ts";
import { startFixture } from "./fixture.ts";

/** The passphrase of the vault file in every world. */
export const PASSPHRASE = "correct horse battery staple";

/** A private HOME, the endpoint, and every output collected to check for secrets at the end. */
export interface World extends AsyncDisposable {
  aws: LocalAws;
  home: string;
  /** The environment of every run: endpoint and HOME, no keys, the file backend. */
  env: Record<string, string>;
  /** Runs the CLI in the world and collects what it printed. */
  run(args: string[], extra?: Record<string, string>): ReturnType<typeof runCli>;
  outputs: string[];
}

/** A world: the fixture's HOME and endpoint, with `options.env` over its environment. */
export async function world(options: { env?: Record<string, string> } = {}): Promise<World> {
  const fx = await startFixture({ prefix: "tbi-keys-" });
  // The human's keys are nowhere but where a test puts them: not in the environment.
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...endpoint } = fx.env;
  const env = {
    ...endpoint,
    TIMEBOUND_IAM_VAULT_BACKEND: "file",
    TIMEBOUND_IAM_VAULT_PASSPHRASE: PASSPHRASE,
    ...options.env,
  };
  const outputs: string[] = [];
  return {
    aws: fx.aws,
    home: fx.home,
    env,
    outputs,
    async run(args, extra = {}) {
      const result = await runCli(args, { env: { ...env, ...extra } });
      outputs.push(result.stdout, result.stderr);
      return result;
    },
    [Symbol.asyncDispose]: () => fx[Symbol.asyncDispose](),
  };
}

/** No secret the endpoint knows, and no full access key id, in any output of the world. */
export function assertNoSecrets(w: World, extra: string[] = []): void {
  const ids = w.aws.requests.map((r) => r.accessKeyId).filter((id): id is string => !!id);
  for (const secret of [...w.aws.issuedSecrets(), ...ids, ...extra]) {
    for (const output of w.outputs) {
      assert.ok(!output.includes(secret), `a secret or key id reached an output: ${output}`);
    }
  }
}

/** Every file under `dir` (recursively) that contains any of `secrets`. */
export async function filesHolding(dir: string, secrets: string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await filesHolding(path, secrets));
    else if (entry.isFile) {
      const text = await Deno.readTextFile(path).catch(() => "");
      if (secrets.some((secret) => text.includes(secret))) found.push(path);
    }
  }
  return found;
}

/** Adds the default user's keys to the vault as profile `dev`, then removes every plain copy. */
export async function addDevKeys(w: World): Promise<void> {
  const user = w.aws.defaultUser;
  const added = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: user.accessKeyId,
    AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
  });
  assert.equal(added.code, 0, added.stderr);
  await Deno.remove(`${w.home}/.aws/credentials`);
}
