/**
 * The summary shown before credentials are requested, and the `Proceed? [y/N]` question. Both go
 * to standard error, so standard output stays for the child or for `eval`.
 *
 * @module
 */

import { formatTime } from "../core/time_text.ts";
import { pauseWaitingLines } from "../core/waiting_line.ts";
import type { Catalog } from "../request/catalog.ts";
import type { GrantRequest } from "../request/grant_request.ts";
import { mintingActionsAllowed } from "../request/minting_actions.ts";
import type { NamedResource } from "../request/resource.ts";
import { formatScopes } from "../request/scope.ts";
import type { PolicyPart } from "../request/session_policy.ts";
import { formatTtl, renewalIntervalSeconds } from "../request/ttl.ts";
import { grantDeadline } from "../request/deadline.ts";

/** What the summary says about the caller and the role; `undefined` fields are unknown. */
export interface SummaryFacts {
  /** The grant request. */
  request: GrantRequest;
  /** The catalog, for service display names. */
  catalog: Catalog;
  /** The profile, or undefined for the default chain. */
  profile?: string;
  /** The AWS account, when known. */
  account?: string;
  /** The caller's ARN, when known. */
  callerArn?: string;
  /** The broker role's ARN, when known. */
  roleArn?: string;
  /** The region. */
  region?: string;
  /** Why the account and role are unknown (a dry run without base credentials). */
  unknownBecause?: string;
  /** The command `exec` will run. */
  command?: readonly string[];
  /** How long `--refresh` renews the credentials, if it does. */
  refreshSeconds?: number;
  /** Whether the command gets stand-in keys and the signing proxy (`--masked`). */
  masked?: boolean;
  /** The current time (for the absolute expiry). */
  now: Date;
  /** The SourceIdentity the session will carry, if any. */
  sourceIdentity?: string;
  /** The caller's own name, as a SourceIdentity (when known). */
  callerName?: string;
}

/**
 * Renders the request summary: account, caller, role, profile, region, TTL with the absolute
 * expiry, each scope with what it allows, and the command.
 */
export function renderSummary(facts: SummaryFacts): string {
  const { request } = facts;
  const unknown = facts.unknownBecause ? `unknown (${facts.unknownBecause})` : "unknown";
  const expiry = request.policy.deadline ?? grantDeadline(facts.now, request.ttlSeconds);
  const rows: Array<[string, string]> = [
    ["account", facts.account ?? unknown],
    ["caller", facts.callerArn ?? unknown],
    ["role", facts.roleArn ?? unknown],
    ["profile", facts.profile ?? "(default credential chain)"],
    ["region", facts.region ?? unknown],
    ["ttl", `${formatTtl(request.ttlSeconds)}, until ${formatTime(expiry)}`],
  ];
  if (facts.sourceIdentity || facts.callerName) rows.push(["identity", identityText(facts)]);
  if (facts.refreshSeconds !== undefined) {
    const until = new Date(facts.now.getTime() + facts.refreshSeconds * 1000);
    rows.push([
      "renewal",
      `renews every ${formatTtl(renewalIntervalSeconds(request.ttlSeconds))} until ` +
      `${formatTime(until)} ` +
      `(${formatTtl(facts.refreshSeconds)}), through a local endpoint`,
    ]);
  }
  if (facts.masked) {
    rows.push([
      "masked",
      "stand-in keys and a loopback signing proxy (AWS_ENDPOINT_URL); the command never " +
      "holds the session",
    ]);
  }
  const labels = request.policy.parts.map(({ scope }) => formatScopes([scope]));
  const width = Math.min(24, Math.max(...labels.map((label) => label.length)));
  request.policy.parts.forEach((part, i) => {
    const { scope, actions } = part;
    const name = facts.catalog.lookup(scope.service)?.name ?? scope.service;
    const patterns = `${actions.length} pattern${actions.length === 1 ? "" : "s"}`;
    const what = scope.level === "full"
      ? `every ${name} action (${scope.service}:*)`
      : scope.level === "ro"
      ? `${name}, Read and List actions only (${patterns})`
      : `${name}, List actions only: names and metadata (${patterns})`;
    rows.push([i === 0 ? "scopes" : "", `${labels[i].padEnd(width)}  ${what}`]);
    const indent = " ".repeat(width + 2);
    if (part.withheld) {
      rows.push([
        "",
        `${indent}left out (they return contents or act): ${part.withheld.join(", ")}`,
      ]);
    }
    for (const { Action, Condition } of part.conditionalReads ?? []) {
      // A Write action allowed only where it reads: the condition is what keeps it read-only.
      const when = Object.entries(Condition.StringEquals).map(([key, value]) => `${key} ${value}`)
        .join(", ");
      rows.push(["", `${indent}and ${Action.join(", ")} only with ${when} (to read)`]);
    }
    const minting = facts.masked
      ? mintingActionsAllowed(scope.service, [...actions, ...part.accountWide ?? []])
      : [];
    if (minting.length) {
      rows.push([
        "",
        `${indent}refused by the proxy (they mint credentials): ${minting.join(", ")}`,
      ]);
    }
    if (!part.resources) return;
    rows.push(
      ...resourceLines(part, part.resources).map((line): [string, string] => [
        "",
        `${indent}${line}`,
      ]),
    );
    const wide = part.accountWide ?? [];
    rows.push([
      "",
      wide.length
        ? `${indent}account-wide: ${wide.length} pattern${
          wide.length === 1 ? "" : "s"
        } for actions that name no resource (${wide.slice(0, 3).join(", ")}${
          wide.length > 3 ? ", …" : ""
        })`
        : `${indent}nothing account-wide`,
    ]);
  });
  if (facts.command) rows.push(["command", facts.command.join(" ")]);
  const lines = rows.map(([label, value]) => `  ${label.padEnd(8)} ${value}`);
  return `timebound-iam will request temporary AWS credentials:\n${lines.join("\n")}\n`;
}

/** The summary's lines on a scope's named resources: where its actions apply, and their notes. */
function resourceLines(part: PolicyPart, resources: readonly NamedResource[]): string[] {
  const arns = [...new Set(resources.flatMap((r) => r.arns))];
  const count = part.actionsOnResources ?? 0;
  const lines = [`on ${arns.join(", ")} only (${count} action${count === 1 ? "" : "s"})`];
  for (const { listing } of resources) {
    if (listing) lines.push(`and s3:ListBucket on ${listing.bucketArn} for keys ${listing.prefix}`);
  }
  for (const { note } of resources) {
    if (note) lines.push(`note: ${note}`);
  }
  if (resources.some(({ written }) => written.includes("${"))) {
    // `${aws:username}` reads as part of a name, `${*}` as a wildcard: neither is.
    lines.push(
      "note: ${…} is an IAM policy variable, filled in by AWS at each call " +
        "(${*}, ${?} and ${$} are those characters themselves, not wildcards)",
    );
  }
  return lines;
}

/** The SourceIdentity row: what CloudTrail will show, and the caller's own name if it differs. */
function identityText(facts: SummaryFacts): string {
  if (!facts.sourceIdentity) return "none (the broker role refused it before)";
  const own = facts.callerName && facts.callerName !== facts.sourceIdentity
    ? `, caller ${facts.callerName}`
    : "";
  return `${facts.sourceIdentity} (CloudTrail sourceIdentity${own})`;
}

/**
 * Asks `Proceed? [y/N]` on the terminal (through `@inquirer/prompts`, written to standard
 * error). Resolves to false on "no", on Enter, and on Ctrl-C.
 */
export async function askToProceed(): Promise<boolean> {
  const [{ confirm }, process] = await Promise.all([
    import("@inquirer/prompts"),
    import("node:process"),
  ]);
  try {
    return await pauseWaitingLines(() =>
      confirm({ message: "Proceed?", default: false }, { output: process.stderr })
    );
  } catch (error) {
    if ((error as Error).name === "ExitPromptError") return false;
    throw error;
  }
}
