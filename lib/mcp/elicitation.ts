/**
 * What `grant_access` asks the human, never the agent, through MCP elicitation: the approval of
 * a grant (`serve --approve`), and the code of an MFA device when there is no MFA session. The
 * human's attention is not the agent's to flood: one question (approval or MFA code) open at a
 * time, and none for a minute after a no.
 *
 * @module
 */

import type { AskMfaCode } from "../aws/base_credentials.ts";
import { DeclinedError, UsageError } from "../core/errors.ts";
import { formatTime } from "../core/time_text.ts";
import { logText, messageLine } from "../core/log_text.ts";
import { needsApproval } from "../request/approval.ts";
import { grantDeadline } from "../request/deadline.ts";
import type { Scope } from "../request/scope.ts";
import { formatTtl } from "../request/ttl.ts";
import { clientName, clientOf, type ToolContext } from "./context.ts";

/** How long the human has to answer an approval request. */
const APPROVAL_TIMEOUT_MS = 10 * 60_000;

/** After the human says no, no approval question for this long. */
const QUIET_AFTER_NO_MS = 60_000;

/** The longest resource note in the question: as long as `grant_access`'s `resource_note`. */
const MAX_RESOURCE_NOTE_CHARS = 1000;

/** What the human is asked: a grant's approval, or an MFA device's code. */
type Question = "approval question" | "MFA code question";

/**
 * The human's attention, which an agent must not flood: one question (approval or MFA code) open
 * at a time, and none for {@linkcode QUIET_AFTER_NO_MS} after a no to either.
 */
export interface Asking {
  /** The question waiting for the human's answer, if any. */
  open?: Question;
  /** When the human last declined (the server's clock, in ms), and what. */
  declined?: { at: number; question: Question };
}

/** What the human is asked to approve. */
export interface ApprovalQuestion {
  /** The scopes of the grant. */
  scopes: readonly Scope[];
  /** Its length. */
  ttlSeconds: number;
  /** Whose credentials sign it (the server's profile, or one the human allowed). */
  profile: string | undefined;
  /** The server's attention state. */
  asking: Asking;
  /**
   * What the grant's result tells the agent of a named resource that is more often a typo (an S3
   * bucket name only an old bucket can have), as `resource_note`: the human sees it too.
   */
  resourceNote?: string;
}

/**
 * Asks the human to approve the grant when the server's `--approve` mode wants it: refuses when
 * the client cannot ask, while another question is open or within a minute of a no; throws a
 * {@linkcode DeclinedError} unless the human ticks yes. Returns the end the question named (the
 * time of the question plus the TTL, to the second), which no credentials may outlive, or
 * `undefined` when nobody was asked.
 */
export async function askApproval(
  ctx: ToolContext,
  question: ApprovalQuestion,
): Promise<Date | undefined> {
  const { scopes, ttlSeconds, profile, asking, resourceNote } = question;
  const mode = ctx.options.approve;
  if (!needsApproval(mode, scopes)) return undefined;
  const capabilities = ctx.server.server.getClientCapabilities();
  if (!capabilities?.elicitation?.form) {
    throw new UsageError(
      `Approval required (--approve ${mode}) but this MCP client cannot ask the human: it does ` +
        "not support elicitation",
      {
        hint: mode === "full"
          ? "ask for read_only access, use a client that supports MCP elicitation, or have the " +
            "human restart the server with --approve never"
          : "use a client that supports MCP elicitation, or have the human restart the server " +
            "with --approve full or never",
      },
    );
  }
  checkAskable(ctx, asking, "approval question");
  const client = clientName(clientOf(ctx));
  const approvedEnd = grantDeadline(ctx.now(), ttlSeconds);
  const until = formatTime(approvedEnd);
  const lines = scopes.map((s) => {
    const name = ctx.catalog.lookup(s.service)?.name ?? s.service;
    const on = s.resources ? ` on ${s.resources.join(", ")} only` : "";
    const what = s.level === "full"
      ? "full access (every action)"
      : s.level === "ro"
      ? "read-only (Read and List)"
      : "list only (names and metadata)";
    return `  ${s.service} (${name}): ${what}${on}`;
  });
  // `${…}` reads as part of a name, but AWS writes a value there at each call, one the agent may
  // choose (its User-Agent, its client name in a session tag): the human must know before a yes.
  if (scopes.some((s) => s.resources?.some((r) => r.includes("${")))) {
    lines.push(
      "  note: ${…} in a resource is an IAM policy variable: AWS fills it in at each call, " +
        "with text the agent may choose (its User-Agent, its name), so it may stand for any name",
    );
  }
  // A bucket only an old bucket can be called is more often a typo for another one: the human
  // decides on the name, so sees the note the agent gets, bounded as the agent gets it.
  if (resourceNote !== undefined) {
    lines.push(`  note: ${messageLine(resourceNote, MAX_RESOURCE_NOTE_CHARS)}`);
  }
  // Whose credentials: an agent may name another profile the human allowed (prod, say), and the
  // human must see that before saying yes.
  const signer = profile === undefined
    ? "with the default AWS credentials"
    : `with AWS profile "${logText(profile, 64)}"`;
  const other = profile !== ctx.options.profile ? " (not this server's own profile)" : "";
  let answer;
  asking.open = "approval question";
  try {
    answer = await ctx.server.server.elicitInput({
      mode: "form",
      message:
        `${client} asks for AWS credentials for ${formatTtl(ttlSeconds)} (until ${until}), ` +
        `${signer}${other}:\n${lines.join("\n")}\nApprove?`,
      requestedSchema: {
        type: "object",
        properties: {
          approve: {
            type: "boolean",
            title: "Approve these credentials",
            description: "Grant the agent these credentials",
            // No default of yes: a client fills defaults into an empty "accept", and shows the
            // box ticked; only the human's own tick approves.
            default: false,
          },
        },
        required: ["approve"],
      },
    }, { timeout: APPROVAL_TIMEOUT_MS });
  } catch (error) {
    asking.declined = { at: ctx.now().getTime(), question: "approval question" };
    throw new DeclinedError(
      "Declined: the approval request failed, so no credentials were requested",
      {
        cause: error,
        hint: `the client answered: ${error instanceof Error ? error.message : String(error)}`,
      },
    );
  } finally {
    asking.open = undefined;
  }
  // Only an explicit yes approves: an "accept" without the answer (or with anything but true) is
  // no approval.
  if (answer.action !== "accept" || answer.content?.approve !== true) {
    asking.declined = { at: ctx.now().getTime(), question: "approval question" };
    throw new DeclinedError(
      `Declined by the human: no credentials were requested (${answer.action})`,
      { hint: "do not retry the same request; ask the human what access they want to give" },
    );
  }
  return approvedEnd;
}

/**
 * Refuses a question while another (approval or MFA code) is open, or within a minute of the
 * human's no to either: an agent's burst or loop gets one question, not a screenful.
 */
function checkAskable(ctx: ToolContext, asking: Asking, question: Question): void {
  if (asking.open) {
    throw new UsageError(
      `An ${asking.open} is already waiting for the human: this grant was not asked`,
      { hint: "wait for that answer, and ask for everything you need in one grant" },
    );
  }
  const since = asking.declined === undefined ? Infinity : ctx.now().getTime() - asking.declined.at;
  if (since >= 0 && since < QUIET_AFTER_NO_MS) {
    const what = asking.declined!.question === "approval question"
      ? "a grant"
      : "an MFA code question";
    throw new UsageError(
      `The human declined ${what} ${Math.floor(since / 1000)}s ago: no new ${question} ` +
        `for ${Math.ceil((QUIET_AFTER_NO_MS - since) / 1000)}s`,
      { hint: "do not retry; tell the human what you need and why" },
    );
  }
}

/**
 * How a grant with `profile`'s credentials asks for an MFA code: through elicitation when the
 * client supports it, one question at a time and none for a minute after a no (the approval's
 * rule, shared with it), else not at all (a missing code then fails with
 * {@linkcode mfaLoginNeeded}).
 */
export function mfaCodeAsker(
  ctx: ToolContext,
  question: { asking: Asking; profile: string | undefined },
): AskMfaCode | undefined {
  return canElicit(ctx) ? (serial) => elicitMfaCode(ctx, serial, question) : undefined;
}

function canElicit(ctx: ToolContext): boolean {
  return Boolean(ctx.server.server.getClientCapabilities()?.elicitation?.form);
}

/** The error for an MFA code nobody can be asked for: the human runs `mfa login`. */
export function mfaLoginNeeded(serial: string): UsageError {
  return new UsageError(
    `An MFA code for ${serial} is needed, and this MCP client cannot ask the human for it`,
    {
      hint: "ask the human to run: timebound-iam mfa login (then try again); never pass a code " +
        "yourself",
    },
  );
}

/**
 * Asks the human, not the agent, for the MFA code through MCP elicitation, naming the profile
 * whose MFA session the code starts.
 */
async function elicitMfaCode(
  ctx: ToolContext,
  serial: string,
  { asking, profile }: { asking: Asking; profile: string | undefined },
): Promise<string> {
  checkAskable(ctx, asking, "MFA code question");
  const client = clientName(clientOf(ctx));
  // The code starts an MFA session of this profile: the human must see whose before typing it.
  const whose = profile === undefined
    ? ""
    : ` of AWS profile "${logText(profile, 64)}"${
      profile !== ctx.options.profile ? " (not this server's own profile)" : ""
    }`;
  let answer;
  asking.open = "MFA code question";
  try {
    answer = await ctx.server.server.elicitInput({
      mode: "form",
      message: `${client} asks for AWS credentials${whose}, and there is no MFA session: type ` +
        `the current code of your MFA device ${serial} (it is sent to AWS once, never to the ` +
        "agent).",
      requestedSchema: {
        type: "object",
        properties: {
          code: {
            type: "string",
            title: "MFA code",
            description: "The six digits your authenticator app shows now",
            minLength: 6,
            maxLength: 6,
          },
        },
        required: ["code"],
      },
    }, { timeout: APPROVAL_TIMEOUT_MS });
  } catch (error) {
    asking.declined = { at: ctx.now().getTime(), question: "MFA code question" };
    throw new DeclinedError(
      "Declined: the MFA code request failed, so no credentials were requested",
      {
        cause: error,
        hint: "ask the human to run: timebound-iam mfa login",
      },
    );
  } finally {
    asking.open = undefined;
  }
  const code = answer.action === "accept" ? answer.content?.code : undefined;
  if (typeof code !== "string") {
    asking.declined = { at: ctx.now().getTime(), question: "MFA code question" };
    throw new DeclinedError(
      `Declined by the human: no MFA code was given, so no credentials were requested (${answer.action})`,
      { hint: "do not retry the same request; ask the human to run: timebound-iam mfa login" },
    );
  }
  return code;
}
