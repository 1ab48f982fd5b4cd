/**
 * The MCP server in process: a real SDK `Client` over an in-memory transport, an injected clock
 * and a fake broker. Every tool, every refusal, expiry, approval.
 */

import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ElicitRequestSchema, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { parse as parseDotenv } from "dotenv";
import { parseAllowList } from "../lib/request/allow_list.ts";
import { prepareGrant } from "../lib/request/grant_request.ts";
import { arnCovers } from "../lib/request/resource.ts";
import { formatScopes, parseScopes } from "../lib/request/scope.ts";
import { memoryAuditLog } from "../lib/mcp/audit_log.ts";
import { type Grant, newSessionName } from "../lib/aws/broker.ts";
import type { PoolGrantRequest } from "../lib/grant/granters.ts";
import { loadCatalog } from "../lib/request/catalog.ts";
import { openEnvFileDirectory } from "../lib/delivery/env_files.ts";
import { RuntimeError } from "../lib/core/errors.ts";
import { createServer, type ServerOptions } from "../lib/mcp/server.ts";

const catalog = await loadCatalog();
const START = new Date("2030-01-01T00:00:00Z");

type Elicit = (message: string) => ElicitResult | Promise<ElicitResult>;

interface Harness {
  client: Client;
  dir: string;
  parent: string;
  audit: ReturnType<typeof memoryAuditLog>;
  grants: Array<PoolGrantRequest & { grant: Grant }>;
  asked: string[];
  identified: Array<string | undefined>;
  advance(ms: number): void;
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}

interface ToolResult {
  isError?: boolean;
  text: string;
  structured: Record<string, unknown>;
}

async function start(
  setup: {
    options?: Partial<ServerOptions>;
    allow?: string;
    elicit?: Elicit;
    /** The client fills the schema's defaults into an answer (the MCP SDK's applyDefaults). */
    applyDefaults?: boolean;
    fail?: Error;
    clientName?: string;
    log?: (line: string) => void;
  } = {},
): Promise<Harness> {
  let now = START.getTime();
  const clock = () => new Date(now);
  const parent = await Deno.makeTempDir({ prefix: "tbi-mcp-test-" });
  const envFiles = await openEnvFileDirectory(parent);
  const audit = memoryAuditLog({ now: clock });
  const grants: Harness["grants"] = [];
  const asked: string[] = [];
  const identified: Array<string | undefined> = [];
  let n = 0;
  const app = createServer({
    catalog,
    now: clock,
    envFiles,
    audit,
    sweepIntervalMs: 10,
    log: setup.log,
    options: {
      maxTtlSeconds: 3600,
      approve: "never",
      allow: setup.allow === undefined ? undefined : await parseAllowList(setup.allow, catalog),
      ...setup.options,
    },
    identify(profile) {
      identified.push(profile);
      return Promise.resolve({ account: "123456789012", region: "eu-west-1", partition: "aws" });
    },
    grant(request) {
      if (setup.fail) return Promise.reject(setup.fail);
      n++;
      const grant: Grant = {
        sessionName: newSessionName(),
        roleArn: "arn:aws:iam::123456789012:role/timebound-iam-broker",
        assumedRoleArn: "arn:aws:sts::123456789012:assumed-role/timebound-iam-broker/x",
        region: "eu-west-1",
        credentials: {
          accessKeyId: `ASIAFAKE${String(n).padStart(12, "0")}`,
          secretAccessKey: `secret/${crypto.randomUUID()}+${n}`,
          sessionToken: `token=${crypto.randomUUID()}/${n}==`,
          expiration: new Date(now + request.ttlSeconds * 1000),
        },
      };
      grants.push({ ...request, grant });
      return Promise.resolve(grant);
    },
  });
  const client = new Client(
    { name: setup.clientName ?? "test-agent", version: "1.2.3" },
    {
      capabilities: setup.elicit
        ? { elicitation: { form: setup.applyDefaults ? { applyDefaults: true } : {} } }
        : {},
    },
  );
  if (setup.elicit) {
    const elicit = setup.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params.message);
      return await elicit(request.params.message);
    });
  }
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await app.connect(serverTransport);
  await client.connect(clientTransport);
  return {
    client,
    dir: envFiles.path,
    parent,
    audit,
    grants,
    asked,
    identified,
    advance(ms) {
      now += ms;
    },
    async call(name, args = {}) {
      const result = await client.callTool({ name, arguments: args });
      const content = result.content as Array<{ type: string; text: string }>;
      return {
        isError: result.isError as boolean | undefined,
        text: content.map((c) => c.text).join("\n"),
        structured: (result.structuredContent ?? {}) as Record<string, unknown>,
      };
    },
    async close() {
      await client.close();
      await app.close();
      await Deno.remove(parent, { recursive: true });
    },
  };
}

function assertIncludes(text: string, part: string) {
  assert.ok(text.includes(part), `expected ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
}

function secretsOf(h: Harness): string[] {
  return h.grants.flatMap(({ grant }) => [
    grant.credentials.secretAccessKey,
    grant.credentials.sessionToken,
  ]);
}

function assertNoSecret(h: Harness, text: string) {
  for (const secret of secretsOf(h)) assert(!text.includes(secret), "a secret leaked");
}

Deno.test("tools/list shows the four tools with titles, schemas and annotations", async () => {
  const h = await start();
  try {
    const { tools } = await h.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      "grant_access",
      "list_active_sessions",
      "list_services",
      "revoke_session",
    ]);
    for (const tool of tools) {
      assert(tool.title, `${tool.name} has a title`);
      assert(tool.description, `${tool.name} has a description`);
      assert.deepEqual(tool.inputSchema.type, "object");
      assert.deepEqual(tool.outputSchema?.type, "object");
      assert(tool.annotations, `${tool.name} has annotations`);
    }
    const grant = tools.find((t) => t.name === "grant_access")!;
    assert.deepEqual(
      Object.keys(grant.inputSchema.properties ?? {}).sort(),
      ["level", "profile", "resources", "scopes", "services", "ttl"],
    );
    assert.deepEqual(grant.annotations?.readOnlyHint, false);
    assert.deepEqual(
      tools.find((t) => t.name === "revoke_session")!.annotations?.destructiveHint,
      true,
    );
    assert.deepEqual(
      tools.find((t) => t.name === "list_services")!.annotations?.readOnlyHint,
      true,
    );
    assertIncludes(h.client.getInstructions() ?? "", "env $(cat CREDENTIAL_FILE)");
  } finally {
    await h.close();
  }
});

Deno.test("grant_access refuses a bucket no bucket can be called, quoting it bounded, and grants nothing", async () => {
  const h = await start();
  try {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ scopes: "s3:ro@bucket;rm", ttl: "15m" }, 'Invalid S3 bucket "bucket;rm": '],
      [
        { services: ["s3"], resources: { s3: [`a$(id)${"x".repeat(400)}`] }, ttl: "15m" },
        `Invalid S3 bucket "a$(id)${"x".repeat(58)}… (342 more characters)": `,
      ],
    ];
    for (const [args, message] of cases) {
      const refused = await h.call("grant_access", args);
      assert(refused.isError, refused.text);
      assertIncludes(refused.text, message);
      assert.ok(refused.text.length < 300, refused.text);
    }
    assert.equal(h.grants.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("grant_access writes a 0600 env file in a 0700 directory and returns its path, never the secrets", async () => {
  const h = await start();
  try {
    const result = await h.call("grant_access", {
      services: ["s3"],
      level: "read_only",
      ttl: "15m",
    });
    assert(!result.isError, result.text);
    const s = result.structured;
    const { grant, policy, ttlSeconds, profile } = h.grants[0];
    assert.deepEqual(ttlSeconds, 900);
    assert.deepEqual(profile, undefined);
    assertIncludes(policy.packed, "s3:Get");
    assert.deepEqual(s.session_id, grant.sessionName);
    assert.match(String(s.session_id), /^timebound-iam-[0-9a-f-]{36}$/);
    assert.deepEqual(s.services, ["s3"]);
    assert.deepEqual(s.level, "read_only");
    assert.deepEqual(s.scopes, "s3:read_only");
    assert.deepEqual(s.expires_at, "2030-01-01T00:15:00.000Z");
    assert.deepEqual(s.ttl_remaining, "15m");
    assert.deepEqual(s.credential_file, `${h.dir}/${grant.sessionName}.env`);
    assert.deepEqual(s.usage, `env $(cat ${s.credential_file}) <command>`);
    assert.deepEqual(JSON.parse(result.text), s);
    assertNoSecret(h, result.text);
    assertNoSecret(h, JSON.stringify(s));

    const file = String(s.credential_file);
    if (Deno.build.os !== "windows") {
      assert.deepEqual((await Deno.stat(file)).mode! & 0o777, 0o600);
      assert.deepEqual((await Deno.stat(h.dir)).mode! & 0o777, 0o700);
    }
    const vars = parseDotenv(await Deno.readTextFile(file));
    assert.deepEqual(vars, {
      AWS_ACCESS_KEY_ID: grant.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: grant.credentials.secretAccessKey,
      AWS_SESSION_TOKEN: grant.credentials.sessionToken,
      AWS_CREDENTIAL_EXPIRATION: "2030-01-01T00:15:00.000Z",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
      TIMEBOUND_IAM_SESSION: grant.sessionName,
    });

    assert.deepEqual(h.audit.events.length, 1);
    const event = h.audit.events[0];
    assert.deepEqual(event.event, "grant");
    assert.deepEqual(event.outcome, "granted");
    assert.deepEqual(event.client, { name: "test-agent", version: "1.2.3" });
    assert.deepEqual(event.scopes, "s3:ro");
    assert.deepEqual(event.ttl, "15m");
    assert.deepEqual(event.session_id, grant.sessionName);
    assertNoSecret(h, JSON.stringify(h.audit.events));
  } finally {
    await h.close();
  }
});

Deno.test("grant_access takes per-service scopes, aliases, 'ro' and a default TTL of 15m", async () => {
  const h = await start();
  try {
    const mixed = await h.call("grant_access", { scopes: "s3:ro,dynamodb:full" });
    assert(!mixed.isError, mixed.text);
    assert.deepEqual(mixed.structured.level, "mixed");
    assert.deepEqual(mixed.structured.scopes, "s3:read_only,dynamodb:full");
    assert.deepEqual(mixed.structured.ttl_remaining, "15m");
    const alias = await h.call("grant_access", {
      services: ["cloudwatch-logs", "S3"],
      level: "ro",
      ttl: "30m",
    });
    assert(!alias.isError, alias.text);
    assert.deepEqual(alias.structured.services, ["logs", "s3"]);
    assert.deepEqual(alias.structured.level, "read_only");
    const both = await h.call("grant_access", {
      services: ["s3"],
      level: "full",
      scopes: "sqs:ro",
    });
    assert.deepEqual(both.structured.scopes, "s3:full,sqs:read_only");
  } finally {
    await h.close();
  }
});

Deno.test("grant_access level list grants only List actions; *:list allows list and nothing wider", async () => {
  const h = await start({ allow: "*:list,s3:ro" });
  try {
    const listed = await h.call("grant_access", { services: ["ec2", "s3"], level: "list" });
    assert(!listed.isError, listed.text);
    assert.deepEqual(listed.structured.level, "list");
    assert.deepEqual(listed.structured.scopes, "ec2:list,s3:list");
    const { packed } = h.grants[0].policy;
    assert.ok(JSON.parse(packed).Statement[0].Action.includes("ec2:Describe*"), packed);
    assert.ok(!packed.includes("s3:Get"), packed);
    const read = await h.call("grant_access", { scopes: "s3:ro,ec2:list" });
    assert(!read.isError, read.text);
    const wider = await h.call("grant_access", { services: ["ec2"], level: "read_only" });
    assert(wider.isError);
    assertIncludes(wider.text, "Not allowed by this server: ec2:ro");
    assertIncludes(wider.text, "the allowed scopes are *:list,s3:ro");
    assert.deepEqual(h.grants.length, 2);
  } finally {
    await h.close();
  }
});

Deno.test("an agent held to named resources: in the allow list granted, wider refused with what is allowed", async () => {
  const h = await start({ allow: "s3:full@my-bucket,dynamodb:ro@Orders,*:list" });
  try {
    const bucket = await h.call("grant_access", {
      services: ["s3"],
      level: "full",
      resources: { s3: ["my-bucket/uploads/*"] },
    });
    assert(!bucket.isError, bucket.text);
    assert.deepEqual(bucket.structured.scopes, "s3:full@my-bucket/uploads/*");
    assert.deepEqual(JSON.parse(h.grants[0].policy.packed).Statement, [
      { Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::my-bucket/uploads/*"] },
      {
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: ["arn:aws:s3:::my-bucket"],
        Condition: { StringLike: { "s3:prefix": ["uploads/*"] } },
      },
    ]);
    const table = await h.call("grant_access", {
      scopes: "dynamodb:ro@arn:aws:dynamodb:eu-west-1:123456789012:table/Orders,ec2:list",
    });
    assert(!table.isError, table.text);
    const named = await h.call("grant_access", { scopes: "dynamodb:list@Orders" });
    assert(!named.isError, named.text);
    assertIncludes(
      h.grants[2].policy.packed,
      '"Resource":["arn:aws:dynamodb:eu-west-1:123456789012:table/Orders",',
    );
    assert.deepEqual(h.identified, [undefined, undefined, undefined]);

    const refusals: Array<[Record<string, unknown>, string]> = [
      [{ services: ["s3"], level: "full" }, "s3:full"],
      [{ scopes: "s3:full@other-bucket" }, "s3:full@other-bucket"],
      [{ scopes: "s3:full@my-bucket*" }, "s3:full@my-bucket*"],
      // One allowed resource does not carry another beside it.
      [
        { services: ["s3"], level: "full", resources: { s3: ["my-bucket", "other-bucket"] } },
        "s3:full@my-bucket,s3:full@other-bucket",
      ],
      [{ scopes: "dynamodb:full@Orders" }, "dynamodb:full@Orders"],
      [
        { scopes: "dynamodb:ro@arn:aws:dynamodb:eu-west-1:999999999999:table/Orders" },
        "dynamodb:ro@arn:aws:dynamodb:eu-west-1:999999999999:table/Orders",
      ],
      [{ services: ["dynamodb"], resources: { dynamodb: ["Users"] } }, "dynamodb:ro@Users"],
    ];
    for (const [args, named] of refusals) {
      const refused = await h.call("grant_access", args);
      assert(refused.isError, JSON.stringify(args));
      assertIncludes(refused.text, `Not allowed by this server: ${named}`);
      assertIncludes(
        refused.text,
        "the allowed scopes are *:list,s3:full@my-bucket,dynamodb:ro@Orders",
      );
    }
    assert.deepEqual(h.grants.length, 3);
  } finally {
    await h.close();
  }
});

Deno.test("a narrower level on resources allowed at full gets nothing account-wide: not every function, user or bucket", async () => {
  const role = "arn:aws:iam::123456789012:role/app-";
  const h = await start({ allow: `lambda:full@my-fn,iam:full@${role}*,s3:full@my-bucket` });
  try {
    const fn = await h.call("grant_access", {
      services: ["lambda"],
      level: "read_only",
      resources: { lambda: ["my-fn"] },
    });
    assert(!fn.isError, fn.text);
    assert.deepEqual(fn.structured.scopes, "lambda:read_only@my-fn");
    const iam = await h.call("grant_access", { scopes: `iam:ro@${role}x` });
    assert(!iam.isError, iam.text);
    const bucket = await h.call("grant_access", { scopes: "s3:list@my-bucket" });
    assert(!bucket.isError, bucket.text);
    // The agent is told why, in one line.
    const allowed = `lambda:full@my-fn,iam:full@${role}*,s3:full@my-bucket`;
    assert.equal(
      fn.structured.note,
      "lambda:read_only@my-fn has no account-wide actions (those that name no resource): " +
        `this server allows ${allowed}`,
    );
    assert.equal(
      iam.structured.note,
      `iam:read_only@${role}x has no account-wide actions (those that name no resource): ` +
        `this server allows ${allowed}`,
    );
    assert.equal(
      bucket.structured.note,
      "s3:list@my-bucket has no account-wide actions (those that name no resource): " +
        `this server allows ${allowed}`,
    );
    const resources = h.grants.map(({ policy }) =>
      JSON.parse(policy.packed).Statement.map((s: { Resource: unknown }) => s.Resource)
    );
    assert.deepEqual(resources, [
      [[
        "arn:aws:lambda:eu-west-1:123456789012:function:my-fn",
        "arn:aws:lambda:eu-west-1:123456789012:function:my-fn:*",
      ]],
      [[`${role}x`]],
      [["arn:aws:s3:::my-bucket", "arn:aws:s3:::my-bucket/*"]],
    ]);
    for (const { policy } of h.grants) {
      for (
        const action of ["ListFunctions", "GetAccountAuthorizationDetails", "ListAllMyBuckets"]
      ) {
        assert.ok(!policy.packed.includes(action), policy.packed);
      }
    }
  } finally {
    await h.close();
  }
});

/** IAM's matching of an action pattern: `*` and `?`, case-insensitive. */
function actionMatches(pattern: string, action: string): boolean {
  const source = [...pattern].map((c) =>
    c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${source}$`, "i").test(action);
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: { StringLike: Record<string, string[]> };
}

/** Each action of the catalog an Allow statement grants, on each of its resource patterns. */
async function grantsOf(statements: Statement[]) {
  const grants: Array<{ action: string; resource: string; prefixes?: string[] }> = [];
  for (const s of statements.filter((s) => s.Effect === "Allow")) {
    const patterns = [s.Action].flat();
    for (const service of new Set(patterns.map((p) => p.split(":")[0]))) {
      for (const { name } of await catalog.actions(service)) {
        const action = `${service}:${name}`;
        if (!patterns.some((p) => actionMatches(p, action))) continue;
        for (const resource of [s.Resource].flat()) {
          grants.push({ action, resource, prefixes: s.Condition?.StringLike["s3:prefix"] });
        }
      }
    }
  }
  return grants;
}

/** Whether a statement allows the action on every resource the pattern stands for. */
function allows(s: Statement, grant: { action: string; resource: string; prefixes?: string[] }) {
  const prefixes = s.Condition?.StringLike["s3:prefix"];
  return s.Effect === "Allow" &&
    [s.Action].flat().some((p) => actionMatches(p, grant.action)) &&
    [s.Resource].flat().some((r) => arnCovers(r, grant.resource)) &&
    (!prefixes || (grant.prefixes?.every((p) => prefixes.some((q) => arnCovers(q, p))) ?? false));
}

Deno.test("whatever --allow accepts, the grant's policy allows nothing its allowed scopes' own policies do not", async (t) => {
  const role = "arn:aws:iam::123456789012:role/app-";
  const cases: Array<[string, string[]]> = [
    ["lambda:full@my-fn", ["lambda:ro@my-fn", "lambda:list@my-fn", "lambda:full@my-fn"]],
    [`iam:full@${role}*`, [`iam:ro@${role}x`, `iam:list@${role}*`, `iam:full@${role}y`]],
    ["s3:full@my-bucket,*:list", [
      "s3:ro@my-bucket",
      "s3:list@my-bucket",
      "s3:ro@my-bucket/reports/*",
      "s3:list,ec2:list",
    ]],
    ["s3:full@my-bucket/uploads/*", [
      "s3:ro@my-bucket/uploads/2030/*",
      "s3:list@my-bucket/uploads/*",
    ]],
    ["secretsmanager:full@prod/db,dynamodb:ro@Orders", [
      "secretsmanager:ro@prod/db",
      "dynamodb:list@Orders",
      "dynamodb:ro@Orders",
    ]],
    ["lambda:ro@other-fn,lambda:full@my-fn", ["lambda:ro@my-fn", "lambda:list@other-fn"]],
    ["*:ro,lambda:full@my-fn", ["lambda:ro@my-fn", "lambda:full@my-fn,s3:ro"]],
    ["dynamodb:list,dynamodb:full@Orders", ["dynamodb:ro@Orders", "dynamodb:list"]],
  ];
  const target = { account: "123456789012", region: "eu-west-1", partition: "aws" };
  for (const [allowText, requests] of cases) {
    await t.step(allowText, async () => {
      const allow = await parseAllowList(allowText, catalog);
      const h = await start({ allow: allowText });
      try {
        for (const [i, scopes] of requests.entries()) {
          const result = await h.call("grant_access", { scopes });
          assert(!result.isError, `${scopes}: ${result.text}`);
          const services = new Set(parseScopes([scopes]).map((s) => s.service));
          const own = [
            ...allow.scopes.map((scope) => formatScopes([scope])),
            ...[...services].map((service) => `${service}:${allow.everyService}`)
              .filter(() => allow.everyService),
          ];
          const allowed: Statement[] = [];
          for (const scope of own) {
            const { policy } = await prepareGrant({ scopes: [scope], ttl: "15m" }, {
              catalog,
              target,
            });
            allowed.push(...policy.document.Statement as Statement[]);
          }
          const granted = await grantsOf(JSON.parse(h.grants[i].policy.packed).Statement);
          assert.ok(granted.length > 0, scopes);
          const beyond = granted.filter((g) => !allowed.some((s) => allows(s, g)));
          assert.deepEqual(
            beyond.slice(0, 5),
            [],
            `${scopes} under ${allowText}: ${beyond.length} beyond`,
          );
        }
      } finally {
        await h.close();
      }
    });
  }
});

Deno.test("grant_access refuses resources it cannot place, in one line", async () => {
  const h = await start();
  try {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ scopes: "s3:ro@" }, 'Invalid scope "s3:ro@": no resource after "@"'],
      [{ scopes: "ec2:ro@i-123" }, "ec2 takes no bare names, only ARNs"],
      [
        { scopes: "s3:ro@arn:aws:sqs:eu-west-1:123456789012:jobs" },
        'ARN "arn:aws:sqs:eu-west-1:123456789012:jobs" belongs to sqs, not s3',
      ],
      [{ services: ["s3"], resources: { sqs: ["jobs"] } }, 'resources names "sqs"'],
      [{ services: ["s3"], resources: { s3: ["a,b"] } }, "one resource per item"],
    ];
    for (const [args, message] of cases) {
      const result = await h.call("grant_access", args);
      assert(result.isError, JSON.stringify(args));
      assertIncludes(result.text, message);
    }
    const long = await h.call("grant_access", {
      services: ["s3"],
      resources: { s3: ["x".repeat(600)] },
    });
    assert(long.isError);
    assertIncludes(long.text, "Input validation error");
    assert.deepEqual(h.grants.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("list_services says which resources a service may be limited to, and the allowed ones", async () => {
  const h = await start({ allow: "s3:full@my-bucket,*:list" });
  try {
    const result = await h.call("list_services", { query: "s3" });
    const s3 = (result.structured.services as Array<Record<string, unknown>>)
      .find((s) => s.name === "s3")!;
    assert.deepEqual(s3.levels, ["list"]);
    assert.deepEqual(s3.allowed_on_resources, ["s3:full@my-bucket"]);
    assertIncludes(String(s3.bare_name), "a bucket name, with its objects");
    assert.ok(
      (s3.arn_formats as string[]).includes("arn:aws:s3:::BucketName"),
      String(s3.arn_formats),
    );
    const all = await h.call("list_services");
    const ec2 = (all.structured.services as Array<Record<string, unknown>>)
      .find((s) => s.name === "ec2")!;
    assert.deepEqual(ec2.bare_name, undefined);
    assert.deepEqual(ec2.arn_formats, undefined);
  } finally {
    await h.close();
  }
});

Deno.test("list_active_sessions lists live sessions with ttl_remaining, [] when none", async () => {
  const h = await start();
  try {
    const empty = await h.call("list_active_sessions");
    assert(!empty.isError, empty.text);
    assert.deepEqual(JSON.parse(empty.text), []);
    assert.deepEqual(empty.structured, { sessions: [] });
    const granted = await h.call("grant_access", { services: ["s3"], level: "full", ttl: "1h" });
    h.advance(20 * 60_000 + 30_000);
    const listed = await h.call("list_active_sessions");
    const sessions = JSON.parse(listed.text);
    assert.deepEqual(sessions.length, 1);
    assert.deepEqual(sessions[0].id, granted.structured.session_id);
    assert.deepEqual(sessions[0].services, ["s3"]);
    assert.deepEqual(sessions[0].level, "full");
    assert.deepEqual(sessions[0].ttl_remaining, "39m30s");
    assert.deepEqual(sessions[0].ttl_remaining_seconds, 2370);
    assert.deepEqual(sessions[0].credential_file, granted.structured.credential_file);
    assert.deepEqual(listed.structured, { sessions });
    assertNoSecret(h, listed.text);
  } finally {
    await h.close();
  }
});

Deno.test("list_services lists every service with levels; a query and --allow filter it", async () => {
  const h = await start();
  try {
    const all = await h.call("list_services");
    const services = all.structured.services as Array<Record<string, unknown>>;
    assert.deepEqual(services.length, catalog.services.length);
    const logs = await h.call("list_services", { query: "cloudwatch-logs" });
    const found = logs.structured.services as Array<Record<string, unknown>>;
    assert.deepEqual(found.map((s) => s.name), ["logs"]);
    assert.deepEqual(found[0].prefix, "logs");
    assert.deepEqual(found[0].levels, ["list", "read_only", "full"]);
    assertIncludes(String(found[0].display_name), "CloudWatch Logs");
    assert.deepEqual(JSON.parse(logs.text), found);
    const none = await h.call("list_services", { query: "no-such-service-at-all" });
    assert.deepEqual(none.structured.services, []);
  } finally {
    await h.close();
  }
  const limited = await start({ allow: "s3:full,dynamodb:ro,sqs:list" });
  try {
    const listed = await limited.call("list_services");
    const services = listed.structured.services as Array<Record<string, unknown>>;
    assert.deepEqual(services.map((s) => [s.name, s.levels]), [
      ["dynamodb", ["list", "read_only"]],
      ["s3", ["list", "read_only", "full"]],
      ["sqs", ["list"]],
    ]);
  } finally {
    await limited.close();
  }
});

Deno.test("revoke_session deletes the file, forgets the session and says AWS keeps the keys valid", async () => {
  const h = await start();
  try {
    const granted = await h.call("grant_access", { services: ["s3"] });
    const id = String(granted.structured.session_id);
    const file = String(granted.structured.credential_file);
    const revoked = await h.call("revoke_session", { session_id: id });
    assert(!revoked.isError, revoked.text);
    assert.deepEqual(revoked.structured.revoked, true);
    assert.deepEqual(revoked.structured.credential_file_removed, file);
    assertIncludes(String(revoked.structured.note), "AWS keeps these keys valid until");
    await assert.rejects(() => Deno.stat(file), Deno.errors.NotFound);
    assert.deepEqual((await h.call("list_active_sessions")).structured, { sessions: [] });
    const again = await h.call("revoke_session", { session_id: id });
    assert(again.isError);
    assertIncludes(again.text, `No active session "${id}"`);
    assert.deepEqual(h.audit.events.map((e) => [e.event, e.outcome]), [
      ["grant", "granted"],
      ["revocation", "revoked"],
    ]);
    assert.deepEqual(h.audit.events[1].session_id, id);
  } finally {
    await h.close();
  }
});

Deno.test("bad requests and requests beyond the guardrails give isError results; the server keeps serving", async (t) => {
  const h = await start({ allow: "s3:full,dynamodb:ro,*:ro", options: { profile: "dev" } });
  const cases: Array<[string, string, Record<string, unknown>, string]> = [
    [
      "unknown level",
      "grant_access",
      { services: ["s3"], level: "admin" },
      'Unknown level "admin"',
    ],
    ["TTL forever", "grant_access", { services: ["s3"], ttl: "forever" }, 'Invalid TTL "forever"'],
    ["bare number TTL", "grant_access", { services: ["s3"], ttl: "15" }, "a unit is required"],
    ["TTL over --max-ttl", "grant_access", { services: ["s3"], ttl: "2h" }, "the maximum is 1h"],
    ["TTL under 1m", "grant_access", { services: ["s3"], ttl: "30s" }, "the minimum is 1m"],
    ["no services", "grant_access", { services: [] }, "No services given"],
    ["no arguments", "grant_access", {}, "No services given"],
    ["unknown service", "grant_access", { services: ["s4"] }, 'Unknown service "s4"'],
    [
      "service with a level",
      "grant_access",
      { services: ["s3:full"] },
      'Invalid service "s3:full"',
    ],
    ["bad scopes", "grant_access", { scopes: "s3" }, 'Invalid scope "s3"'],
    [
      "a thousand services",
      "grant_access",
      { services: Array.from({ length: 1000 }, (_, i) => `service${i}`) },
      'Unknown service "service0"',
    ],
    [
      "beyond --allow",
      "grant_access",
      { services: ["dynamodb", "ec2"], level: "full" },
      "Not allowed by this server: dynamodb:full,ec2:full: the allowed scopes are *:ro,s3:full,dynamodb:ro",
    ],
    ["another profile", "grant_access", { services: ["s3"], profile: "prod" }, 'Profile "prod"'],
    [
      "session id with ../",
      "revoke_session",
      { session_id: "../../etc/passwd" },
      "Invalid session id",
    ],
    [
      "session id with a suffix",
      "revoke_session",
      { session_id: "timebound-iam-00000000-0000-0000-0000-000000000000/../x" },
      "Invalid session id",
    ],
    ["services not a list", "grant_access", { services: "s3" }, "Input validation error"],
    ["session id missing", "revoke_session", {}, "Input validation error"],
  ];
  try {
    for (const [name, tool, args, expected] of cases) {
      await t.step(`${name}: ${expected}`, async () => {
        const result = await h.call(tool, args);
        assert(result.isError, `expected an error, got ${result.text}`);
        assertIncludes(result.text, expected);
        const listed = await h.call("list_active_sessions");
        assert(!listed.isError);
      });
    }
    assert.deepEqual(h.grants.length, 0);
    const refusals = h.audit.events.filter((e) => e.event === "refusal");
    assert.deepEqual(refusals.length, 13);
    assert(refusals.every((e) => e.outcome === "refused" && e.reason && e.client?.name));
    const allowed = await h.call("grant_access", { services: ["ec2", "s3"], level: "ro" });
    assert(!allowed.isError, allowed.text);
    assert.deepEqual(h.grants[0].profile, "dev");
  } finally {
    await h.close();
  }
});

Deno.test("a grant whose policy is over AWS's size limit says which scopes cost most", async () => {
  const h = await start();
  try {
    const services = catalog.services.map((s) => s.prefix);
    const result = await h.call("grant_access", {
      services: Array.from({ length: 1000 }, (_, i) => services[i % services.length]),
    });
    assert(result.isError);
    assertIncludes(result.text, "over AWS's limit");
  } finally {
    await h.close();
  }
});

Deno.test("a broker failure is an isError result in the CLI's words, audited as failed", async () => {
  const h = await start({
    fail: new RuntimeError("No AWS credentials found", { hint: "run aws configure" }),
  });
  try {
    const result = await h.call("grant_access", { services: ["s3"] });
    assert(result.isError);
    assert.deepEqual(result.text, "No AWS credentials found\nhint: run aws configure");
    assert.deepEqual(h.audit.events.map((e) => [e.event, e.outcome]), [["grant", "failed"]]);
  } finally {
    await h.close();
  }
});

Deno.test("an expired session is removed with its file within the sweep interval", async () => {
  const h = await start();
  try {
    const granted = await h.call("grant_access", { services: ["s3"], ttl: "15m" });
    const file = String(granted.structured.credential_file);
    await Deno.stat(file);
    h.advance(15 * 60_000 + 1000);
    // No call: the sweeper alone removes it.
    for (let i = 0; i < 100; i++) {
      try {
        await Deno.stat(file);
      } catch {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await assert.rejects(() => Deno.stat(file), Deno.errors.NotFound);
    assert.deepEqual((await h.call("list_active_sessions")).structured, { sessions: [] });
    assert.deepEqual(h.audit.events.map((e) => [e.event, e.outcome]), [
      ["grant", "granted"],
      ["expiry", "expired"],
    ]);
  } finally {
    await h.close();
  }
});

Deno.test("closing the server removes the env file directory", async () => {
  const h = await start();
  await h.call("grant_access", { services: ["s3"] });
  const dir = h.dir;
  await h.close();
  await assert.rejects(() => Deno.stat(dir), Deno.errors.NotFound);
});

Deno.test("--approve full asks the human before a full grant: accepted", async () => {
  const h = await start({
    options: { approve: "full" },
    elicit: () => ({ action: "accept", content: { approve: true } }),
  });
  try {
    const ro = await h.call("grant_access", { services: ["s3"] });
    assert(!ro.isError, ro.text);
    assert.deepEqual(h.asked.length, 0);
    const full = await h.call("grant_access", { scopes: "s3:full,sqs:ro", ttl: "30m" });
    assert(!full.isError, full.text);
    assert.deepEqual(h.asked.length, 1);
    assertIncludes(h.asked[0], "test-agent 1.2.3 asks for AWS credentials for 30m");
    assertIncludes(h.asked[0], "with the default AWS credentials:\n");
    assertIncludes(h.asked[0], "s3 (Amazon S3): full access");
    assertIncludes(h.asked[0], "sqs (Amazon SQS): read-only");
    assert.deepEqual(h.grants.length, 2);
  } finally {
    await h.close();
  }
});

Deno.test("approval says that a policy variable in a resource may stand for any name", async () => {
  const h = await start({
    options: { approve: "always" },
    elicit: () => ({ action: "accept", content: { approve: true } }),
  });
  try {
    const first = await h.call("grant_access", {
      scopes: "s3:ro@arn:aws:s3:::${aws:PrincipalTag/timebound-iam:client}",
    });
    const second = await h.call("grant_access", { scopes: "s3:ro@my-bucket" });
    assert.deepEqual(h.asked.length, 2, `${first.text}\n${second.text}`);
    assertIncludes(h.asked[0], "on arn:aws:s3:::${aws:PrincipalTag/timebound-iam:client} only");
    assertIncludes(
      h.asked[0],
      "\n  note: ${…} in a resource is an IAM policy variable: AWS fills it in at each call",
    );
    assert(!h.asked[1].includes("policy variable"), h.asked[1]);
  } finally {
    await h.close();
  }
});

Deno.test("approval shows the note on a bucket name that only an old bucket has, in one bounded line", async () => {
  const h = await start({
    options: { approve: "always" },
    elicit: () => ({ action: "accept", content: { approve: true } }),
  });
  try {
    const legacy = await h.call("grant_access", {
      scopes: "s3:ro@Old_Logs,s3:full@Old_Logs/tmp/*",
    });
    const plain = await h.call("grant_access", { scopes: "s3:ro@my-bucket" });
    const names = "ABCDEFGH".split("").map((c) => `Old_${c}_${"x".repeat(54)}`);
    const many = await h.call("grant_access", { services: ["s3"], resources: { s3: names } });
    assert.deepEqual(h.asked.length, 3, `${legacy.text}\n${plain.text}\n${many.text}`);
    assertIncludes(
      h.asked[0],
      '\n  note: "Old_Logs" can only be a bucket created in us-east-1 before March 2018 ' +
        "(uppercase letters, underscores): if it is not one, check the spelling\n",
    );
    assert.equal(h.asked[0].split("can only be a bucket").length, 2, h.asked[0]);
    assert(!h.asked[1].includes("note:"), h.asked[1]);
    const note = h.asked[2].split("\n").find((line) => line.startsWith("  note: "));
    assert.match(
      note ?? "",
      /^ {2}note: "Old_A_x+" can only be a bucket .*… \(\d+ more characters\)$/,
    );
    assert.ok(note!.length < 1100, String(note!.length));
  } finally {
    await h.close();
  }
});

Deno.test("--approve always asks before every grant: declined and cancelled grants are refused", async (t) => {
  for (
    const answer of [{ action: "decline" }, { action: "cancel" }, {
      action: "accept",
      content: { approve: false },
    }] as ElicitResult[]
  ) {
    await t.step(JSON.stringify(answer), async () => {
      const h = await start({ options: { approve: "always" }, elicit: () => answer });
      try {
        const result = await h.call("grant_access", { services: ["s3"] });
        assert(result.isError);
        assertIncludes(result.text, "Declined by the human: no credentials were requested");
        assert.deepEqual(h.asked.length, 1);
        assert.deepEqual(h.grants.length, 0);
        assert.deepEqual(h.audit.events.map((e) => [e.event, e.outcome]), [[
          "refusal",
          "declined",
        ]]);
      } finally {
        await h.close();
      }
    });
  }
});

Deno.test("the approval question names the AWS profile, and says when it is not the server's own", async () => {
  const h = await start({
    options: { approve: "always", profile: "dev", allowProfiles: new Set(["prod"]) },
    elicit: () => ({ action: "accept", content: { approve: true } }),
  });
  try {
    assert(!(await h.call("grant_access", { services: ["s3"] })).isError);
    assert(!(await h.call("grant_access", { services: ["s3"], profile: "prod" })).isError);
    assert.match(h.asked[0], /\), with AWS profile "dev":\n {2}s3 \(Amazon S3\)/);
    assert.match(
      h.asked[1],
      /\), with AWS profile "prod" \(not this server's own profile\):\n {2}s3 \(Amazon S3\)/,
    );
    assert.deepEqual(h.grants.map((g) => g.profile), ["dev", "prod"]);
  } finally {
    await h.close();
  }
});

Deno.test("an approval answered with no choice is no approval, even by a client that fills in defaults", async () => {
  const h = await start({
    options: { approve: "always" },
    applyDefaults: true,
    elicit: () => ({ action: "accept", content: {} }),
  });
  try {
    const result = await h.call("grant_access", { services: ["s3"] });
    assert(result.isError, result.text);
    assertIncludes(result.text, "Declined by the human: no credentials were requested (accept)");
    assert.deepEqual(h.grants.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("approval is impossible without elicitation: the grant is refused with what to change", async () => {
  const h = await start({ options: { approve: "full" } });
  try {
    const ro = await h.call("grant_access", { services: ["s3"] });
    assert(!ro.isError, ro.text);
    const full = await h.call("grant_access", { services: ["s3"], level: "full" });
    assert(full.isError);
    assertIncludes(full.text, "cannot ask the human: it does not support elicitation");
    assertIncludes(full.text, "--approve never");
    assert.deepEqual(h.grants.length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("an agent cannot leave the server's profile: others are refused without naming any", async () => {
  const h = await start({ options: { profile: "dev", allowProfiles: new Set(["staging"]) } });
  try {
    for (const profile of ["prod-admin", "default", "nosuch", "constructor"]) {
      const refused = await h.call("grant_access", { services: ["s3"], profile });
      assert.equal(refused.isError, true);
      assert.equal(
        refused.text,
        `Profile "${profile}" is not allowed on this server\n` +
          "hint: omit profile to use the server's; only the human who starts the server can " +
          "allow others",
      );
    }
    assert.equal(h.grants.length, 0);
    assert.equal((await h.call("grant_access", { services: ["s3"] })).isError, undefined);
    assert.equal(
      (await h.call("grant_access", { services: ["s3"], profile: "dev" })).isError,
      undefined,
    );
    assert.equal(
      (await h.call("grant_access", { services: ["s3"], profile: "staging" })).isError,
      undefined,
    );
    assert.deepEqual(h.grants.map((g) => g.profile), ["dev", "dev", "staging"]);
    assert.deepEqual(
      h.audit.events.map((e) => [e.outcome, e.profile]),
      [
        ["refused", "prod-admin"],
        ["refused", "default"],
        ["refused", "nosuch"],
        ["refused", "constructor"],
        ["granted", "dev"],
        ["granted", "dev"],
        ["granted", "staging"],
      ],
    );
  } finally {
    await h.close();
  }
});

Deno.test("lookups keyed by input use own properties only: constructor is no level or service", async () => {
  const h = await start({ options: { approve: "full" }, elicit: () => ({ action: "accept" }) });
  try {
    for (const word of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
      const level = await h.call("grant_access", { services: ["s3"], level: word });
      assert.equal(level.isError, true);
      assert.match(level.text, new RegExp(`^Unknown level "${word}"`));
      const scoped = await h.call("grant_access", { scopes: `s3:${word}` });
      assert.equal(scoped.isError, true);
      assert.match(scoped.text, /^Unknown level/);
      const service = await h.call("grant_access", { services: [word] });
      assert.equal(service.isError, true);
      assert.match(
        service.text,
        new RegExp(`^(Unknown service "${word.toLowerCase()}"|Invalid scope "${word}:ro")`),
      );
    }
    assert.equal(h.grants.length, 0);
    assert.ok(h.audit.events.every((e) => !JSON.stringify(e).includes("function")));
  } finally {
    await h.close();
  }
});

Deno.test("an accept without the approval's content is no approval", async () => {
  const answers: ElicitResult[] = [
    { action: "accept" },
    { action: "accept", content: {} },
  ];
  const h = await start({
    options: { approve: "always" },
    elicit: () => answers.shift() ?? { action: "accept", content: { approve: true } },
  });
  try {
    for (let i = 0; i < 2; i++) {
      const result = await h.call("grant_access", { services: ["s3"] });
      assert.equal(result.isError, true);
      assert.match(result.text, /^Declined/);
      // No new question for a minute after a no.
      h.advance(60_000);
    }
    assert.equal(h.grants.length, 0);
    const approved = await h.call("grant_access", { services: ["s3"] });
    assert.equal(approved.isError, undefined, approved.text);
    assert.equal(h.grants.length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("a client name with newlines and escape codes is neutralised in the log and the audit log", async () => {
  const lines: string[] = [];
  const h = await start({ clientName: "evil\nforged line\x1b[2J\x07", log: (l) => lines.push(l) });
  try {
    await h.call("grant_access", { services: ["s3"] });
    await h.call("grant_access", { services: ["nosuch"] });
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.ok(line.includes("evil\\u{a}forged line\\u{1b}[2J\\u{7} 1.2.3"), line);
      for (const c of ["\n", "\x1b", "\x07"]) assert.ok(!line.includes(c), line);
    }
    for (const event of h.audit.events) {
      assert.equal(event.client?.name, "evil\\u{a}forged line\\u{1b}[2J\\u{7}");
    }
  } finally {
    await h.close();
  }
});

Deno.test("a client named with the characters \\u{a} reads apart from one named with a newline, in the log and the audit log", async () => {
  for (
    const [name, shown] of [
      ["twin\\u{a}", "twin\\u{5c}u{a}"],
      ["twin\n", "twin\\u{a}"],
    ]
  ) {
    const lines: string[] = [];
    const h = await start({ clientName: name, log: (l) => lines.push(l) });
    try {
      await h.call("grant_access", { services: ["s3"] });
      assert.equal(lines.length, 1);
      assert.ok(lines[0].includes(` to ${shown} 1.2.3,`), lines[0]);
      assert.equal(h.audit.events[0].client?.name, shown);
    } finally {
      await h.close();
    }
  }
});

Deno.test("a refused profile named with the characters \\u{a} or a newline is quoted once, each its own way, to the agent, in the log and in the audit log", async () => {
  for (
    const [profile, shown] of [
      ["twin\\u{a}", "twin\\u{5c}u{a}"],
      ["twin\n", "twin\\u{a}"],
    ]
  ) {
    const lines: string[] = [];
    const h = await start({ options: { profile: "dev" }, log: (l) => lines.push(l) });
    try {
      const refused = await h.call("grant_access", { services: ["s3"], profile });
      const message = `Profile "${shown}" is not allowed on this server`;
      assert.equal(refused.text.split("\n")[0], message);
      assert.equal(lines.length, 1);
      assert.ok(lines[0].endsWith(`: ${message}`), lines[0]);
      assert.deepEqual(
        h.audit.events.map((e) => [e.outcome, e.profile, e.reason]),
        [["refused", shown, message]],
      );
    } finally {
      await h.close();
    }
  }
});

Deno.test("an agent's argument holding the characters \\u{a} or a newline is quoted each its own way, on one log line and in the audit log", async (t) => {
  const cases: Array<[string, (x: string) => Record<string, unknown>, string?]> = [
    ["a scope without a level", (x) => ({ scopes: `bogus${x}` })],
    ["a scope's service", (x) => ({ scopes: `bo${x}gus:ro` })],
    ["a scope's level", (x) => ({ scopes: `s3:r${x}o` })],
    ["a scope list with an empty item", (x) => ({ scopes: `s3:ro,,b${x}` })],
    ["a scope without a resource", (x) => ({ scopes: `s3${x}:ro@` })],
    ["a TTL", (x) => ({ scopes: "s3:ro", ttl: `9${x}m` })],
    ["a level", (x) => ({ services: ["s3"], level: `read${x}only` })],
    ["a service", (x) => ({ services: [`s${x}3`] })],
    ["a key of resources", (x) => ({ services: ["s3"], resources: { [`s${x}3`]: ["bk1"] } })],
    ["a resource with a comma", (x) => ({ services: ["s3"], resources: { s3: [`bk1,${x}`] } })],
    ["an ARN", (x) => ({ scopes: `sqs:ro@arn:aw${x}s:sqs:eu-west-1:123456789012:q` })],
    ["an ARN's service", (x) => ({ scopes: `sqs:ro@arn:aws:s${x}ns:eu-west-1:123456789012:q` })],
    ["an ARN's region", (x) => ({ scopes: `sqs:ro@arn:aws:sqs:eu${x}:123456789012:q` })],
    [
      "an ARN of no type",
      (x) => ({ scopes: `dynamodb:ro@arn:aws:dynamodb:eu-west-1:123456789012:${x}` }),
    ],
    ["an S3 path", (x) => ({ scopes: `s3:ro@/${x}` })],
    ["a bare name where only ARNs go", (x) => ({ scopes: `ec2:ro@i-1${x}` })],
    ["a scope outside the allow list", (x) => ({ scopes: `s3:ro@bk1/${x}` }), "s3:ro@bk2"],
  ];
  for (const [name, args, allow] of cases) {
    await t.step(name, async () => {
      const reasons: string[] = [];
      for (const x of ["\\u{a}", "\n"]) {
        const lines: string[] = [];
        const h = await start({ log: (l) => lines.push(l), allow });
        try {
          const refused = await h.call("grant_access", args(x));
          assert.equal(refused.isError, true);
          const [reason] = h.audit.events.map((e) => e.reason ?? "");
          assert.equal(h.audit.events.length, 1);
          assert.ok(!/[\n\r]/.test(reason), reason);
          // The agent, the log and the audit log read the same one line.
          assert.equal(refused.text.split("\n")[0], reason);
          assert.deepEqual(lines, [`refused a grant to test-agent 1.2.3: ${reason}`]);
          reasons.push(reason);
        } finally {
          await h.close();
        }
      }
      const [literal, newline] = reasons;
      assert.ok(literal.includes("\\u{5c}u{a}"), literal);
      assert.ok(!literal.replaceAll("\\u{5c}u{a}", "").includes("\\u{a}"), literal);
      assert.notEqual(literal, newline);
    });
  }
});

Deno.test("revoke_session quotes a session id holding the characters \\u{a} apart from one holding a newline", async () => {
  const texts: string[] = [];
  for (const x of ["\\u{a}", "\n"]) {
    const h = await start();
    try {
      const refused = await h.call("revoke_session", { session_id: `timebound-iam-${x}` });
      assert.equal(refused.isError, true);
      texts.push(refused.text.split("\n")[0]);
    } finally {
      await h.close();
    }
  }
  assert.deepEqual(texts, [
    'Invalid session id "timebound-iam-\\u{5c}u{a}": expected timebound-iam-<uuid>',
    'Invalid session id "timebound-iam-\\u{a}": expected timebound-iam-<uuid>',
  ]);
});

Deno.test("an oversized argument is refused by the schema; logs keep only a bounded part", async () => {
  const lines: string[] = [];
  const h = await start({ log: (l) => lines.push(l) });
  try {
    const huge = "s3:ro,".repeat(400_000);
    for (
      const args of [
        { scopes: huge },
        { services: ["s".repeat(100_000)] },
        { services: Array(10_000).fill("s3") },
        { services: ["s3"], ttl: "1".repeat(100_000) },
        { services: ["s3"], level: "r".repeat(100_000) },
        { services: ["s3"], profile: "p".repeat(100_000) },
      ]
    ) {
      const result = await h.call("grant_access", args);
      assert.equal(result.isError, true);
      assert.ok(result.text.length < 2000, `${result.text.length} characters`);
    }
    // Within the bounds, an unknown long name gets no suggestion (no edit distance on it).
    const long = await h.call("grant_access", { services: ["x".repeat(64)] });
    assert.equal(long.isError, true);
    assert.match(long.text, /^Unknown service "x{64}"\nhint: use an IAM service prefix/);
    const searched = await h.call("list_services", { query: "q".repeat(10_000) });
    assert.equal(searched.isError, true);
    assert.equal(h.grants.length, 0);
    for (const event of h.audit.events) assert.ok(JSON.stringify(event).length < 3000);
    // The server still answers.
    assert.equal((await h.call("grant_access", { services: ["s3"] })).isError, undefined);
  } finally {
    await h.close();
  }
});

Deno.test("an MCP client that calls itself cli is tagged as an MCP client, not as the command line", async () => {
  const h = await start({ clientName: "cli" });
  try {
    assert(!(await h.call("grant_access", { services: ["s3"] })).isError);
    assert.deepEqual(h.grants[0].tags?.[0], {
      Key: "timebound-iam:client",
      Value: "mcp:cli/1.2.3",
    });
  } finally {
    await h.close();
  }
});

Deno.test("an agent that loops on grant_access: past 20 calls a minute each is refused unread, and the audit log gets one line a minute for them", async () => {
  const log: string[] = [];
  const h = await start({ log: (line) => log.push(line) });
  let closed = false;
  try {
    // The agent is told at connection.
    assert.match(h.client.getInstructions() ?? "", /At most 20 grant_access calls a minute\.$/);
    for (let i = 0; i < 20; i++) {
      const granted = await h.call("grant_access", { services: ["s3"], ttl: "5m" });
      assert.ok(!granted.isError, granted.text);
    }
    const over = [];
    for (let i = 0; i < 30; i++) over.push(await h.call("grant_access", { services: ["s3"] }));
    for (const result of over) {
      assert.ok(result.isError);
      assert.equal(
        result.text,
        "Too many grant requests: at most 20 a minute; this one was not looked at. Try again " +
          "in 60s\nhint: reuse a session that list_active_sessions shows, or ask for all you need " +
          "at once",
      );
    }
    // Refused before any work: no grant, and the listing tools still answer.
    assert.equal(h.grants.length, 20);
    const listed = await h.call("list_active_sessions");
    assert.ok(!listed.isError, listed.text);
    // Twenty grants and one line for the first refusal; the other 29 wait for the next report.
    const limited = () => h.audit.events.filter((e) => e.outcome === "rate-limited");
    assert.equal(h.audit.events.length, 21);
    assert.deepEqual(limited(), [{
      time: START.toISOString(),
      event: "refusal",
      outcome: "rate-limited",
      client: { name: "test-agent", version: "1.2.3" },
      refused_calls: 1,
      reason: "1 grant request over the limit of 20 a minute since 2030-01-01T00:00:00.000Z, " +
        "refused unread",
    }]);

    h.advance(30_000);
    const still = await h.call("grant_access", { services: ["s3"] });
    assert.match(still.text, /^Too many grant requests: .* Try again in 30s/);
    assert.equal(limited().length, 1);

    // A minute after the first calls, calls go ahead again, and the first of them reports the
    // refusals not reported yet: the 29 of the first minute and the one after.
    h.advance(30_000);
    const again = await h.call("grant_access", { services: ["s3"] });
    assert.ok(!again.isError, again.text);
    assert.equal(h.grants.length, 21);
    assert.equal(limited().length, 2);

    await h.close();
    closed = true;
    assert.deepEqual(limited().map((e) => [e.refused_calls, e.reason]), [
      [
        1,
        "1 grant request over the limit of 20 a minute since 2030-01-01T00:00:00.000Z, refused unread",
      ],
      [
        30,
        "30 grant requests over the limit of 20 a minute since 2030-01-01T00:00:00.000Z, refused unread",
      ],
    ]);
    assert.deepEqual(log.filter((line) => line.includes("over the limit")).length, 2);
  } finally {
    if (!closed) await h.close();
  }
});

Deno.test("an agent cannot flood the human with approval questions: one open at a time, none for a minute after a no", async () => {
  const pending: Array<(answer: ElicitResult) => void> = [];
  const h = await start({
    options: { approve: "always" },
    elicit: () => new Promise<ElicitResult>((resolve) => pending.push(resolve)),
  });
  try {
    const calls = Array.from({ length: 5 }, () => h.call("grant_access", { services: ["s3"] }));
    // The first call's question is open; the other four are refused without a question.
    while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(h.asked.length, 1);
    const early = await Promise.all(calls.slice(1));
    for (const result of early) {
      assert.equal(
        result.text,
        "An approval question is already waiting for the human: this grant was not asked\n" +
          "hint: wait for that answer, and ask for everything you need in one grant",
      );
    }
    pending[0]({ action: "decline" });
    assert.match((await calls[0]).text, /^Declined by the human/);

    h.advance(20_000);
    const soon = await h.call("grant_access", { services: ["s3"] });
    assert.equal(
      soon.text,
      "The human declined a grant 20s ago: no new approval question for 40s\n" +
        "hint: do not retry; tell the human what you need and why",
    );
    assert.equal(h.asked.length, 1);

    h.advance(40_000);
    const later = h.call("grant_access", { services: ["s3"] });
    while (pending.length === 1) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(h.asked.length, 2);
    pending[1]({ action: "accept", content: { approve: true } });
    assert.equal((await later).isError, undefined);
    assert.equal(h.grants.length, 1);
    // Each refusal is audited: four while the question was open, one in the quiet minute.
    assert.deepEqual(
      h.audit.events.map((e) => e.outcome),
      ["refused", "refused", "refused", "refused", "declined", "refused", "granted"],
    );
  } finally {
    for (const resolve of pending) resolve({ action: "cancel" });
    await h.close();
  }
});
