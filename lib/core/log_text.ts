/**
 * Text from outside (an MCP client's name, an agent's arguments, an error that quotes them) made
 * safe for a log line: no newline or terminal escape code survives, and it is cut to a length, so
 * a client cannot forge log lines, repaint the terminal or fill the disk. The escaping reads back
 * one way only: text that looks like an escape is escaped too, so a reader of the audit log tells
 * the characters `\u{a}` from a newline.
 *
 * @module
 */

/** The longest piece of outside text a log line or audit field keeps, by default. */
export const LOG_TEXT_MAX = 200;

/**
 * The characters that must not reach a terminal or a log line as they are: control characters
 * (C0 with newlines and ESC, DEL, C1), the line and paragraph separators, format characters
 * (zero-width spaces and joiners, the bidirectional marks, embeddings, overrides and isolates,
 * the byte order mark, tag characters: Unicode's `Cf`), with which a name displays as another,
 * and lone surrogates. Use it with `replace` only (it is global).
 */
export const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** The unsafe characters, and a backslash that an escape's `u{` follows. */
const UNSAFE_OR_ESCAPE_LIKE = new RegExp(`${UNSAFE_CHARACTERS.source}|\\\\(?=u\\{)`, "gu");

/**
 * Neutralises `text` for one log line: the {@linkcode UNSAFE_CHARACTERS} (newlines, ESC, DEL,
 * C1, zero-width and direction characters) become `\u{…}` escapes, and the result is cut to
 * `max` characters, saying how many were left out. A backslash that `u{` follows becomes
 * `\u{5c}`, so that the text `\u{a}` never reads as an escaped newline: in the result, `\u{…}`
 * always stands for one character, and any other backslash is itself (a Windows path reads as it
 * is). Give it each piece of outside text once, where a message quotes it; a message made of
 * such pieces goes to a line through {@linkcode messageLine}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logText } from "./log_text.ts";
 * assert.equal(logText("evil\n\x1b[31mred"), "evil\\u{a}\\u{1b}[31mred");
 * assert.equal(logText("a\u200bb\u{e0041}"), "a\\u{200b}b\\u{e0041}");
 * assert.equal(logText("not \\u{a} but\n"), "not \\u{5c}u{a} but\\u{a}");
 * assert.equal(logText("C:\\Users\\me\\.aws"), "C:\\Users\\me\\.aws");
 * assert.equal(logText("x".repeat(10), 4), "xxxx… (6 more characters)");
 * ```
 */
export function logText(text: string, max: number = LOG_TEXT_MAX): string {
  return boundedLine(text, max, UNSAFE_OR_ESCAPE_LIKE);
}

/**
 * A message put together here (an error's message and hint, a log line), on one line: as
 * {@linkcode logText}, but every backslash stays as it is, so the pieces of outside text that it
 * quotes, each through `logText` already, keep their escapes (`logText` again would read each
 * escape's backslash as text: `\u{5c}u{a}`). Control characters that a message quotes unescaped
 * (an AWS error's words) are still escaped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logText, messageLine } from "./log_text.ts";
 * const message = `Invalid profile name "${logText("dev\n")}"`;
 * assert.equal(messageLine(message), 'Invalid profile name "dev\\u{a}"');
 * assert.equal(messageLine("denied\nforged: line"), "denied\\u{a}forged: line");
 * ```
 */
export function messageLine(text: string, max: number = LOG_TEXT_MAX): string {
  return boundedLine(text, max, UNSAFE_CHARACTERS);
}

function boundedLine(text: string, max: number, escaped: RegExp): string {
  const safe = text.slice(0, max).replace(
    escaped,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
  return text.length > max
    ? `${safe}… (${(text.length - max).toLocaleString("en-US")} more characters)`
    : safe;
}

/** The longest `--debug` line, by default: a stack frame or an error's message. */
export const DEBUG_TEXT_MAX = 2000;

/**
 * An error as `--debug` lines: its name and message on one neutralised line (an SDK's message
 * quotes what the server sent: newlines and escape codes must not reach the terminal), then
 * each frame of its stack, each neutralised too. Nothing else of the error is shown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { debugLines } from "./log_text.ts";
 * const lines = debugLines(new Error("denied\n\x1b[2Jfake: line"));
 * assert.equal(lines[0], "Error: denied\\u{a}\\u{1b}[2Jfake: line");
 * assert.ok(lines.slice(1).every((line) => line.startsWith("    at ")));
 * ```
 */
export function debugLines(error: unknown, max: number = DEBUG_TEXT_MAX): string[] {
  if (!(error instanceof Error)) return [logText(String(error), max)];
  const header = `${error.name}: ${error.message}`;
  const stack = error.stack ?? "";
  // V8's stack starts with the header; what follows it is our frames, one per line.
  const frames = stack.startsWith(header) ? stack.slice(header.length).split("\n") : [];
  return [
    logText(error.message ? header : error.name, max),
    ...frames.filter((frame) => frame.trim() !== "").map((frame) => logText(frame, max)),
  ];
}

/**
 * The message of whatever was thrown: an error's `message`, anything else as text (not yet
 * neutralised: pass it to {@linkcode logText} for a log line).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorMessage } from "./log_text.ts";
 * assert.equal(errorMessage(new Error("no route")), "no route");
 * assert.equal(errorMessage("down"), "down");
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
