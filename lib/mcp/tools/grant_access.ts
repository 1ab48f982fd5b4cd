/**
 * The `grant_access` tool: scoped, short-lived credentials in a private env file, within the
 * server's guardrails and, if the human asked for it, with their approval.
 *
 * @module
 */

import { z } from "zod";
import { accountWideNote, type AllowList, checkAllowed } from "../../request/allow_list.ts";
import { type ArnTarget, MAX_RESOURCE_CHARS } from "../../request/resource.ts";
import { logText, messageLine } from "../../core/log_text.ts";
import { profileText, scopesText, serviceList, wordText } from "../input_schema.ts";
import { grantVariables } from "../../delivery/credential_env.ts";
import { shQuote } from "../../delivery/shell_env.ts";
import { DeclinedError, RuntimeError, UsageError, UserError } from "../../core/errors.ts";
import { MfaCodeNeeded } from "../../aws/base_credentials.ts";
import { forTarget, hasBareNames, prepareGrant } from "../../request/grant_request.ts";
import { formatScopes, parseLevel, type Scope } from "../../request/scope.ts";
import { formatTtl } from "../../request/ttl.ts";
import { checkPolicySize, type SessionPolicy, withDeadline } from "../../request/session_policy.ts";
import { mcpClientTag } from "../../request/session_identity.ts";
import { createCallLimit, type OverLimit, type Unreported } from "../rate_limit.ts";
import { MASKED_NOTE } from "../masking.ts";
import type { Session } from "../session_store.ts";
import type { Grant } from "../../aws/broker.ts";
import { askApproval, type Asking, mfaCodeAsker, mfaLoginNeeded } from "../elicitation.ts";
import {
  clientName,
  clientOf,
  describeSession,
  jsonResult,
  levelName,
  sessionSchema,
  type ToolContext,
  toolError,
} from "../context.ts";

/** At most this many services in `resources`, and resources per service. */
const MAX_RESOURCE_SERVICES = 20;
const MAX_RESOURCES_PER_SERVICE = 20;

/**
 * At most this many `grant_access` calls a minute: more is a loop, not work. Each call over it
 * is refused before any work; the audit log gets one line a minute for them, with their count.
 */
export const GRANT_CALLS_PER_MINUTE = 20;

const inputSchema = {
  services: serviceList.optional().describe(
    'AWS services by IAM prefix or alias, e.g. ["s3", "dynamodb"] (list_services shows them)',
  ),
  level: wordText.optional().describe(
    '"list" (only the List actions: names and metadata, never contents), "read_only" (the Read ' +
      'and List actions, which include reading data; also "ro") or "full" (every action). ' +
      "Default: read_only",
  ),
  resources: z.record(
    z.string().max(64),
    z.array(z.string().max(MAX_RESOURCE_CHARS)).min(1).max(MAX_RESOURCES_PER_SERVICE),
  ).optional().refine(
    (resources) => !resources || Object.keys(resources).length <= MAX_RESOURCE_SERVICES,
    `at most ${MAX_RESOURCE_SERVICES} services`,
  ).describe(
    "Limit services to named resources, per service: bare names or ARNs, e.g. " +
      '{"s3": ["my-bucket", "logs-bucket/app/*"], "dynamodb": ["Orders"]}. Each key must be in ' +
      "services. list_services shows each service's resource forms",
  ),
  scopes: scopesText.optional().describe(
    "Per-service levels and resources, instead of or besides services + level: " +
      '"s3:ro,dynamodb:full@Orders,ec2:list" (SERVICE:LEVEL@RESOURCE; repeat a scope for ' +
      "several resources)",
  ),
  ttl: wordText.optional().describe(
    'How long the credentials live: "5m", "15m" (the default), "1h"... from 1m up to the ' +
      "server's maximum",
  ),
  profile: profileText.optional().describe(
    "AWS profile for the base credentials; omit to use the server's (the human decides which " +
      "others, if any, are allowed)",
  ),
};

const outputSchema = {
  session_id: z.string(),
  ...sessionSchema.omit({ id: true }).shape,
  usage: z.string(),
  credentials_note: z.string().optional().describe(
    "Set when the credentials are masked: what that means for the commands you run",
  ),
  note: z.string().optional().describe(
    "Set when the server's limits kept account-wide actions (listing every bucket, every " +
      "function...) out of a grant on named resources",
  ),
  resource_note: z.string().optional().describe(
    "Set when a named resource is more often a typo than what it names (an S3 bucket name that " +
      "only an old us-east-1 bucket can have): check its spelling",
  ),
};

type GrantArgs = {
  services?: string[];
  level?: string;
  resources?: Record<string, string[]>;
  scopes?: string;
  ttl?: string;
  profile?: string;
};

/**
 * Registers `grant_access` on the server; `close` writes the audit line of calls refused over
 * the rate limit and not yet reported.
 */
export function registerGrantAccess(ctx: ToolContext): { close(): Promise<void> } {
  const limit = createCallLimit({ limit: GRANT_CALLS_PER_MINUTE, windowMs: 60_000, now: ctx.now });
  const asking: Asking = {};
  ctx.server.registerTool("grant_access", {
    title: "Grant scoped AWS credentials",
    description:
      "Get temporary AWS credentials limited to the given services and level, written to a " +
      "private env file. Run AWS commands as `env $(cat CREDENTIAL_FILE) aws ...`. The result " +
      "holds the file's path, never the secrets. Use the narrowest scopes and the shortest " +
      "ttl that do the job; ask for a new grant rather than using other credentials.",
    inputSchema,
    outputSchema,
    annotations: {
      title: "Grant scoped AWS credentials",
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: true,
    },
  }, async (args: GrantArgs) => {
    try {
      const over = limit.take();
      if (over) throw await overLimit(ctx, over);
      const due = limit.due();
      if (due) await recordOverLimit(ctx, due);
      const structured = await grantAccess(ctx, args, asking);
      return jsonResult(structured);
    } catch (error) {
      throw toolError(error);
    }
  });
  return {
    async close() {
      const left = limit.drain();
      if (left) await recordOverLimit(ctx, left);
    },
  };
}

/** The error for a call over the rate limit, after reporting the refusals if it is time. */
async function overLimit(ctx: ToolContext, over: OverLimit): Promise<UsageError> {
  if (over.report) await recordOverLimit(ctx, over.report);
  return new UsageError(
    `Too many grant requests: at most ${GRANT_CALLS_PER_MINUTE} a minute; this one was not ` +
      `looked at. Try again in ${over.retryAfterSeconds}s`,
    { hint: "reuse a session that list_active_sessions shows, or ask for all you need at once" },
  );
}

/**
 * Writes the audit line for calls refused over the rate limit, and the log line. A line that
 * cannot be written is still logged, with its count, and does not turn the refusal into another
 * error.
 */
async function recordOverLimit(ctx: ToolContext, refused: Unreported): Promise<void> {
  const reason = `${refused.count} grant request${refused.count === 1 ? "" : "s"} over the ` +
    `limit of ${GRANT_CALLS_PER_MINUTE} a minute since ${refused.since.toISOString()}, refused ` +
    "unread";
  ctx.log(`refused to ${clientName(clientOf(ctx))}: ${reason}`);
  try {
    await ctx.audit.record({
      event: "refusal",
      outcome: "rate-limited",
      client: clientOf(ctx),
      refused_calls: refused.count,
      reason,
    });
  } catch (error) {
    ctx.log(`cannot write that to the audit log: ${messageLine((error as Error).message, 300)}`);
  }
}

async function grantAccess(ctx: ToolContext, args: GrantArgs, asking: Asking) {
  const client = clientOf(ctx);
  let scopes: Scope[] | undefined;
  let ttl = args.ttl;
  try {
    let request = await prepareGrant({ scopes: scopeValues(args), ttl: args.ttl }, {
      catalog: ctx.catalog,
      ttlBounds: { max: ctx.options.maxTtlSeconds, maxReason: "the maximum this server allows" },
      requireTtl: false,
      now: ctx.now,
      client: mcpClientTag(client),
      // Its policy keeps nothing account-wide that the allow list does not give.
      allow: ctx.options.allow,
    });
    scopes = request.scopes;
    ttl = formatTtl(request.ttlSeconds);
    const profile = checkProfile(ctx, args.profile);
    const askMfaCode = mfaCodeAsker(ctx, { asking, profile });
    const explainMfa = (error: unknown) => {
      throw error instanceof MfaCodeNeeded ? mfaLoginNeeded(error.serial) : error;
    };
    // The role's account and the region, looked up only when resources need them.
    let target: Promise<ArnTarget> | undefined;
    const targetOf = () => target ??= ctx.identify(profile, askMfaCode).catch(explainMfa);
    await checkAllowed(request.scopes, ctx.options.allow, {
      catalog: ctx.catalog,
      target: targetOf,
    });
    if (hasBareNames(request)) request = await forTarget(request, await targetOf(), ctx.catalog);
    const resourceNote = resourceNoteOf(request.policy);
    const approvedEnd = await askApproval(ctx, {
      scopes: request.scopes,
      ttlSeconds: request.ttlSeconds,
      profile,
      asking,
      resourceNote: resourceNote.resource_note,
    });
    const grant = await ctx.grant({
      profile,
      ...approvedEnd
        ? approvedPolicy(request.policy, {
          end: approvedEnd,
          now: ctx.now(),
          ttlSeconds: request.ttlSeconds,
        })
        : {
          policy: request.policy,
        },
      ttlSeconds: request.ttlSeconds,
      tags: request.tags,
      askMfaCode,
    }).catch(explainMfa);
    const session = await storeSession(ctx, grant, request.scopes, profile);
    const { id, ...described } = describeSession(
      session,
      ctx.now(),
      ctx.masking?.stats(session.id),
    );
    await ctx.audit.record({
      event: "grant",
      outcome: "granted",
      client,
      scopes: formatScopes(request.scopes),
      ttl,
      session_id: id,
      profile: profile ?? DEFAULT_CHAIN,
      expires_at: described.expires_at,
      source_identity: grant.identity?.sourceIdentity,
      caller_name: grant.callerName,
      ...(ctx.masking ? { masked: true } : {}),
    });
    ctx.log(
      `granted ${formatScopes(request.scopes)} for ${ttl} as ${id} to ${clientName(client)}, ` +
        `profile ${profile ?? DEFAULT_CHAIN}${ctx.masking ? ", masked" : ""}`,
    );
    return {
      session_id: id,
      ...described,
      usage: `env $(cat ${shellWord(session.file)}) <command>`,
      ...(ctx.masking ? { credentials_note: MASKED_NOTE } : {}),
      ...accountWideNoteOf(request.scopes, ctx.options.allow),
      ...resourceNote,
    };
  } catch (error) {
    const declined = error instanceof DeclinedError;
    const refused = error instanceof UsageError || declined;
    await ctx.audit.record({
      event: refused ? "refusal" : "grant",
      outcome: declined ? "declined" : refused ? "refused" : "failed",
      client,
      scopes: scopes ? formatScopes(scopes) : requestedText(args),
      ttl,
      profile: args.profile ?? ctx.options.profile ?? DEFAULT_CHAIN,
      reason: error instanceof UserError ? error.message : "unexpected failure",
    });
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    ctx.log(`refused a grant to ${clientName(client)}: ${reason}`);
    throw error;
  }
}

/**
 * Writes the grant's env file and remembers the session. Masked, the file gets stand-in keys and
 * the proxy's URL, and the session stays in the proxy (revoked there if the file cannot be made).
 */
async function storeSession(
  ctx: ToolContext,
  grant: Grant,
  scopes: Scope[],
  profile: string | undefined,
): Promise<Session> {
  const vars = ctx.masking
    ? ctx.masking.mask(grant)
    : grantVariables(grant.credentials, { region: grant.region, sessionName: grant.sessionName });
  return await ctx.sessions.add({
    id: grant.sessionName,
    scopes,
    profile,
    region: grant.region,
    expiresAt: grant.credentials.expiration,
  }, vars).catch(async (error) => {
    await ctx.masking?.end(grant.sessionName);
    throw error;
  });
}

/**
 * The grant's policy and end once the human approved: the approval's question named its end, and
 * the time the human took to answer comes off the session, so no credentials outlive what was
 * approved. The policy denies everything after that end; the broker shortens the session to it.
 * A yes that leaves less than half the grant's time, or less than a minute of a longer grant, is
 * refused: a one-minute grant stays possible under approval, answered within half a minute.
 */
function approvedPolicy(
  policy: SessionPolicy,
  approval: { end: Date; now: Date; ttlSeconds: number },
): { policy: SessionPolicy; notAfter: Date } {
  const left = approval.end.getTime() - approval.now.getTime();
  const least = Math.min(MIN_APPROVED_LEFT_MS, (approval.ttlSeconds * 1000) / 2);
  if (left < least) {
    const leastText = least === MIN_APPROVED_LEFT_MS ? "a minute" : `${Math.ceil(least / 1000)}s`;
    throw new RuntimeError(
      `The approval came too late: the approved time ended at ${approval.end.toISOString()}, or ` +
        `less than ${leastText} of it is left, so no credentials were requested`,
      { hint: "ask again; the human's answer starts nothing, the question's time does" },
    );
  }
  const bounded = withDeadline(policy, approval.end);
  checkPolicySize(bounded);
  return { policy: bounded, notAfter: approval.end };
}

/** The least time an approved grant of a minute or more must have left when the yes arrives. */
const MIN_APPROVED_LEFT_MS = 60_000;

/** The services + level and the scopes string as command-line scope values. */
function scopeValues(args: GrantArgs): string[] {
  const values: string[] = [];
  const services = args.services ?? [];
  const resources = new Map(
    Object.entries(args.resources ?? {}).map(([key, list]) => [key.trim().toLowerCase(), list]),
  );
  if (services.length) {
    const level = parseLevel(args.level ?? "read_only");
    for (const service of services) {
      if (/[,:@\s]/.test(service.trim()) || !service.trim()) {
        throw new UsageError(
          `Invalid service "${logText(service, 64)}": name one service per item (e.g. "s3")`,
          { hint: 'for per-service levels use scopes, e.g. "s3:ro,dynamodb:full"' },
        );
      }
      const key = service.trim().toLowerCase();
      const named = resources.get(key);
      resources.delete(key);
      if (!named) {
        values.push(`${service.trim()}:${level}`);
        continue;
      }
      for (const resource of named) {
        if (resource.includes(",")) {
          throw new UsageError(
            `Invalid resource "${logText(resource, 100)}": one resource per item, no commas`,
          );
        }
        values.push(`${service.trim()}:${level}@${resource.trim()}`);
      }
    }
  } else if (args.level !== undefined) {
    parseLevel(args.level);
  }
  const [unknown] = resources.keys();
  if (unknown !== undefined) {
    throw new UsageError(
      `resources names "${
        logText(unknown, 64)
      }", which is not in services: each key of resources must be one of services`,
      { hint: 'e.g. {"services": ["s3"], "resources": {"s3": ["my-bucket"]}}' },
    );
  }
  if (args.scopes?.trim()) values.push(args.scopes);
  if (!values.length) {
    throw new UsageError('No services given: pass services (e.g. ["s3"]) or scopes ("s3:ro")');
  }
  return values;
}

function requestedText(args: GrantArgs): string {
  const services = (args.services ?? []).slice(0, 20).map((s) => `${s}:${args.level ?? "ro"}`);
  const more = (args.services?.length ?? 0) > 20 ? [`(${args.services!.length - 20} more)`] : [];
  return [...services, ...more, ...(args.scopes ? [args.scopes] : [])].join(",").slice(0, 500);
}

/**
 * The profile of this grant: the server's own unless the agent names one the human allowed.
 * A refusal names no other profile (neither the server's nor any that exists).
 */
function checkProfile(ctx: ToolContext, profile: string | undefined): string | undefined {
  const own = ctx.options.profile;
  if (profile === undefined || profile === own) return own;
  if (ctx.options.allowProfiles?.has(profile)) return profile;
  throw new UsageError(`Profile "${logText(profile, 64)}" is not allowed on this server`, {
    hint: "omit profile to use the server's; only the human who starts the server can allow others",
  });
}

/** How the audit log and the stderr log name the SDK's default chain. */
const DEFAULT_CHAIN = "(default chain)";

/** A path as one shell word, for `usage`: as it is when no shell treats a character of it specially. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : shQuote(path);
}

/** `{ note }` when the allow list kept account-wide actions out of a grant on named resources. */
function accountWideNoteOf(
  scopes: readonly Scope[],
  allow: AllowList | undefined,
): { note?: string } {
  const note = accountWideNote(scopes, allow, levelName);
  return note === undefined ? {} : { note };
}

/**
 * `{ resource_note }` when a named resource has a note (an S3 bucket that only an old bucket can
 * be called), each said once, as one bounded line.
 */
function resourceNoteOf(policy: SessionPolicy): { resource_note?: string } {
  const notes = new Set(
    policy.parts.flatMap((part) => (part.resources ?? []).flatMap(({ note }) => note ?? [])),
  );
  return notes.size ? { resource_note: messageLine([...notes].join("; "), MAX_NOTE_CHARS) } : {};
}

/** The longest `resource_note`: a few notes, each quoting at most 64 characters of a name. */
const MAX_NOTE_CHARS = 1000;
