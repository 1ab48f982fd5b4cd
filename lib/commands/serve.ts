/**
 * `timebound-iam serve`: an MCP stdio server through which agents ask for scoped, short-lived
 * credentials, within the guardrails that the human sets on the command line. stdout carries
 * MCP messages only; the log goes to stderr.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { Command, Option } from "../cli/commander.ts";
import {
  type Cli,
  mfaSerialOption,
  profileOption,
  regionOption,
  roleArnOption,
  sourceIdentityOption,
} from "../cli/context.ts";
import { callerPrincipal } from "../request/session_identity.ts";
import { parseAllowList } from "../request/allow_list.ts";
import { checkLength, INPUT_LIMITS, parseProfileList } from "../request/input_bounds.ts";
import { resolveProfile } from "../aws/profile.ts";
import { logText } from "../core/log_text.ts";
import { loadConfig } from "../grant/config_file.ts";
import { resolveGrantSettings } from "../grant/settings.ts";
import { defaultAuditLogPath, openAuditLog } from "../mcp/audit_log.ts";
import { openGranters } from "../grant/granters.ts";
import { loadCatalog } from "../request/catalog.ts";
import { openEnvFileDirectory } from "../delivery/env_files.ts";
import { parseTtl } from "../request/ttl.ts";
import { APPROVE_MODES, type ApproveMode } from "../request/approval.ts";

/** The flags of `serve`. */
interface ServeFlags {
  profile?: string;
  region?: string;
  roleArn?: string;
  sourceIdentity?: string;
  allow?: string;
  maxTtl?: string;
  approve?: ApproveMode;
  auditLog?: string;
  mfaSerial?: string;
  allowProfiles?: string[];
}

/** Builds the `serve` command. */
export function serveCommand(cli: Cli): Command<unknown[], Record<string, unknown>> {
  return new Command("serve")
    .addOption(profileOption())
    .addOption(regionOption())
    .addOption(roleArnOption())
    .addOption(mfaSerialOption())
    .addOption(sourceIdentityOption())
    .option(
      "--allow <scopes>",
      "the scopes agents may ask for, e.g. s3:full,*:ro (default: any)",
      (value: string) => checkLength(value, "--allow", INPUT_LIMITS.scopes),
    )
    .option(
      "--allow-profiles <names>",
      "other AWS profiles agents may name besides the server's own (default: none)",
      (value: string) => parseProfileList(value),
    )
    .option("--max-ttl <duration>", "the longest TTL agents may ask for (default: 1h)")
    .addOption(
      new Option(
        "--approve <when>",
        "ask the human (MCP elicitation) before grants (default: never)",
      )
        .choices(APPROVE_MODES),
    )
    .option(
      "--audit-log <file>",
      "append-only JSON lines log (default: $XDG_STATE_HOME/timebound-iam/audit.jsonl)",
    )
    .addHelpText(
      "after",
      `
Tools: grant_access, list_active_sessions, list_services, revoke_session. Credentials go to
0600 env files in a private 0700 directory, deleted at expiry, on revoke_session and on exit.

The server uses the profile it was started with (--profile, AWS_PROFILE, AWS_DEFAULT_PROFILE or
the default chain); an agent may name another only if --allow-profiles lists it.

Defaults for --allow, --allow-profiles, --max-ttl, --approve and --audit-log come from the "serve"
section of the config file (see timebound-iam doctor); flags win.

With an MFA device (--mfa-serial, the config file, or the profile's mfa_serial), grants use the
cached MFA session (timebound-iam mfa login); when there is none, the human is asked for a code
through MCP elicitation if the client supports it. The agent never supplies a code.

Examples:
  timebound-iam serve
  timebound-iam serve --profile dev --allow 's3:full,*:ro' --max-ttl 30m --approve full`,
    )
    .action(async (options) => {
      await serve(cli, options);
    });
}

async function serve(cli: Cli, flags: ServeFlags): Promise<void> {
  // The server never starts a process: drop the permission before reading any input.
  await Deno.permissions.revoke({ name: "run" });
  const env = cli.io.env;
  // One line each, whatever a client put in it; a closed stderr loses the log, not the grant.
  const log = (line: string) => {
    try {
      cli.io.stderr(`timebound-iam serve: ${logText(line, 2000)}\n`);
    } catch {
      // Nowhere left to say it.
    }
  };
  const catalog = await loadCatalog();
  // Flags first, then the environment and the config file (its "serve" guardrails too);
  // connectBroker falls back to the account's default role.
  const settings = await resolveGrantSettings(
    { ...flags, mfaSerial: flags.mfaSerial || undefined },
    env,
  );
  const defaults = settings.file.config.serve ?? {};
  const maxTtl = flags.maxTtl ?? defaults.maxTtl ?? "1h";
  const approve = flags.approve ?? defaults.approve ?? "never";
  const allowText = flags.allow ?? defaults.allow;
  const maxTtlSeconds = parseTtl(maxTtl, { maxReason: "AWS's limit for AssumeRole" });
  const allow = allowText === undefined ? undefined : await parseAllowList(allowText, catalog);
  const { createStdioTransport } = await import("../mcp/stdio_transport.ts");
  const { createServer } = await import("../mcp/server.ts");
  const { default: process } = await import("node:process");

  const audit = await openAuditLog(
    flags.auditLog ?? defaults.auditLog ?? defaultAuditLogPath(env),
  );
  const envFiles = await openEnvFileDirectory(tmpdir());
  // The profile is the human's choice, fixed now: the agent may only pick among allowed ones.
  const profile = resolveProfile(flags.profile, env).name;
  const allowProfiles = flags.allowProfiles ??
    (defaults.allowProfiles === undefined ? [] : parseProfileList(defaults.allowProfiles));
  const pool = openGranters(settings, {
    profile,
    now: cli.now,
    // Read at each grant: a refusal counts for a day after the human's grant that met it.
    refusals: async () => (await loadConfig(env)).config,
    onIdentitySkipped: (broker) =>
      log(
        `no source identity or session tags: ${broker.roleArn} refused them to ${
          callerPrincipal(broker.callerArn)
        } (see ${settings.file.path})`,
      ),
  });
  const app = createServer({
    catalog,
    grant: pool.grant,
    identify: pool.identify,
    now: cli.now,
    envFiles,
    audit,
    options: {
      allow,
      maxTtlSeconds,
      approve,
      profile,
      allowProfiles: new Set(allowProfiles),
    },
    log,
  });

  const stopped = watchForStop(process.stdin, process.stdout);
  try {
    const transport = createStdioTransport(process.stdin, process.stdout);
    transport.onclose = () => stopped.resolve("transport closed");
    // Unparseable input gets no reply (JSON-RPC has no id to answer); say so on stderr only.
    app.mcp.server.onerror = (error) => log(`ignored bad input: ${error.message.split("\n")[0]}`);
    await app.connect(transport);
    log(
      `ready: env files in ${envFiles.path}, audit log ${audit.path}, ` +
        `profile ${profile ?? "(default chain)"}` +
        (allowProfiles.length ? ` (agents may also name ${allowProfiles.join(", ")})` : "") +
        `, allow ${allow?.text ?? "any scope"}, max TTL ${maxTtl}, approve ${approve}`,
    );
    const reason = await stopped.promise;
    log(`stopping (${reason}): removing ${envFiles.path}`);
  } finally {
    stopped.dispose();
    await app.close();
    await pool.close();
    await audit.close();
  }
}

/** The events of Node's `process.stdin` that end the server. */
interface StdinEvents {
  once(event: "end" | "close", listener: () => void): unknown;
  off(event: "end" | "close", listener: () => void): unknown;
}

/**
 * Resolves with the reason the server should stop: a signal (Ctrl-C, a terminal closing, a
 * supervisor's SIGTERM), the end of standard input, or whoever calls `resolve`.
 */
function watchForStop(
  stdin: StdinEvents,
  stdout: { on(event: "error", listener: () => void): unknown },
): {
  promise: Promise<string>;
  resolve: (reason: string) => void;
  dispose: () => void;
} {
  const stopped = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = signals.map((signal) => {
    const handler = () => stopped.resolve(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  const onEnd = () => stopped.resolve("end of input");
  stdin.once("end", onEnd);
  stdin.once("close", onEnd);
  // A client that stops reading (EPIPE on stdout) has gone as surely as one that closed stdin.
  // The listener stays: a late write error must not become an uncaught exception.
  stdout.on("error", () => stopped.resolve("the client stopped reading"));
  return {
    promise: stopped.promise,
    resolve: stopped.resolve,
    dispose() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
      stdin.off("end", onEnd);
      stdin.off("close", onEnd);
    },
  };
}
