import assert from "node:assert/strict";
import { UsageError } from "../lib/core/errors.ts";
import {
  formatScopes,
  isWider,
  mergeScopes,
  parseLevel,
  parseScopes,
} from "../lib/request/scope.ts";
import { formatTtl, parseRefreshLimit, parseTtl } from "../lib/request/ttl.ts";

Deno.test("parseScopes() treats repeated flags and comma lists alike", () => {
  assert.deepEqual(parseScopes(["s3:ro,dynamodb:full"]), parseScopes(["s3:ro", "dynamodb:full"]));
  assert.deepEqual(parseScopes([" S3 : RO "]), [{ service: "s3", level: "ro" }]);
  assert.deepEqual(parseScopes(["", "  ", "s3:ro, ec2:full "]), [
    { service: "s3", level: "ro" },
    { service: "ec2", level: "full" },
  ]);
});

Deno.test("formatScopes() writes the command-line form back", () => {
  assert.equal(
    formatScopes([{ service: "s3", level: "ro" }, { service: "ec2", level: "full" }]),
    "s3:ro,ec2:full",
  );
  assert.equal(formatScopes([]), "");
});

Deno.test("parseLevel() accepts every spelling in any case", async (t) => {
  for (
    const [text, level] of [
      ["list", "list"],
      ["LIST", "list"],
      ["ro", "ro"],
      ["READ_ONLY", "ro"],
      ["ReadOnly", "ro"],
      ["Full", "full"],
      [" ro ", "ro"],
    ]
  ) {
    await t.step(text, () => assert.equal(parseLevel(text), level));
  }
  await t.step("an unknown level, without context", () => {
    assert.throws(() => parseLevel("admin"), {
      message: 'Unknown level "admin": use list, ro, read_only, readonly or full',
    });
  });
  await t.step("a blank level is missing", () => {
    assert.throws(() => parseLevel("  "), {
      message: "Missing level: use list, ro, read_only, readonly or full",
    });
  });
});

Deno.test("parseScopes() rejects malformed scopes with the problem named", async (t) => {
  const cases: Array<[string, RegExp]> = [
    ["s3ro", /^Invalid scope "s3ro": expected service:level \(e\.g\. s3:ro\)$/],
    [":ro", /^Invalid scope ":ro": missing service/],
    ["s3:", /^Missing level in "s3:": use list, ro, read_only, readonly or full$/],
    [
      "s3:admin",
      /^Unknown level "admin" in "s3:admin": use list, ro, read_only, readonly or full$/,
    ],
    ["s3: admin ", /^Unknown level "admin" in "s3: admin": use list, ro/],
    ["s3:ro, ,ec2:ro", /^Invalid scope list "s3:ro, ,ec2:ro": empty item between commas$/],
    [" s3ro ", /^Invalid scope "s3ro": expected service:level/],
    ["s3:ro,,ec2:ro", /empty item between commas/],
    ["s 3:ro", /is not a service name/],
  ];
  for (const [input, message] of cases) {
    await t.step(input, () => {
      assert.throws(
        () => parseScopes([input]),
        (e) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
  await t.step("no scope", () => assert.throws(() => parseScopes([]), /No scope given/));
});

Deno.test("isWider() orders list, ro, full, and no level is wider than itself", () => {
  const levels = ["list", "ro", "full"] as const;
  const wider = levels.flatMap((a) => levels.filter((b) => isWider(a, b)).map((b) => `${a}>${b}`));
  assert.deepEqual(wider, ["ro>list", "full>list", "full>ro"]);
});

Deno.test("mergeScopes() keeps the first position and the widest level", () => {
  assert.deepEqual(
    mergeScopes([
      { service: "s3", level: "ro" },
      { service: "ec2", level: "full" },
      { service: "s3", level: "full" },
      { service: "ec2", level: "ro" },
      { service: "sqs", level: "list" },
      { service: "sqs", level: "ro" },
      { service: "sns", level: "ro" },
      { service: "sns", level: "list" },
    ]),
    [
      { service: "s3", level: "full" },
      { service: "ec2", level: "full" },
      { service: "sqs", level: "ro" },
      { service: "sns", level: "ro" },
    ],
  );
});

Deno.test("parseTtl() reads h, m and s and their combinations", async (t) => {
  for (
    const [text, seconds] of [
      ["15m", 900],
      ["1h", 3600],
      ["1h30m", 5400],
      ["4h", 14400],
      ["12h", 43200],
      ["900s", 900],
      ["1H", 3600],
      [" 15m ", 900],
    ] as const
  ) {
    await t.step(text, () => assert.equal(parseTtl(text), seconds));
  }
  await t.step("90s and 1m are read; 59s is refused by the 1m bound", () => {
    assert.equal(parseTtl("90s"), 90);
    assert.equal(parseTtl("1m"), 60);
    assert.equal(parseTtl("5m"), 300);
    assert.throws(() => parseTtl("59s"), /TTL "59s" is too short: the minimum is 1m$/);
  });
});

Deno.test("parseTtl() refuses what AWS would, saying the bound", async (t) => {
  const cases: Array<[string, RegExp]> = [
    ["30s", /^TTL "30s" is too short: the minimum is 1m$/],
    ["0m", /^TTL "0m" is too short: the minimum is 1m$/],
    ["13h", /^TTL "13h" is too long: the maximum is 12h/],
    ["15", /^Invalid TTL "15": a unit is required$/],
    ["soon", /^Invalid TTL "soon": use a duration like 15m, 1h or 1h30m$/],
    ["", /^Invalid TTL ""/],
    ["1m1h", /^Invalid TTL "1m1h"/],
    ["1h30", /^Invalid TTL "1h30": use a duration like 15m, 1h or 1h30m$/],
    ["12h1s", /^TTL "12h1s" is too long: the maximum is 12h \(AWS's limit for AssumeRole\)$/],
  ];
  for (const [input, message] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(
        () => parseTtl(input),
        (e) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
  await t.step("a bare number hints the minutes", () => {
    assert.throws(
      () => parseTtl("15"),
      (e) => e instanceof UsageError && /did you mean 15m\?/.test(e.hint ?? ""),
    );
  });
  await t.step("the hint suggests a reading within the bounds", () => {
    assert.throws(
      () => parseTtl("2"),
      (e) => e instanceof UsageError && /did you mean 2m\?/.test(e.hint ?? ""),
    );
    assert.throws(
      () => parseTtl("2", { min: 900 }),
      (e) => e instanceof UsageError && /did you mean 2h\?/.test(e.hint ?? ""),
    );
    assert.throws(
      () => parseTtl("90"),
      (e) => e instanceof UsageError && /did you mean 90m\?/.test(e.hint ?? ""),
    );
    assert.throws(
      () => parseTtl("800"),
      (e) => e instanceof UsageError && !/did you mean/.test(e.hint ?? ""),
    );
  });
  await t.step("the hint's readings may reach each bound exactly", () => {
    const hint = (text: string, bounds = {}) => {
      try {
        parseTtl(text, bounds);
      } catch (error) {
        return (error as UsageError).hint;
      }
      return "accepted";
    };
    const units = "Units are h, m and s (e.g. 15m, 1h, 1h30m)";
    assert.equal(hint("1"), `did you mean 1m? ${units}`);
    assert.equal(hint("720"), `did you mean 720m? ${units}`);
    assert.equal(hint("1", { min: 3600 }), `did you mean 1h? ${units}`);
    assert.equal(hint("12", { min: 900 }), `did you mean 12h? ${units}`);
    assert.equal(hint("13", { min: 900 }), units);
    assert.equal(hint("800"), units);
  });
  await t.step("a caller's bound names its reason", () => {
    assert.throws(
      () => parseTtl("2h", { max: 3600, maxReason: "serve --max-ttl" }),
      /too long: the maximum is 1h \(serve --max-ttl\)/,
    );
  });
});

Deno.test("formatTtl() writes compact durations", () => {
  assert.deepEqual([900, 3600, 5400, 45, 0].map(formatTtl), ["15m", "1h", "1h30m", "45s", "0s"]);
  assert.deepEqual([3661, 3601, 61, 43200, 59.9, -5].map(formatTtl), [
    "1h1m1s",
    "1h1s",
    "1m1s",
    "12h",
    "59s",
    "0s",
  ]);
});

Deno.test("parseRefreshLimit() gives 12h for a bare --refresh and bounds a limit by a day", () => {
  for (const value of [true, "1", "true", " TRUE "] as const) {
    assert.equal(parseRefreshLimit(value), 43200, String(value));
  }
  assert.equal(parseRefreshLimit("2h"), 7200);
  assert.equal(parseRefreshLimit("24h"), 86400);
  assert.equal(parseRefreshLimit("1m"), 60);
  const refusal = (value: string) => {
    try {
      parseRefreshLimit(value);
    } catch (error) {
      assert.ok(error instanceof UsageError);
      return [error.message, error.hint];
    }
    throw new Error(`${value} was accepted`);
  };
  const hint = "give how long to keep renewing, e.g. --refresh=8h (default 12h)";
  assert.deepEqual(refusal("25h"), [
    '--refresh limit "25h" is too long: the maximum is 24h (longer renewing would amount to a ' +
    "long-lived credential)",
    hint,
  ]);
  assert.deepEqual(refusal("30s"), ['--refresh limit "30s" is too short: the minimum is 1m', hint]);
  assert.deepEqual(refusal("soon"), [
    'Invalid --refresh limit "soon": use a duration like 15m, 1h or 1h30m',
    hint,
  ]);
});
