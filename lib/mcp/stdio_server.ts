/**
 * The story of `serve`: settle the guardrails the human set (flags, then the config file's
 * `serve` section), open the granters, the audit log and the env-file directory, serve MCP on
 * standard input and output until a signal, the end of input or a client that stops reading, and
 * clean up. stdout carries MCP messages only; the log goes to stderr.
 *
 * @module
 */

import { tmpdir } from "node:os";
import { askQuestionsOn, type Io } from "../core/io.ts";
import { logText, messageLine } from "../core/log_text.ts";
import { watchStopSignals } from "../core/signals.ts";
import { resolveProfile } from "../aws/profile.ts";
import { awsTimeoutMs } from "../aws/timeout.ts";
import { openEnvFileDirectory } from "../delivery/env_files.ts";
import { loadConfig } from "../grant/config_file.ts";
import { openGranters } from "../grant/granters.ts";
import {
  type GrantSettingFlags,
  type GrantSettings,
  resolveGrantSettings,
} from "../grant/settings.ts";
import { parseAllowList } from "../request/allow_list.ts";
import type { ApproveMode } from "../request/approval.ts";
import { type Catalog, loadCatalog } from "../request/catalog.ts";
import { parseProfileList } from "../request/input_bounds.ts";
import { callerPrincipal } from "../request/session_identity.ts";
import { parseTtl } from "../request/ttl.ts";
import { defaultAuditLogPath, openAuditLog } from "./audit_log.ts";
import { createCallLimit, type Unreported } from "./rate_limit.ts";
import type { ServerOptions } from "./context.ts";

/** At most this many lines a minute say what bad input was ignored; then one with the count. */
const BAD_INPUT_LINES_PER_MINUTE = 10;

/** The flags of `serve`: the grant's settings, and the guardrails. */
export interface ServeFlags extends GrantSettingFlags {
  /** `--allow`: the scopes agents may ask for. */
  allow?: string;
  /** `--max-ttl`. */
  maxTtl?: string;
  /** `--approve`. */
  approve?: ApproveMode;
  /** `--audit-log`. */
  auditLog?: string;
  /** `--allow-profiles`, parsed. */
  allowProfiles?: string[];
  /** `--masked` (true) or `--no-masked` (false); `serve.masked` decides when undefined. */
  masked?: boolean;
}

/** The guardrails, settled: the server's options, and what the ready line names. */
interface Guardrails {
  options: ServerOptions & { allowProfiles: ReadonlySet<string> };
  maxTtl: string;
  auditLog: string;
  /** Whether grants go behind the signing proxy. */
  masked: boolean;
}

/**
 * Serves MCP on standard input and output until a stop signal, the end of input or a client that
 * stops reading; then removes the env files and closes everything.
 */
export async function serveStdio(
  cli: { io: Io; now: () => Date },
  flags: ServeFlags,
): Promise<void> {
  // The server never starts a process: drop the permission before reading any input.
  await Deno.permissions.revoke({ name: "run" });
  // Nor asks anything on the terminal: standard input and output are MCP's, even on a terminal
  // (the vault file's passphrase comes from TIMEBOUND_IAM_VAULT_PASSPHRASE, or is refused).
  askQuestionsOn(undefined);
  const env = cli.io.env;
  // One line each, whatever a client put in it; a closed stderr loses the log, not the grant.
  const log = (line: string) => {
    try {
      cli.io.stderr(`timebound-iam serve: ${messageLine(line, 2000)}\n`);
    } catch {
      // Nowhere left to say it.
    }
  };
  const catalog = await loadCatalog();
  // Flags first, then the environment and the config file (its "serve" guardrails too, so
  // every value of it is checked).
  const grantFlags = { ...flags, mfaSerial: flags.mfaSerial || undefined };
  const settings = await resolveGrantSettings(
    grantFlags,
    env,
    await loadConfig(env, { whole: true }),
  );
  const guardrails = await settleGuardrails(flags, { settings, catalog });
  // Grants make their AWS clients later, at an agent's request: refuse a bad endpoint now.
  const { checkEndpointSettings } = await import("../aws/profile_endpoint.ts");
  for (const profile of [flags.profile, ...guardrails.options.allowProfiles]) {
    await checkEndpointSettings(resolveProfile(profile, env).name, env);
  }
  const { createStdioTransport } = await import("./stdio_transport.ts");
  const { createServer } = await import("./server.ts");
  const { default: process } = await import("node:process");
  const audit = await openAuditLog(guardrails.auditLog);
  const envFiles = await openEnvFileDirectory(tmpdir());
  const { options } = guardrails;
  // The proxy's modules load only for --masked. Its upstream is this process's own
  // AWS_ENDPOINT_URL* (or AWS), never anything an agent says.
  const masking = guardrails.masked
    ? await (await import("./masking.ts")).startMasking(env, {
      audit,
      now: cli.now,
      log,
      idleTimeoutMs: Math.max(60_000, awsTimeoutMs(env)),
    })
    : undefined;
  const granters = openGranters(settings, {
    profile: options.profile,
    profiles: await otherProfiles(grantFlags, { settings, names: options.allowProfiles }),
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
    grant: granters.grant,
    identify: granters.identify,
    now: cli.now,
    envFiles,
    audit,
    options,
    log,
    masking,
  });
  const stopped = watchForStop(process.stdin, process.stdout);
  try {
    const transport = createStdioTransport(process.stdin, process.stdout);
    transport.onclose = () => stopped.resolve("transport closed");
    // Unparseable input gets no reply (JSON-RPC has no id to answer); say so on stderr only.
    const badInput = badInputLog(log, cli.now);
    app.mcp.server.onerror = badInput.onerror;
    await app.connect(transport);
    const others = [...options.allowProfiles];
    log(
      `ready: env files in ${envFiles.path}, audit log ${audit.path}, ` +
        `profile ${options.profile ?? "(default chain)"}` +
        (others.length ? ` (agents may also name ${others.join(", ")})` : "") +
        `, allow ${options.allow?.text ?? "any scope"}, max TTL ${guardrails.maxTtl}, ` +
        `approve ${options.approve}` +
        (masking ? `, masked (signing proxy ${masking.url})` : ""),
    );
    const reason = await stopped.promise;
    badInput.drain();
    log(`stopping (${reason}): removing ${envFiles.path}`);
  } finally {
    stopped.dispose();
    await app.close();
    await granters.close();
    await audit.close();
  }
}

/**
 * The settings of each other profile an agent may name: its own entry of the config file (broker
 * role, region, MFA device), as `exec --profile` would use it; the human's flags hold for all.
 */
async function otherProfiles(
  flags: GrantSettingFlags,
  context: { settings: GrantSettings; names: Iterable<string> },
): Promise<Map<string, GrantSettings>> {
  const { settings, names } = context;
  const profiles = new Map<string, GrantSettings>();
  for (const profile of names) {
    profiles.set(
      profile,
      await resolveGrantSettings({ ...flags, profile }, settings.env, settings.file),
    );
  }
  return profiles;
}

/** The guardrails from the flags, else the config file's `serve` section, else the defaults. */
async function settleGuardrails(
  flags: ServeFlags,
  context: { settings: GrantSettings; catalog: Catalog },
): Promise<Guardrails> {
  const { settings, catalog } = context;
  const defaults = settings.file.config.serve ?? {};
  const maxTtl = flags.maxTtl ?? defaults.maxTtl ?? "1h";
  const maxTtlSeconds = parseTtl(maxTtl, { maxReason: "AWS's limit for AssumeRole" });
  const allowText = flags.allow ?? defaults.allow;
  const allow = allowText === undefined ? undefined : await parseAllowList(allowText, catalog);
  const allowProfiles = flags.allowProfiles ??
    (defaults.allowProfiles === undefined ? [] : parseProfileList(defaults.allowProfiles));
  return {
    options: {
      allow,
      maxTtlSeconds,
      approve: flags.approve ?? defaults.approve ?? "never",
      // The profile is the human's choice, fixed now: the agent may only pick among allowed ones.
      profile: resolveProfile(flags.profile, settings.env).name,
      allowProfiles: new Set(allowProfiles),
    },
    maxTtl,
    auditLog: flags.auditLog ?? defaults.auditLog ?? defaultAuditLogPath(settings.env),
    masked: flags.masked ?? defaults.masked ?? false,
  };
}

/**
 * Says on stderr what bad input was ignored, {@linkcode BAD_INPUT_LINES_PER_MINUTE} times a minute
 * at most, then once with the count of the rest: a two-byte bad line must not become an
 * eighty-byte log line each (a client's log file filled forty times as fast as it writes).
 */
function badInputLog(
  log: (line: string) => void,
  now: () => Date,
): { onerror(error: Error): void; drain(): void } {
  const limit = createCallLimit({ limit: BAD_INPUT_LINES_PER_MINUTE, windowMs: 60_000, now });
  const unlogged = (left: Unreported | undefined) => {
    if (!left) return;
    log(
      `ignored bad input: ${left.count} more since ${left.since.toISOString()}, not logged ` +
        `(at most ${BAD_INPUT_LINES_PER_MINUTE} lines a minute)`,
    );
  };
  return {
    onerror(error) {
      const over = limit.take();
      if (over) return unlogged(over.report);
      unlogged(limit.due());
      log(`ignored bad input: ${logText(error.message.split("\n")[0], 1000)}`);
    },
    drain: () => unlogged(limit.drain()),
  };
}

/** The events of Node's `process.stdin` that end the server. */
interface StdinEvents {
  once(event: "end" | "close", listener: () => void): unknown;
  off(event: "end" | "close", listener: () => void): unknown;
}

/**
 * Resolves with the reason the server should stop: a stop signal (Ctrl-C, a terminal closing, a
 * supervisor's SIGTERM), the end of standard input, or whoever calls `resolve`.
 */
function watchForStop(
  stdin: StdinEvents,
  stdout: { on(event: "error", listener: () => void): unknown },
): { promise: Promise<string>; resolve: (reason: string) => void; dispose: () => void } {
  const stopped = Promise.withResolvers<string>();
  const signals = watchStopSignals();
  signals.signal.then(stopped.resolve);
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
      signals.dispose();
      stdin.off("end", onEnd);
      stdin.off("close", onEnd);
    },
  };
}
