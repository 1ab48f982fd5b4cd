// What `serve --allow` lets an agent ask for: parsing the list and checking requests against it.
import assert from "node:assert/strict";
import { UsageError } from "../lib/core/errors.ts";
import {
  accountWideNote,
  allowedLevels,
  checkAllowed,
  parseAllowList,
} from "../lib/request/allow_list.ts";
import { createCatalog } from "../lib/request/catalog.ts";

const catalog = createCatalog(
  [
    { prefix: "s3", name: "Amazon S3" },
    { prefix: "logs", name: "Amazon CloudWatch Logs" },
    { prefix: "ec2", name: "Amazon EC2" },
  ],
  () => Promise.resolve([]),
);

/** Resources are never compared here: no account is ever needed. */
const NO_TARGET = { catalog, target: () => Promise.reject(new Error("no account needed")) };

Deno.test("parseAllowList() reads scopes, aliases and the every-service level", async (t) => {
  await t.step("scopes only, aliases resolved and merged", async () => {
    assert.deepEqual(await parseAllowList(" s3:ro , cloudwatch-logs:full,s3:full", catalog), {
      scopes: [{ service: "s3", level: "full" }, { service: "logs", level: "full" }],
      everyService: undefined,
      text: "s3:full,logs:full",
    });
  });
  await t.step("*:ro with a wider scope", async () => {
    assert.deepEqual(await parseAllowList("*:ro,s3:full", catalog), {
      scopes: [{ service: "s3", level: "full" }],
      everyService: "ro",
      text: "*:ro,s3:full",
    });
  });
  await t.step("*:full is not narrowed by a later *:ro", async () => {
    assert.deepEqual(await parseAllowList("*:full,*:ro", catalog), {
      scopes: [],
      everyService: "full",
      text: "*:full",
    });
  });
  await t.step("a later *:full widens *:ro", async () => {
    assert.equal((await parseAllowList("*:ro,*:full", catalog)).everyService, "full");
  });
  await t.step("an unknown level after *: names the item", async () => {
    await assert.rejects(() => parseAllowList("*:admin", catalog), {
      message: 'Unknown level "admin" in "*:admin": use list, ro, read_only, readonly or full',
    });
  });
  await t.step("an empty list is no scope", async () => {
    await assert.rejects(() => parseAllowList("", catalog), /^UsageError: No scope given/);
  });
  await t.step("an unknown service", async () => {
    await assert.rejects(() => parseAllowList("s4:ro", catalog), /Unknown service "s4"/);
  });
});

Deno.test("allowedLevels() gives the levels a service may be granted", async (t) => {
  const cases: Array<[string, string | undefined, string, string[]]> = [
    ["no list allows everything", undefined, "ec2", ["list", "ro", "full"]],
    ["a service's own full", "s3:full", "s3", ["list", "ro", "full"]],
    ["a service's own ro", "s3:ro", "s3", ["list", "ro"]],
    ["a service not listed", "s3:ro", "ec2", []],
    ["a service's own list", "s3:list", "s3", ["list"]],
    ["*:ro for an unlisted service", "*:ro,s3:full", "ec2", ["list", "ro"]],
    ["*:full wins over a service's ro", "*:full,s3:ro", "s3", ["list", "ro", "full"]],
    ["a service's full wins over *:ro", "*:ro,s3:full", "s3", ["list", "ro", "full"]],
  ];
  for (const [name, list, prefix, expected] of cases) {
    await t.step(name, async () => {
      const allow = list === undefined ? undefined : await parseAllowList(list, catalog);
      assert.deepEqual(allowedLevels(allow, prefix), expected);
    });
  }
});

Deno.test("checkAllowed() refuses the scopes outside the list, naming them and the list", async () => {
  const allow = await parseAllowList("*:ro,s3:full", catalog);
  await checkAllowed(
    [{ service: "s3", level: "full" }, { service: "ec2", level: "ro" }],
    allow,
    NO_TARGET,
  );
  await checkAllowed([{ service: "ec2", level: "full" }], undefined, NO_TARGET);
  await assert.rejects(
    () =>
      checkAllowed(
        [
          { service: "ec2", level: "full" },
          { service: "s3", level: "ro" },
          { service: "logs", level: "full" },
        ],
        allow,
        NO_TARGET,
      ),
    (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(
        error.message,
        "Not allowed by this server: ec2:full,logs:full: the allowed scopes are *:ro,s3:full",
      );
      assert.equal(
        error.hint,
        "ask within those scopes, or ask the human to restart the server with a wider --allow",
      );
      return true;
    },
  );
});

Deno.test("accountWideNote() tells an agent which account-wide actions its grant on named resources lacks", () => {
  const named = (service: string, level: "list" | "ro" | "full", resource: string) => ({
    service,
    level,
    resources: [resource],
  });
  // As parseAllowList() reads "s3:full@my-bucket,logs:ro@app-*,*:list".
  const allow = {
    scopes: [named("s3", "full", "my-bucket"), named("logs", "ro", "app-*")],
    everyService: "list" as const,
    text: "*:list,s3:full@my-bucket,logs:ro@app-*",
  };
  assert.equal(
    accountWideNote([named("s3", "ro", "my-bucket"), named("logs", "ro", "app-1")], allow),
    "s3:ro@my-bucket has only list's account-wide actions (those that name no resource): " +
      "this server allows *:list,s3:full@my-bucket,logs:ro@app-*",
  );
  const noEveryService = { scopes: [named("s3", "full", "my-bucket")], text: "s3:full@my-bucket" };
  assert.equal(
    accountWideNote([named("s3", "list", "my-bucket")], noEveryService, (l) => `<${l}>`),
    "s3:<list>@my-bucket has no account-wide actions (those that name no resource): " +
      "this server allows s3:full@my-bucket",
  );
  // Nothing lost: full on resources never has account-wide actions of its own; a level the list
  // gives account-wide; no list at all.
  assert.equal(accountWideNote([named("s3", "full", "my-bucket")], allow), undefined);
  assert.equal(accountWideNote([named("logs", "ro", "app-1")], allow), undefined);
  assert.equal(accountWideNote([{ service: "ec2", level: "list" }], allow), undefined);
  assert.equal(accountWideNote([named("s3", "ro", "my-bucket")], undefined), undefined);
});
