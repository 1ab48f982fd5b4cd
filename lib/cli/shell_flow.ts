/**
 * The story of `shell`: refuse to nest, pick the shell, obtain the grant, and run the shell with
 * the countdown prompt until it exits. Without `--refresh` the shell holds keys, and
 * `timebound-iam refresh` inside asks this process (through a private loopback endpoint) for a
 * new session, so the base credentials and any MFA session stay here and nothing is asked
 * again; with `--refresh` the shell gets the renewing endpoint and no keys.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { UsageError } from "../core/errors.ts";
import { createPrivateTempDir } from "../core/private_dir.ts";
import { runChild } from "../delivery/child.ts";
import { childEnvironment, grantVariables, SESSION_MARKER } from "../delivery/credential_env.ts";
import { startCredentialServer } from "../delivery/credential_server.ts";
import {
  chooseSessionShell,
  prepareSessionShell,
  REFRESH_TOKEN_VARIABLE,
  REFRESH_URI_VARIABLE,
  RENEWS_UNTIL_VARIABLE,
  type SessionShell,
  shellProgram,
  useColors,
} from "../delivery/shell_session.ts";
import { parseRefreshLimit } from "../request/ttl.ts";
import { type Cli, loadCallReport, ownProgram } from "./options.ts";
import type { CallReportFlags } from "./call_report.ts";
import { type GrantFlags, obtainRenewableGrant, type RenewableGrant } from "./grant_flow.ts";
import { resolveGrantSettings } from "../grant/settings.ts";
import { runRenewing } from "./refresh_flow.ts";

/** The flags of `shell`. */
export interface ShellFlags extends GrantFlags, CallReportFlags {
  /** `--shell`. */
  shell?: string;
  /** `--refresh[=MAX]`. */
  refresh?: string | true;
  /** `--force`: start even inside another timebound-iam session. */
  force?: boolean;
  /** `--masked` (true) or `--no-masked` (false); the config file decides when undefined. */
  masked?: boolean;
}

/** The longest the prompt warns before expiry: five minutes (a quarter of shorter sessions). */
const MAX_WARN_SECONDS = 300;

/** Runs the story and resolves to the shell's exit code (0 after a dry run). */
export async function runShell(cli: Cli, flags: ShellFlags): Promise<number> {
  const outer = cli.io.env[SESSION_MARKER];
  if (outer && !flags.force) {
    throw new UsageError(`Already inside timebound-iam session "${outer}"`, {
      hint: "exit that shell first, or pass --force to start another one inside it",
    });
  }
  const shell = chooseSessionShell(flags.shell, cli.io.env);
  const limitSeconds = flags.refresh === undefined ? undefined : parseRefreshLimit(flags.refresh);
  const program = shellProgram(shell);
  const settings = await resolveGrantSettings(flags, cli.io.env);
  const reporting = await loadCallReport(flags, { masked: settings.masked, command: "shell" });
  const renewable = await obtainRenewableGrant(cli, flags, {
    command: [program],
    refreshSeconds: limitSeconds,
    settings,
    masked: settings.masked,
  });
  if (!renewable) return 0;
  const { grant } = renewable;
  const ttlSeconds = (grant.credentials.expiration.getTime() - cli.now().getTime()) / 1000;
  const start = (env: Record<string, string>) =>
    launch(cli, shell, env, {
      label: flags.scope.flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean)
        .join(","),
      warnSeconds: Math.max(1, Math.round(Math.min(MAX_WARN_SECONDS, ttlSeconds / 4))),
      colors: useColors(cli.io.env, cli.io.stderrIsTerminal),
      program: ownProgram(),
    });
  const until = limitSeconds === undefined
    ? undefined
    : new Date(cli.now().getTime() + limitSeconds * 1000);
  if (settings.masked) {
    // The proxy's modules load only for --masked.
    const { runMasked } = await import("./masked_flow.ts");
    const tally = reporting
      ? (await import("../delivery/call_tally.ts")).createCallTally()
      : undefined;
    const code = await runMasked(cli, renewable, {
      renewal: limitSeconds === undefined
        ? { mode: "on-request" }
        : { mode: "renewing", limitSeconds },
      run: ({ env, refresh }) =>
        start({
          ...env,
          ...(refresh
            ? { [REFRESH_URI_VARIABLE]: refresh.url, [REFRESH_TOKEN_VARIABLE]: refresh.token }
            : { [RENEWS_UNTIL_VARIABLE]: until!.toISOString() }),
        }),
      onCall: tally?.record,
      onUnverified: tally?.countUnverified,
    });
    // Whatever the shell's exit code: the calls were made all the same.
    if (tally) await reporting?.reportCalls(cli.io, tally, flags);
    return code;
  }
  if (limitSeconds !== undefined) {
    return await runRenewing(cli, renewable, {
      limitSeconds,
      run: (env) => start({ ...env, [RENEWS_UNTIL_VARIABLE]: until!.toISOString() }),
    });
  }
  return await withRefreshEndpoint(cli, renewable, (endpoint) => {
    const vars = grantVariables(grant.credentials, {
      region: grant.region,
      sessionName: grant.sessionName,
    });
    return start({ ...childEnvironment(cli.io.env, vars), ...endpoint });
  });
}

/** Serves `timebound-iam refresh` from inside the shell while `run` runs. */
async function withRefreshEndpoint(
  cli: Cli,
  renewable: RenewableGrant,
  run: (endpoint: Record<string, string>) => Promise<number>,
): Promise<number> {
  const server = await startCredentialServer({
    initial: renewable.grant.credentials,
    renew: async (signal) => (await renewable.renew(signal)).credentials,
    renewUntil: new Date(8.64e15),
    warn: (line) => cli.io.stderr(`warning: ${line}\n`),
    mode: "on-request",
  });
  try {
    return await run({
      [REFRESH_URI_VARIABLE]: server.url,
      [REFRESH_TOKEN_VARIABLE]: server.env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
    });
  } finally {
    await server.close();
    renewable.close();
  }
}

/** Writes the start-up files into a private directory, runs the shell, removes the directory. */
async function launch(
  cli: Cli,
  shell: SessionShell,
  env: Record<string, string>,
  settings: Parameters<typeof prepareSessionShell>[2],
): Promise<number> {
  // A fresh 0700 directory under a random name in a verified TMPDIR: nothing planted is followed.
  const dir = await createPrivateTempDir(tmpdir(), "timebound-iam-shell-");
  try {
    const prepared = prepareSessionShell(shell, dir.path, settings, cli.io.env);
    for (const [name, text] of Object.entries(prepared.files)) await dir.create(name, text);
    return await runChild(shellProgram(shell), prepared.args, {
      env: { ...env, ...prepared.env },
    });
  } finally {
    await Deno.remove(dir.path, { recursive: true });
  }
}
