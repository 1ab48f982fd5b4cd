/**
 * Start-up and end-to-end timings of the CLI, as medians of several runs (wall clock, whole
 * processes, the cases taking turns): `--version` and `policy -s s3:ro` against `deno run` of an
 * empty file; `exec --no-confirm … -- true` (role ARN in the environment, or in the config file;
 * the key seen before: one AssumeRole) against the least a Deno program can do for a grant
 * (`bench_assume_role.ts`: `@aws-sdk/client-sts`, one AssumeRole), and against one
 * `aws sts assume-role`; all on the local STS endpoint.
 *
 * Run: `deno task bench` (21 rounds; `-- --runs 41` for more); on the binaries, where
 * `deno compile` can run:
 * `deno task compile && deno task bench:compile && deno task bench -- --compiled dist`.
 * `-- --against DIR` also times `exec` from another checkout of the repository (its own
 * `deno.json`, same flags), in the same rounds: whether start-up got slower than there, e.g.
 * `git worktree add /tmp/before <commit> && deno task bench -- --against /tmp/before`.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { baseEnv, cliCommand, RUN_FLAGS } from "../tests/support/cli.ts";
import { LocalAws } from "../tests/support/local_aws.ts";

const ASSUME_ROLE_SCRIPT = fileURLToPath(new URL("./bench_assume_role.ts", import.meta.url));
// 21 rounds by default: with 11 the medians moved by ±2–3% from run to run on a 2-core machine.
const RUNS = Number(flagValue("--runs", (text) => /^[1-9]\d{0,3}$/.test(text), "1 to 9999") ?? 21);
// --compiled DIR: time the binaries `deno task compile` and `bench:compile` wrote to DIR instead
// of `deno run` (what users of a release run; `deno compile` needs its runtime downloaded).
const COMPILED = flagValue("--compiled", isDirectory, "a directory");
const EXE = Deno.build.os === "windows" ? ".exe" : "";
// --against DIR: another checkout whose exec runs in the same rounds, for a before/after.
const AGAINST = flagValue(
  "--against",
  (dir) => isFile(join(dir, "main.ts")) && isFile(join(dir, "deno.json")),
  "a checkout of timebound-iam (with main.ts and deno.json)",
);

/** The value after `flag`, checked; a missing or bad one is one line on stderr and exit 2. */
function flagValue(
  flag: string,
  valid: (text: string) => boolean,
  expected: string,
): string | undefined {
  const at = Deno.args.indexOf(flag);
  if (at < 0) return undefined;
  const value = Deno.args[at + 1];
  if (value !== undefined && !value.startsWith("--") && valid(value)) return value;
  const shown = value === undefined ? "nothing" : `"${value}"`;
  Deno.stderr.writeSync(
    new TextEncoder().encode(`error: ${flag} takes ${expected}, not ${shown}\n`),
  );
  Deno.exit(2);
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** How to start the CLI: the compiled binary, or `deno run` as the tests do. */
function cli(args: string[]): [string, string[]] {
  return COMPILED ? [join(COMPILED, `timebound-iam${EXE}`), args] : cliCommand(args);
}

/**
 * How to start `exec` from the checkout in `dir`: `deno run` with the CLI's flags and that
 * checkout's own `deno.json` (its imports and permission sets).
 */
function cliOf(dir: string, args: string[]): [string, string[]] {
  const flags = RUN_FLAGS.map((flag) => flag.endsWith("deno.json") ? join(dir, "deno.json") : flag);
  return [Deno.execPath(), ["run", ...flags, "--no-prompt", join(dir, "main.ts"), ...args]];
}

/** How to start the baseline: its compiled binary, or `deno run` with the CLI's flags. */
function assumeRoleBaseline(): [string, string[]] {
  return COMPILED
    ? [join(COMPILED, `bench-assume-role${EXE}`), []]
    : [Deno.execPath(), ["run", ...RUN_FLAGS, "--no-prompt", ASSUME_ROLE_SCRIPT]];
}

async function time(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<number> {
  const start = performance.now();
  const output = await new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - start;
  if (!output.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return elapsed;
}

/** One timed command. */
interface Case {
  label: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * The median wall time of each case, and each case's times in round order. Every case runs once
 * to warm the caches, then the cases take turns, round after round, in a new random order each
 * round, so that a change in the machine's load, or what ran just before, weighs on all alike.
 */
async function medians(cases: readonly Case[]): Promise<{ medians: number[]; rounds: number[][] }> {
  for (const c of cases) await time(c.command, c.args, c.env);
  const rounds: number[][] = cases.map(() => []);
  for (let round = 0; round < RUNS; round++) {
    for (const i of shuffled(cases.map((_, i) => i))) {
      const c = cases[i];
      rounds[i].push(await time(c.command, c.args, c.env));
    }
  }
  const values = rounds.map((times, i) => {
    const sorted = [...times].sort((a, b) => a - b);
    const value = median(times);
    const line = `${cases[i].label.padEnd(44)} median ${value.toFixed(0).padStart(5)} ms  ` +
      `(min ${sorted[0].toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}, ${RUNS} runs)\n`;
    Deno.stdout.writeSync(new TextEncoder().encode(line));
    return value;
  });
  return { medians: values, rounds };
}

/** The numbers in a random order (Fisher–Yates). */
function shuffled(values: number[]): number[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  return values;
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * The median of the rounds' own ratios `a[i] / b[i]`: the two ran back to back in each round, so
 * a slow spell of the machine (which moves both) moves this less than the ratio of medians.
 */
function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((value, i) => value / b[i]));
}

const home = await Deno.makeTempDir({ prefix: "tbi-bench-" });
const aws = await LocalAws.start();
try {
  // The role ARN is known (as after setup aws --apply), so exec needs no GetCallerIdentity once
  // the key has been seen (the warm-up run of each median sees it).
  const env: Record<string, string> = {
    ...await baseEnv(home),
    ...aws.env(),
    TIMEBOUND_IAM_ROLE_ARN: aws.brokerRoleArn,
  };
  const empty = `${home}/empty.ts`;
  await Deno.writeTextFile(empty, "");

  // The role ARN in the config file instead, as `setup aws --apply` leaves it: the file is read
  // and validated on every grant.
  const configFile = `${home}/config.json`;
  await Deno.writeTextFile(
    configFile,
    JSON.stringify({ profiles: { default: { roleArn: aws.brokerRoleArn } } }),
    { mode: 0o600 },
  );
  const { TIMEBOUND_IAM_ROLE_ARN: _, ...withoutRole } = env;
  const configEnv = { ...withoutRole, TIMEBOUND_IAM_CONFIG: configFile };
  const grant = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"];
  const run = (label: string, [command, args]: [string, string[]], caseEnv = env): Case => ({
    label,
    command,
    args,
    env: caseEnv,
  });
  const cases = [
    run("deno run (empty file)", [Deno.execPath(), ["run", "-q", empty]]),
    run("timebound-iam --version", cli(["--version"])),
    run("timebound-iam policy -s s3:ro", cli(["policy", "-s", "s3:ro"])),
    run("timebound-iam exec -s s3:ro -t 15m -- true", cli(grant)),
    run("  … role ARN from the config file", cli(grant), configEnv),
    run("one AssumeRole with client-sts (baseline)", assumeRoleBaseline()),
    run("aws sts assume-role", ["aws", [
      "--endpoint-url",
      aws.url,
      "sts",
      "assume-role",
      "--role-arn",
      aws.brokerRoleArn,
      "--role-session-name",
      "bench",
    ]]),
  ];
  if (AGAINST) cases.push(run(`exec from ${AGAINST}`, cliOf(AGAINST, grant)));
  const { medians: timed, rounds } = await medians(cases);
  const [baseline, version, policy, exec, execConfigured, sdk, awsCli, execThere] = timed;
  const before = aws.requests.length;
  const execOnce = await time(...cli(grant), env);
  const sent = aws.requests.slice(before).map((r) => r.action).join(", ");
  const summary = [
    COMPILED
      ? `timebound-iam and the baseline: the binaries in ${COMPILED}`
      : `timebound-iam and the baseline: deno run ${RUN_FLAGS.join(" ")}`,
    `--version: +${(version - baseline).toFixed(0)} ms over an empty deno run`,
    `policy -s s3:ro: +${(policy - baseline).toFixed(0)} ms over an empty deno run`,
    `exec sends: ${sent} (one run, ${execOnce.toFixed(0)} ms)`,
    `exec / one AssumeRole from Deno: ${(exec / sdk).toFixed(2)} (goal: 1.15 or less); ` +
    `with the role ARN from the config file: ${(execConfigured / sdk).toFixed(2)}`,
    `  the same, as the median of each round's own ratio: ${
      pairedRatio(rounds[3], rounds[5]).toFixed(2)
    }; with the config file: ${pairedRatio(rounds[4], rounds[5]).toFixed(2)}`,
    `exec / aws sts assume-role: ${(exec / awsCli).toFixed(2)} (goal: 0.25 or less)`,
    ...(AGAINST
      ? [
        `exec / exec from ${AGAINST}: ${(exec / execThere).toFixed(2)}; as the median of each ` +
        `round's own ratio: ${pairedRatio(rounds[3], rounds[7]).toFixed(2)}`,
      ]
      : []),
  ];
  await Deno.stdout.write(new TextEncoder().encode(`\n${summary.join("\n")}\n`));
} finally {
  await aws.close();
  await Deno.remove(home, { recursive: true });
}
