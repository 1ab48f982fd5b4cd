// The edges of what STS's Expiration may say, which a real endpoint's clock cannot be set to hit
// exactly (sts_expiration_test.ts runs the CLI against one moved by hours): the expiry handed on,
// and the error the user reads when the credentials are refused.
import assert from "node:assert/strict";
import { boundedExpiration } from "../lib/aws/expiration.ts";
import { RuntimeError } from "../lib/core/errors.ts";

const NOW = new Date("2030-01-01T00:00:00.000Z");
const NOT_AFTER = new Date("2030-01-01T00:15:00.000Z");
const HINT = "no credentials were handed out; check this machine's clock, and " +
  "AWS_ENDPOINT_URL_STS if you set it";

function bounded(expiration: Date, now = NOW, notAfter = NOT_AFTER): Date {
  return boundedExpiration(expiration, { operation: "GetSessionToken", notAfter, now });
}

Deno.test("the expiry handed on is STS's when it is earlier than asked, else the request's time + TTL", () => {
  const earlier = new Date("2030-01-01T00:10:00.000Z");
  assert.equal(bounded(earlier).toISOString(), earlier.toISOString());
  assert.equal(bounded(new Date(NOT_AFTER)).toISOString(), NOT_AFTER.toISOString());
  assert.equal(
    bounded(new Date("2030-01-01T00:15:00.001Z")).toISOString(),
    NOT_AFTER.toISOString(),
  );
  // An Expiration that cannot be read is not believed either: the request's time + TTL.
  assert.equal(bounded(new Date("not a time")).toISOString(), NOT_AFTER.toISOString());
});

Deno.test("credentials that expire now or before are refused, saying when", async (t) => {
  const refused = (expiration: Date, now = NOW, notAfter = NOT_AFTER) => {
    try {
      bounded(expiration, now, notAfter);
    } catch (error) {
      assert.ok(error instanceof RuntimeError);
      return error;
    }
    assert.fail("handed on");
  };
  await t.step("expiring the very millisecond they arrive", () => {
    const error = refused(new Date(NOW));
    assert.equal(
      error.message,
      "GetSessionToken returned credentials that expired at 2030-01-01T00:00:00.000Z, before " +
        "they arrived (now 2030-01-01T00:00:00.000Z)",
    );
    assert.equal(error.hint, HINT);
  });
  await t.step("a millisecond later they are handed on", () => {
    const later = new Date(NOW.getTime() + 1);
    assert.equal(bounded(later).toISOString(), later.toISOString());
  });
  await t.step("an unreadable Expiration, and the request's time + TTL passed already", () => {
    const error = refused(new Date("not a time"), new Date("2030-01-01T00:20:00.000Z"));
    assert.equal(
      error.message,
      "GetSessionToken returned credentials that expired at an unreadable time, before they " +
        "arrived (now 2030-01-01T00:20:00.000Z)",
    );
    assert.equal(error.hint, HINT);
  });
  await t.step("STS's Expiration clamped to a request's time + TTL that has passed", () => {
    const error = refused(
      new Date("2030-01-01T01:00:00.000Z"),
      new Date("2030-01-01T00:20:00.000Z"),
    );
    assert.match(error.message, /expired at 2030-01-01T01:00:00\.000Z, before they arrived/);
  });
});
