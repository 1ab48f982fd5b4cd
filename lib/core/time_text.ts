/**
 * How a time is shown to a person, in one format everywhere: the local date and time with the
 * zone's name, then the UTC instant once, in brackets (`2026-11-22 12:30:03 CET (11:30:03 UTC)`);
 * just UTC where the local zone is UTC. Machines (env files, JSON, caches) keep ISO 8601.
 *
 * @module
 */

/** The parts of a time in one zone. */
interface Parts {
  date: string;
  time: string;
  zone: string;
}

function partsIn(instant: Date, timeZone: string | undefined): Parts {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  const part = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  return {
    date: `${part.year}-${part.month}-${part.day}`,
    time: `${part.hour}:${part.minute}:${part.second}`,
    zone: part.timeZoneName,
  };
}

/**
 * `instant` for a person: local time and zone, then the UTC instant (its date too when that
 * differs). `timeZone` overrides the local zone (for tests).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTime } from "./time_text.ts";
 * const at = new Date("2026-11-22T23:30:03Z");
 * assert.equal(formatTime(at, { timeZone: "UTC" }), "2026-11-22 23:30:03 UTC");
 * assert.equal(formatTime(at, { timeZone: "Europe/Paris" }), "2026-11-23 00:30:03 GMT+1 (2026-11-22 23:30:03 UTC)");
 * assert.equal(formatTime(at, { timeZone: "America/New_York" }), "2026-11-22 18:30:03 EST (23:30:03 UTC)");
 * ```
 */
export function formatTime(instant: Date, options: { timeZone?: string } = {}): string {
  const utc = partsIn(instant, "UTC");
  const local = partsIn(instant, options.timeZone);
  const utcText = `${utc.date} ${utc.time} UTC`;
  if (local.date === utc.date && local.time === utc.time) return utcText;
  const bracket = local.date === utc.date ? `${utc.time} UTC` : utcText;
  return `${local.date} ${local.time} ${local.zone} (${bracket})`;
}
