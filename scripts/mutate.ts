// deno-lint-ignore-file no-console -- a script: the console is where it reports
/**
 * `deno task mutate [module…]`: mutation testing of the pure modules with Stryker. For each
 * module, Stryker changes the code one mutant at a time (a flipped condition, an emptied string,
 * a removed statement…) and runs that module's unit tests and its own doc examples with
 * `deno test --doc` (both are part of `deno task test`); a mutant they do not notice "survives". Prints the score of each module (killed ÷ all, 85% wanted) and every
 * survivor. Stryker (Node) is installed into `tools/mutate/` from its lock file on first use. Not
 * part of `deno task test`: it runs the tests hundreds of times.
 *
 * @module
 */

import { cp } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The pure modules, each with the unit tests that are meant to pin it down. */
export const MUTATED_MODULES: Readonly<Record<string, readonly string[]>> = {
  "lib/request/scope.ts": [
    "tests/scope_ttl_test.ts",
    "tests/resource_scope_test.ts",
    "tests/allow_list_test.ts",
  ],
  "lib/request/ttl.ts": ["tests/scope_ttl_test.ts"],
  "lib/request/session_policy.ts": [
    "tests/session_policy_test.ts",
    "tests/policy_semantics_test.ts",
    "tests/content_actions_test.ts",
  ],
  "lib/request/catalog.ts": ["tests/catalog_test.ts", "tests/session_policy_test.ts"],
  "lib/request/allow_list.ts": ["tests/allow_list_test.ts", "tests/resource_scope_test.ts"],
  "lib/delivery/shell_env.ts": ["tests/shell_env_test.ts"],
  "lib/mcp/rate_limit.ts": ["tests/rate_limit_test.ts"],
  "lib/delivery/credential_env.ts": ["tests/credential_env_test.ts"],
  "lib/grant/config_file.ts": ["tests/config_test.ts"],
  "lib/grant/config_schema.ts": ["tests/config_test.ts"],
  "lib/setup/broker_role.ts": ["tests/broker_role_test.ts"],
  "lib/mcp/context.ts": ["tests/mcp_context_test.ts"],
  "lib/request/content_actions.ts": [
    "tests/content_actions_test.ts",
    "tests/session_policy_test.ts",
  ],
  "lib/aws/console_url.ts": ["tests/console_url_test.ts"],
  "lib/core/sigv4.ts": ["tests/sigv4_test.ts"],
  "lib/delivery/aws_chunked.ts": ["tests/aws_chunked_test.ts"],
  "lib/delivery/aws_endpoints.ts": ["tests/aws_endpoints_test.ts"],
  "lib/delivery/call_record.ts": ["tests/call_record_test.ts"],
  "lib/delivery/proxy_refusal.ts": ["tests/proxy_refusal_test.ts"],
  "lib/vault/sealed_box.ts": ["tests/sealed_box_test.ts", "tests/vault_file_test.ts"],
  "lib/grant/settings.ts": ["tests/config_test.ts", "tests/granter_test.ts"],
  "lib/grant/config_shape.ts": ["tests/config_test.ts"],
  "lib/delivery/answer_scrub.ts": ["tests/answer_scrub_test.ts"],
  "lib/request/learned_scopes.ts": ["tests/learned_scopes_test.ts"],
  "lib/aws/expiration.ts": ["tests/expiration_test.ts", "tests/sts_expiration_test.ts"],
  "lib/delivery/call_tally.ts": ["tests/call_tally_test.ts", "tests/calls_through_proxy_test.ts"],
  "lib/core/time_text.ts": ["tests/time_text_test.ts"],
  "lib/aws/endpoint_url.ts": ["tests/endpoint_url_test.ts"],
  "lib/core/log_text.ts": ["tests/log_text_test.ts"],
  "lib/core/waiting_line.ts": ["tests/waiting_line_timing_test.ts"],
  "lib/cli/call_report.ts": ["tests/call_report_test.ts"],
  "lib/request/resource.ts": ["tests/resource_scope_test.ts"],
  "lib/aws/sts_query.ts": ["tests/sts_query_test.ts"],
  "lib/aws/known_keys.ts": ["tests/known_keys_test.ts"],
};

/** The score a module should reach, in percent. */
export const TARGET_SCORE = 85;

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TOOLS = join(ROOT, "tools", "mutate");
const STRYKER = join(TOOLS, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js");

/** A position in a file as Stryker's JSON report gives it (both 1-based). */
export interface Position {
  line: number;
  column: number;
}

/** One mutant as Stryker's JSON report gives it. */
export interface Mutant {
  status: string;
  mutatorName: string;
  replacement?: string;
  location: { start: Position; end: Position };
}

/** Stryker's JSON report: each mutated file's source and mutants. */
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

/** The source with one mutant applied. */
export function applyMutant(source: string, mutant: Mutant): string {
  const lines = source.split("\n");
  const offset = ({ line, column }: Position) =>
    lines.slice(0, line - 1).reduce((n, text) => n + text.length + 1, 0) + column - 1;
  const { start, end } = mutant.location;
  return source.slice(0, offset(start)) + (mutant.replacement ?? "") + source.slice(offset(end));
}

/**
 * Marks the survivors that do not type-check as `CompileError` (not counted): the mutants run
 * without type checking, so a survivor such as `level: ""` where the type allows only
 * `"list" | "ro" | "full"` is one that `deno check` (part of every CI run) already refuses.
 * Each is checked in a copy of `lib/`, so the worktree is never changed.
 */
async function dropTypeInvalid(module: string, report: Report, work: string): Promise<void> {
  const survivors = Object.values(report.files).flatMap((file) =>
    file.mutants.filter((m) => m.status === "Survived").map((m) => ({ file, m }))
  );
  if (survivors.length === 0) return;
  const copy = join(work, "tree");
  for (const part of ["lib", "deno.json", "deno.lock"]) {
    await cp(join(ROOT, part), join(copy, part), { recursive: true });
  }
  const target = join(copy, module);
  const checks = async () =>
    (await new Deno.Command("deno", {
      args: ["check", "-q", "--config", join(copy, "deno.json"), target],
      cwd: copy,
      stdout: "null",
      stderr: "null",
    }).output()).success;
  // The module as it is must check, or a failure would say nothing of the mutants.
  if (!(await checks())) throw new Error(`deno check fails on ${module} itself in a copy of lib/`);
  for (const { file, m } of survivors) {
    await Deno.writeTextFile(target, applyMutant(file.source, m));
    if (!(await checks())) m.status = "CompileError";
    await Deno.writeTextFile(target, file.source);
  }
}

/** A module's result: the score and the mutants no test noticed. */
export interface ModuleScore {
  module: string;
  killed: number;
  total: number;
  /** Mutants that do not type-check, not counted (see {@linkcode dropTypeInvalid}). */
  typeInvalid: number;
  score: number;
  survivors: string[];
}

/**
 * Scores Stryker's JSON report for one module: killed and timed-out mutants count as detected,
 * survivors and uncovered ones as not; mutants that did not compile or were ignored do not count.
 */
export function scoreReport(
  module: string,
  report: { files: Record<string, { mutants: Mutant[] }> },
): ModuleScore {
  const mutants = Object.values(report.files).flatMap((file) => file.mutants);
  const typeInvalid = mutants.filter((m) => m.status === "CompileError").length;
  const detected = mutants.filter((m) => m.status === "Killed" || m.status === "Timeout");
  const undetected = mutants.filter((m) => m.status === "Survived" || m.status === "NoCoverage");
  const total = detected.length + undetected.length;
  return {
    module,
    killed: detected.length,
    total,
    typeInvalid,
    score: total ? (detected.length / total) * 100 : 100,
    survivors: undetected.map((m) =>
      `${module}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName}` +
      (m.replacement === undefined ? "" : ` → ${m.replacement.replace(/\s+/g, " ").slice(0, 80)}`)
    ),
  };
}

async function run(command: string, args: string[], cwd: string): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(command, { args, cwd, stdin: "null" })
    .output();
  if (code !== 0) {
    const output = new TextDecoder().decode(stderr) || new TextDecoder().decode(stdout);
    const tail = output.trim().split("\n").slice(-15).join("\n");
    throw new Error(`${command} ${args.join(" ")} exited with ${code}:\n${tail}`);
  }
}

async function installStryker(): Promise<void> {
  try {
    await Deno.stat(STRYKER);
  } catch {
    console.error("installing Stryker into tools/mutate (npm ci)…");
    await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], TOOLS);
  }
}

/**
 * Splits a command-line argument into its module and an optional line range (`module.ts:120-180`,
 * to mutate only the part of a large module a change touched).
 */
export function parseTarget(arg: string): { module: string; lines?: string } {
  const match = /^(.+\.ts)(?::(\d+-\d+))?$/.exec(arg);
  return match ? { module: match[1], lines: match[2] } : { module: arg };
}

async function mutate(
  target: { module: string; lines?: string },
  tests: readonly string[],
): Promise<ModuleScore> {
  const { module, lines } = target;
  const work = await Deno.makeTempDir({ prefix: "tbi-mutate-" });
  try {
    const report = join(work, "report.json");
    const config = {
      mutate: [lines ? `${module}:${lines}` : module],
      testRunner: "command",
      // The unit tests and the module's doc examples (`deno task test` runs both), without type
      // checking (Stryker's mutants are not typed code).
      commandRunner: {
        command: `deno test -q -P=test --no-prompt --no-check --doc ${module} ${tests.join(" ")}`,
      },
      coverageAnalysis: "off",
      concurrency: 1,
      timeoutMS: 20_000,
      reporters: ["json", "progress"],
      jsonReporter: { fileName: report },
      tempDirName: ".stryker-tmp",
      ignorePatterns: ["/dist", "/tools", "/reports", "/.github"],
      cleanTempDir: true,
      logLevel: "warn",
    };
    const configFile = join(work, "stryker.config.json");
    await Deno.writeTextFile(configFile, JSON.stringify(config, null, 2));
    await run("node", [STRYKER, "run", configFile], ROOT);
    const result: Report = JSON.parse(await Deno.readTextFile(report));
    await dropTypeInvalid(module, result, work);
    return scoreReport(module, result);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  // `deno task mutate -- lib/…` passes the `--` on, as it does to every task.
  const args = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
  const chosen = (args.length ? args : Object.keys(MUTATED_MODULES)).map(parseTarget);
  const unknown = chosen.filter(({ module }) => !MUTATED_MODULES[module]).map((t) => t.module);
  if (unknown.length) {
    console.error(`error: not a mutated module: ${unknown.join(", ")}`);
    console.error(`hint: one of ${Object.keys(MUTATED_MODULES).join(", ")}`);
    Deno.exit(2);
  }
  await installStryker();
  // Each module's score is printed as soon as it is known: a run takes minutes per module.
  const low: string[] = [];
  for (const target of chosen) {
    const { module, lines } = target;
    const name = lines ? `${module}:${lines}` : module;
    console.error(`mutating ${name}…`);
    try {
      const { killed, total, typeInvalid, score, survivors } = await mutate(
        target,
        MUTATED_MODULES[module],
      );
      const invalid = typeInvalid ? `  (${typeInvalid} more that do not type-check)` : "";
      console.log(`${score.toFixed(1).padStart(5)}%  ${killed}/${total}  ${name}${invalid}`);
      for (const survivor of survivors) console.log(`        survived: ${survivor}`);
      if (score < TARGET_SCORE) low.push(name);
    } catch (error) {
      console.log(`  n/a   ${name}: ${(error as Error).message}`);
      low.push(name);
    }
  }
  if (low.length) {
    console.error(`error: under ${TARGET_SCORE}% or not scored: ${low.join(", ")}`);
    Deno.exit(1);
  }
}
