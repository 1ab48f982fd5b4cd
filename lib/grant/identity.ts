/**
 * Who a grant names in CloudTrail: the SourceIdentity (the caller's own name, or the human's
 * `--source-identity`) and the session tags, or nothing when the broker role refuses them.
 * {@linkcode planIdentity} is the one place that decides, for every front end; the retry without
 * identity stays in `aws/broker.ts`.
 *
 * Broker roles created before timebound-iam sent them refuse a SourceIdentity and session tags:
 * the config file remembers which caller each refused, so that caller's grants go without
 * identity at once instead of being refused first, and every such grant says so — never a silent
 * downgrade. A refusal is remembered for the caller it was made to only: a trust policy may allow
 * `sts:SetSourceIdentity` to one principal and not to another.
 *
 * @module
 */

import type { SessionIdentity } from "../aws/broker.ts";
import { logText, messageLine } from "../core/log_text.ts";
import { readTrustedFile } from "../core/private_dir.ts";
import { callerPrincipal, type SessionTag, sourceIdentityOf } from "../request/session_identity.ts";
import {
  type Config,
  type LoadedConfig,
  parseConfig,
  saveConfig,
  withIdentityRefusal,
} from "./config_file.ts";

/**
 * Whose grant it is, which decides what a refused identity leads to: the human's own grants
 * (`exec`, `env`…) may go without it, and remember that; an agent's (`serve`) never do, since
 * whether the role accepts it can hang on values the agent chose; a probe (`doctor`) always
 * asks with it, to learn whether the role accepts it.
 */
export type IdentityFor = "human" | "agent" | "probe";

/** What a grant sends as its identity, and what a refusal of it leads to. */
export interface IdentityPlan {
  /** The SourceIdentity and session tags to send; none when the grant goes without. */
  identity?: SessionIdentity;
  /** True when the grant goes without because the role refused them to this caller before. */
  skipped: boolean;
  /** What a refusal leads to, as `assumeBrokerRole`'s `refusedIdentity` takes it. */
  onRefusal: "retry" | "fail";
}

/**
 * Decides a grant's identity from the caller, the role, the human's override, the refusals the
 * config file remembers, and whether the grant is a renewal (or its granter met a refusal
 * already). A grant that names someone else (`override`) never goes without identity; only the
 * first grant in the caller's own name of the human's may be asked once more without it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planIdentity } from "./identity.ts";
 * const plan = planIdentity({
 *   callerArn: "arn:aws:iam::123456789012:user/alice",
 *   roleArn: "arn:aws:iam::123456789012:role/timebound-iam-broker",
 * }, { for: "human", now: new Date() });
 * assert.deepEqual(plan, {
 *   identity: { sourceIdentity: "alice", tags: undefined },
 *   skipped: false,
 *   onRefusal: "retry",
 * });
 * ```
 */
export function planIdentity(
  grant: { callerArn: string; roleArn: string; tags?: SessionTag[] },
  context: {
    for: IdentityFor;
    now: Date;
    override?: string;
    refusals?: Config;
    renewal?: boolean;
    refusedHere?: boolean;
  },
): IdentityPlan {
  const identity = {
    sourceIdentity: context.override ?? sourceIdentityOf(grant.callerArn),
    tags: grant.tags,
  };
  if (context.for === "probe") return { identity, skipped: false, onRefusal: "retry" };
  const skipped = context.override === undefined &&
    (context.refusedHere === true ||
      (context.refusals !== undefined &&
        identityRefusedBefore(context.refusals, { ...grant, now: context.now })));
  const retry = context.for === "human" && context.override === undefined && !context.renewal;
  return {
    ...(skipped ? {} : { identity }),
    skipped,
    onRefusal: retry ? "retry" : "fail",
  };
}

/** How long a remembered refusal of identity counts: a day. */
export const IDENTITY_REFUSAL_SECONDS = 24 * 3600;

/**
 * How to give the permissions, for notes and hints: the broker role's trust policy, and for a
 * caller that is itself an assumed role (SSO, a `role_arn` profile), that role's permissions,
 * which AWS asks too for a role-chained session.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { enableIdentityHint } from "./identity.ts";
 * assert.match(
 *   enableIdentityHint("arn:aws:sts::123456789012:assumed-role/Dev/alice"),
 *   /; and the permissions of arn:aws:sts::123456789012:assumed-role\/Dev need them too/,
 * );
 * ```
 */
export function enableIdentityHint(callerArn: string): string {
  const trust = "let CloudTrail show who asked: timebound-iam setup aws --apply adds " +
    "sts:SetSourceIdentity and sts:TagSession to the broker role's trust policy";
  return /:assumed-role\//.test(callerArn)
    ? `${trust}; and the permissions of ${callerPrincipal(callerArn)} need them too (AWS asks ` +
      "both for a role-chained session)"
    : trust;
}

/**
 * Whether the config file remembers that `roleArn` refused identity to `callerArn` less than
 * {@linkcode IDENTITY_REFUSAL_SECONDS} before `now`.
 */
export function identityRefusedBefore(
  config: Config,
  refusal: { roleArn: string; callerArn: string; now: Date },
): boolean {
  const caller = callerPrincipal(refusal.callerArn);
  const since = refusal.now.getTime() - IDENTITY_REFUSAL_SECONDS * 1000;
  return config.identityRefusals?.some((r) =>
    r.role === refusal.roleArn && r.caller === caller && r.at !== undefined &&
    Date.parse(r.at) > since && Date.parse(r.at) <= refusal.now.getTime()
  ) ?? false;
}

/**
 * Remembers in the config file that `roleArn` refused `action` (`sts:TagSession`…) to
 * `callerArn`, and returns the note (two lines) that tells the user. The grant is already made:
 * a file that cannot be written costs only the memory, and the note says why.
 */
export async function rememberIdentityRefused(
  file: LoadedConfig,
  refusal: { roleArn: string; callerArn: string; action: string; now: Date },
): Promise<string> {
  const { roleArn, action } = refusal;
  const caller = callerPrincipal(refusal.callerArn);
  const shown = logText(caller, 300);
  let remembered = `remembered in ${file.path}`;
  try {
    // Read the file again (as loadConfig reads it: only if nobody else can change it): another
    // grant (or `setup aws`) may have changed it since.
    const text = readTrustedFile(file.path);
    const current = text === undefined ? file.config : await parseConfig(text, file.path);
    await saveConfig(
      file.path,
      withIdentityRefusal(current, { role: roleArn, caller, at: refusal.now.toISOString() }),
    );
  } catch (error) {
    remembered = `not remembered: ${messageLine((error as Error).message, 300)}`;
  }
  return `note: ${roleArn} refused ${action} to ${shown}: this grant ` +
    `carries no source identity or session tags (${remembered})\nhint: ${
      enableIdentityHint(refusal.callerArn)
    }\n`;
}

/** The note for a grant without identity because the config file remembers the refusal. */
export function identitySkippedNote(
  file: LoadedConfig,
  roleArn: string,
  callerArn: string,
): string {
  return `note: no source identity or session tags: ${roleArn} refused them ` +
    `to ${logText(callerPrincipal(callerArn), 300)} before (${file.path})\nhint: ${
      enableIdentityHint(callerArn)
    }\n`;
}
