/**
 * What `exec --masked` and `shell --masked` tell about the calls made when the command or the
 * shell ends: `--calls` lists each distinct call on stderr (service, action, resource, count,
 * refused or not, and why the proxy refused one), `--calls=FILE` writes them as JSON lines to a
 * new 0600 file, and `--learn` prints the narrowest `-s` line that allows them all, ready to
 * paste (a call sent to AWS that got no answer reached AWS: the line allows it). Each says what
 * the record leaves out: the calls past its bound (the record is then
 * incomplete, and `--learn` proposes no line), and the refused requests that named the stand-in
 * key id without a verified signature (counted, never listed or learned from).
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { RuntimeError, UsageError } from "../core/errors.ts";
import { logText } from "../core/log_text.ts";
import {
  type CallTally,
  incompleteText,
  renderCallJson,
  renderCallLines,
  unlistedLines,
} from "../delivery/call_tally.ts";
import { shQuote } from "../delivery/shell_env.ts";
import { loadCatalog } from "../request/catalog.ts";
import { learnScopes } from "../request/learned_scopes.ts";
import type { Io } from "../core/io.ts";

/** What the user asked to be told: `--calls` (true: stderr; a path: that file) and `--learn`. */
export interface CallReportFlags {
  /** `--calls` or `--calls=FILE`. */
  calls?: boolean | string;
  /** `--learn`. */
  learn?: boolean;
}

/**
 * Checks the flags before anything is granted: both need `--masked` (only the signing proxy
 * sees the calls), and `--calls=FILE` must name a file that does not exist yet, in a directory
 * that does. Nothing is checked when neither flag is given. Each is a usage error (exit 2): a bad
 * value, found before anything runs.
 */
export async function checkCallReport(
  flags: CallReportFlags,
  context: { masked: boolean; command?: "exec" | "shell" },
): Promise<void> {
  if (flags.calls === undefined && flags.learn !== true) return;
  if (!context.masked) {
    const flag = flags.learn ? "--learn" : "--calls";
    throw new UsageError(`${flag} needs --masked: only the signing proxy sees the calls`, {
      hint: context.command === "shell"
        ? `e.g. timebound-iam shell --masked ${flag} -s s3:ro -t 1h`
        : `e.g. timebound-iam exec --masked ${flag} -s s3:ro -t 15m -- aws s3 ls`,
    });
  }
  if (typeof flags.calls === "string") {
    const reason = await whyNotNew(resolve(flags.calls));
    if (reason !== undefined) throw new UsageError(callsFileText(flags.calls, reason), CALLS_HINT);
  }
}

/**
 * Why a new file cannot be created at `path`, or `undefined` when it can be, as far as can be told
 * before it is: its directory (symlinks followed, as the open follows them) and the name itself.
 */
async function whyNotNew(path: string): Promise<string | undefined> {
  try {
    if (!(await Deno.stat(dirname(path))).isDirectory) {
      return "a part of its path is a file, not a directory";
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "its directory is missing";
    if (error instanceof Deno.errors.NotADirectory) {
      return "a part of its path is a file, not a directory";
    }
    return firstLine(error);
  }
  try {
    await Deno.lstat(path);
    return "it exists already";
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? undefined : firstLine(error);
  }
}

function firstLine(error: unknown): string {
  return logText((error as Error).message.split("\n")[0], 300);
}

function callsFileText(path: string, reason: string): string {
  return `Cannot write the calls to "${logText(path, 300)}": ${reason}`;
}

const CALLS_HINT = {
  hint: "name a new file: --calls=FILE creates it 0600 and never overwrites one",
};

/**
 * Writes what the flags ask for, once the child has ended. The file is created new (never
 * through a symlink, never over an existing file) with mode 0600.
 */
export async function reportCalls(
  io: Pick<Io, "stderr">,
  tally: CallTally,
  flags: CallReportFlags,
): Promise<void> {
  const calls = tally.calls();
  if (typeof flags.calls === "string") {
    await writeCallsFile(flags.calls, renderCallJson(calls, tally));
    io.stderr(
      `calls: ${tally.total} (${calls.length} distinct) written to ${flags.calls}\n` +
        unlistedLines(tally).map((line) => `${line}\n`).join(""),
    );
  } else if (flags.calls) {
    io.stderr(renderCallLines(calls, tally));
  }
  if (flags.learn) io.stderr(await learnedText(calls, tally));
}

async function writeCallsFile(path: string, text: string): Promise<void> {
  let file: Deno.FsFile;
  try {
    // createNew is O_CREAT|O_EXCL: it fails on any existing entry, a symlink included.
    file = await Deno.open(resolve(path), { createNew: true, write: true, mode: 0o600 });
  } catch (error) {
    const reason = error instanceof Deno.errors.AlreadyExists
      ? "it was created while the command ran"
      : firstLine(error);
    // The command has run: a failure now is one of the run (exit 1), not of the flag.
    throw new RuntimeError(callsFileText(path, reason), { cause: error, ...CALLS_HINT });
  }
  try {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
  } finally {
    file.close();
  }
}

/** The learned `-s` line and its notes, as `--learn` prints them. */
async function learnedText(
  calls: ReturnType<CallTally["calls"]>,
  counts: Pick<CallTally, "dropped" | "unverified">,
): Promise<string> {
  // A call the proxy refused never reached AWS: it asks for nothing. One sent to AWS that got no
  // answer did reach it, and may have been carried out: it counts.
  const reached = calls.filter((call) => !call.byProxy);
  // A line learned from part of the calls would be narrower than the run needs, silently.
  if (counts.dropped) {
    return `learned: nothing: the record is ${incompleteText(counts.dropped)}, and a line must ` +
      "allow every call\n";
  }
  const learned = await learnScopes(reached, await loadCatalog());
  const lines: string[] = [];
  if (learned.text === "") {
    lines.push("learned: no call needs a scope");
  } else {
    const count = reached.reduce((sum, call) => sum + call.count, 0);
    lines.push(
      `learned: the narrowest scopes that allow the ${count} call${count === 1 ? "" : "s"} ` +
        "it made:",
      `  -s ${shQuote(learned.text)}`,
    );
  }
  const refused = reached.filter((call) => call.refused).length;
  if (refused) {
    lines.push(
      `note: ${refused} distinct call${refused === 1 ? " was" : "s were"} refused by AWS; ` +
        "the line allows them, but the broker role may not",
    );
  }
  const unanswered = reached.filter((call) => call.unanswered).length;
  if (unanswered) {
    lines.push(
      `note: ${unanswered} distinct call${unanswered === 1 ? " was" : "s were"} sent to AWS and ` +
        `got no answer: whether AWS carried ${unanswered === 1 ? "it" : "them"} out is unknown; ` +
        `the line allows ${unanswered === 1 ? "it" : "them"}`,
    );
  }
  if (calls.length > reached.length) {
    lines.push("note: calls the signing proxy refused are left out (they never reached AWS)");
  }
  if (counts.unverified) {
    lines.push(
      `note: ${counts.unverified} refused request${counts.unverified === 1 ? "" : "s"} not ` +
        `verified as signed with the stand-in key ${counts.unverified === 1 ? "is" : "are"} ` +
        "left out",
    );
  }
  for (const text of learned.notes) lines.push(`note: ${logText(text, 300)}`);
  return lines.map((line) => `${line}\n`).join("");
}
