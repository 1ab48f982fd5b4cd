// How a time reads to a person (the summary, `Proceed?`, the credential server's log): the local
// time and zone, then UTC once, with the date wherever the two dates differ.
import assert from "node:assert/strict";
import { formatTime } from "../lib/core/time_text.ts";

Deno.test("formatTime() shows the local time and zone, then UTC, with its date when it differs", () => {
  const cases: Array<[string, string, string]> = [
    // The hour after midnight is 00, never 24.
    ["2026-11-22T00:30:03Z", "UTC", "2026-11-22 00:30:03 UTC"],
    [
      "2026-11-22T23:30:03Z",
      "Europe/Berlin",
      "2026-11-23 00:30:03 GMT+1 (2026-11-22 23:30:03 UTC)",
    ],
    // Behind UTC across midnight: the UTC date is the later one.
    [
      "2026-11-23T02:00:00Z",
      "America/Los_Angeles",
      "2026-11-22 18:00:00 PST (2026-11-23 02:00:00 UTC)",
    ],
    // Half an hour off, the same date.
    ["2026-07-01T06:15:00Z", "Asia/Kolkata", "2026-07-01 11:45:00 GMT+5:30 (06:15:00 UTC)"],
    // A zone at UTC+0 in winter says UTC once.
    ["2026-01-15T09:05:07Z", "Europe/London", "2026-01-15 09:05:07 UTC"],
    ["2026-07-15T09:05:07Z", "Europe/London", "2026-07-15 10:05:07 GMT+1 (09:05:07 UTC)"],
  ];
  for (const [instant, timeZone, expected] of cases) {
    assert.equal(
      formatTime(new Date(instant), { timeZone }),
      expected,
      `${instant} in ${timeZone}`,
    );
  }
});
