// The sliding-window limit behind grant_access's 20 calls a minute: when a call goes ahead,
// how long a refused one is told to wait, and when refusals are reported.
import assert from "node:assert/strict";
import { createCallLimit } from "../lib/mcp/rate_limit.ts";

function clocked(limit: number, windowMs: number) {
  let t = 1_000_000;
  return {
    limit: createCallLimit({ limit, windowMs, now: () => new Date(t) }),
    at: (ms: number) => t = 1_000_000 + ms,
    date: (ms: number) => new Date(1_000_000 + ms),
  };
}

Deno.test("a call goes ahead while fewer than the limit came in the last window", () => {
  const { limit, at } = clocked(3, 60_000);
  at(0);
  assert.equal(limit.take(), undefined);
  at(10_000);
  assert.equal(limit.take(), undefined);
  at(20_000);
  assert.equal(limit.take(), undefined);
  at(59_999);
  assert.equal(limit.take()?.retryAfterSeconds, 1);
  // The first call leaves the window exactly a window after it came.
  at(60_000);
  assert.equal(limit.take(), undefined);
  at(60_001);
  assert.equal(limit.take()?.retryAfterSeconds, 10);
  at(70_000);
  assert.equal(limit.take(), undefined);
});

Deno.test("a refused call is told the whole seconds until the oldest call leaves the window", () => {
  const { limit, at } = clocked(2, 60_000);
  at(0);
  limit.take();
  at(30_500);
  limit.take();
  at(30_500);
  assert.equal(limit.take()?.retryAfterSeconds, 30);
  at(58_200);
  assert.equal(limit.take()?.retryAfterSeconds, 2);
  at(59_999.5);
  assert.equal(limit.take()?.retryAfterSeconds, 1);
});

Deno.test("refusals are reported at most once a window, each report counting those since the last", () => {
  const { limit, at, date } = clocked(1, 60_000);
  at(0);
  limit.take();
  at(1_000);
  assert.deepEqual(limit.take(), {
    retryAfterSeconds: 59,
    report: { count: 1, since: date(1_000) },
  });
  at(2_000);
  assert.deepEqual(limit.take(), { retryAfterSeconds: 58 });
  at(3_000);
  assert.deepEqual(limit.take(), { retryAfterSeconds: 57 });
  // Allowed again at 60 s; refused at 60.5 s and 61 s: the second is a window after the last
  // report, which counts the four since it.
  at(60_000);
  assert.equal(limit.take(), undefined);
  at(60_500);
  assert.deepEqual(limit.take(), { retryAfterSeconds: 60 });
  at(61_000);
  assert.deepEqual(limit.take(), {
    retryAfterSeconds: 59,
    report: { count: 4, since: date(2_000) },
  });
  assert.equal(limit.drain(), undefined);
  at(62_000);
  limit.take();
  assert.deepEqual(limit.drain(), { count: 1, since: date(62_000) });
  assert.equal(limit.drain(), undefined);
});

Deno.test("due() reports what is left once a window has passed since the last report", () => {
  const { limit, at, date } = clocked(1, 60_000);
  at(0);
  limit.take();
  at(1_000);
  assert.ok(limit.take()?.report);
  at(2_000);
  limit.take();
  at(3_000);
  limit.take();
  assert.equal(limit.due(), undefined);
  at(60_999);
  assert.equal(limit.due(), undefined);
  at(61_000);
  assert.deepEqual(limit.due(), { count: 2, since: date(2_000) });
  assert.equal(limit.due(), undefined);
  assert.equal(limit.drain(), undefined);
});

Deno.test("a clock stepped back does not lock calls out for the step", () => {
  const { limit, at } = clocked(2, 60_000);
  at(3_600_000);
  limit.take();
  limit.take();
  assert.equal(limit.take()?.retryAfterSeconds, 60);
  at(0);
  assert.equal(limit.take(), undefined);
  assert.equal(limit.take(), undefined);
  const over = limit.take();
  assert.equal(over?.retryAfterSeconds, 60);
  // The report of an hour "later" does not hold the next one back either.
  assert.equal(over?.report?.count, 1);
});

Deno.test("refusals at the same instant are reported once", () => {
  const { limit, at } = clocked(1, 60_000);
  at(0);
  limit.take();
  assert.deepEqual(limit.take()?.report?.count, 1);
  assert.deepEqual(limit.take(), { retryAfterSeconds: 60 });
});
