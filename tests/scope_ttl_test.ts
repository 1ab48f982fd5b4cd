import assert from "node:assert/strict";
import { UsageError } from "../lib/core/errors.ts";
import { formatScopes, mergeScopes, parseLevel, parseScopes } from "../lib/request/scope.ts";
import { formatTtl, parseTtl } from "../lib/request/ttl.ts";

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
