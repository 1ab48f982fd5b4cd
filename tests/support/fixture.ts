/**
 * One disposable fixture for a test: a private temporary HOME (with empty AWS config files), the
 * local AWS endpoint, and the environment that points the CLI at both. Everything a test
 * touches is its own, so test files can run in parallel (`deno test --parallel`): no fixed port,
 * no write to `Deno.env`, no change of the working directory, no shared directory.
 *
 * `fx.run` runs the real CLI (see {@linkcode runCli}) in that environment, and fails the test
 * when its stderr shows any secret the endpoint knows (base keys, issued keys and tokens, MFA
 * seeds, the MFA codes it was sent); `fx.assertNoSecret` checks any other output the same way.
 * Leaving the `await using` block closes the endpoint and removes HOME.
 *
 * @example
 * ```ts ignore
 * import { startFixture } from "./support/fixture.ts";
 *
 * Deno.test("exec grants s3:ro", async () => {
 *   await using fx = await startFixture();
 *   const result = await fx.run(["exec", "--no-confirm", "-s", "s3:ro", "--", "true"]);
 *   assert.equal(result.code, 0, result.stderr);
 *   assert.equal(fx.aws.requests.at(-1)?.action, "AssumeRole");
 * });
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { baseEnv, type CliResult, runCli, type RunOptions } from "./cli.ts";
import { LocalAws, type LocalAwsOptions, type LocalCredentials } from "./local_aws.ts";

/** A temporary directory, removed with everything in it at the end of an `await using` block. */
export interface TempDir extends AsyncDisposable {
  /** The directory's path (0700, as `Deno.makeTempDir` makes it). */
  readonly path: string;
}

/**
 * Makes a temporary directory for one test: `await using dir = await tempDir("tbi-x-")`.
 */
export async function tempDir(prefix = "tbi-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Options of {@linkcode startFixture}. */
export interface FixtureOptions {
  /**
   * How to start the local endpoint, or `false` for none: then the environment carries no AWS
   * keys and no endpoint, and `fx.aws` throws. Default: started with its defaults.
   */
  aws?: LocalAwsOptions | false;
  /** The credentials the environment carries (default: the endpoint's default user). */
  caller?: (aws: LocalAws) => LocalCredentials;
  /**
   * More variables for the CLI, over HOME and the endpoint's; or a function that makes them from
   * the HOME path and the endpoint (`undefined` with `aws: false`).
   */
  env?:
    | Record<string, string>
    | ((home: string, aws: LocalAws | undefined) => Record<string, string>);
  /** The temporary HOME's name prefix, to tell a leftover directory's test. */
  prefix?: string;
}

/** What {@linkcode startFixture} made; disposing of it closes the endpoint and removes HOME. */
export interface Fixture extends AsyncDisposable {
  /** The private HOME (0700, removed at the end), holding `.aws/config` and `.aws/credentials`. */
  readonly home: string;
  /** The local endpoint (throws when the fixture was started with `aws: false`). */
  readonly aws: LocalAws;
  /**
   * The variables a test adds to the CLI's clean environment: `HOME`, the endpoint's
   * (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL_IAM`, the keys, the region) and `options.env`.
   */
  readonly env: Record<string, string> & { HOME: string };
  /**
   * The whole clean environment of a child started with `clearEnv: true`: the base of
   * {@linkcode baseEnv} (PATH, HOME, AWS config files, Deno cache…) with {@linkcode Fixture.env}.
   */
  readonly childEnv: Record<string, string>;
  /** A path inside HOME: `fx.path(".aws", "config")`. */
  path(...parts: string[]): string;
  /**
   * Runs `timebound-iam ARGS` in the fixture's environment (`options.env` added over it), and
   * checks that its stderr holds no secret the endpoint knows.
   */
  run(args: readonly string[], options?: RunOptions): Promise<CliResult>;
  /**
   * Fails when a text holds a secret the endpoint knows or an MFA code it was sent (nothing to
   * check without an endpoint).
   */
  assertNoSecret(...texts: string[]): void;
}

/**
 * Makes a private HOME, starts the local endpoint (unless `aws: false`) and returns the
 * fixture; use it with `await using fx = await startFixture()`.
 */
export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const home = await Deno.makeTempDir({ prefix: options.prefix ?? "tbi-test-" });
  let aws: LocalAws | undefined;
  try {
    if (options.aws !== false) aws = await LocalAws.start(options.aws ?? {});
    const env: Record<string, string> & { HOME: string } = {
      HOME: home,
      ...(aws ? aws.env(options.caller?.(aws)) : {}),
      ...(typeof options.env === "function" ? options.env(home, aws) : options.env),
    };
    const childEnv = { ...await baseEnv(home), ...env };
    return new TestFixture(home, aws, env, childEnv);
  } catch (error) {
    await aws?.close();
    await Deno.remove(home, { recursive: true });
    throw error;
  }
}

class TestFixture implements Fixture {
  readonly #aws: LocalAws | undefined;

  constructor(
    readonly home: string,
    aws: LocalAws | undefined,
    readonly env: Record<string, string> & { HOME: string },
    readonly childEnv: Record<string, string>,
  ) {
    this.#aws = aws;
  }

  get aws(): LocalAws {
    if (this.#aws === undefined) throw new Error("This fixture was started with aws: false");
    return this.#aws;
  }

  path(...parts: string[]): string {
    return join(this.home, ...parts);
  }

  async run(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
    const result = await runCli(args, { ...options, env: { ...this.env, ...options.env } });
    this.#check(result.stderr, `the stderr of ${args.join(" ")}`);
    return result;
  }

  assertNoSecret(...texts: string[]): void {
    for (const text of texts) this.#check(text, "the output");
  }

  #check(text: string, where: string): void {
    const aws = this.#aws;
    if (aws === undefined) return;
    const codes = aws.requests.flatMap((r) =>
      [r.params.TokenCode, r.params.AuthenticationCode1, r.params.AuthenticationCode2]
        .filter((code): code is string => code !== undefined)
    );
    for (const secret of [...aws.issuedSecrets(), ...codes]) {
      assert.ok(!text.includes(secret), `a secret or MFA code reached ${where}`);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.#aws?.close();
    } finally {
      await Deno.remove(this.home, { recursive: true });
    }
  }
}
