// `--calls`, `--calls=FILE` and `--learn` without a child: the checks made before anything is
// granted (each a usage error, exit 2), the file written new and 0600 when the command ends (a
// failure then is exit 1: the command has run), and the lines printed on stderr.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CallReportFlags, checkCallReport, reportCalls } from "../lib/cli/call_report.ts";
import { RuntimeError, UsageError } from "../lib/core/errors.ts";
import type { CallTally, TalliedCall } from "../lib/delivery/call_tally.ts";

const HINT = "name a new file: --calls=FILE creates it 0600 and never overwrites one";

/** The error `work` fails with, as the user reads it. */
async function failure(work: () => Promise<unknown>) {
  const error = await work().then(() => undefined, (e) => e);
  assert.ok(error instanceof UsageError || error instanceof RuntimeError, String(error));
  return { message: error.message, hint: error.hint, exitCode: error.exitCode };
}

const masked = { masked: true, command: "exec" as const };

Deno.test("--calls and --learn need --masked, with an example for the command at hand", async () => {
  const cases: Array<[CallReportFlags, "exec" | "shell", string, string]> = [
    [
      { calls: true },
      "exec",
      "--calls",
      "e.g. timebound-iam exec --masked --calls -s s3:ro -t 15m -- aws s3 ls",
    ],
    [
      { calls: "calls.jsonl" },
      "exec",
      "--calls",
      "e.g. timebound-iam exec --masked --calls -s s3:ro -t 15m -- aws s3 ls",
    ],
    [
      { learn: true },
      "exec",
      "--learn",
      "e.g. timebound-iam exec --masked --learn -s s3:ro -t 15m -- aws s3 ls",
    ],
    [
      { calls: true, learn: true },
      "shell",
      "--learn",
      "e.g. timebound-iam shell --masked --learn -s s3:ro -t 1h",
    ],
    [
      { calls: true },
      "shell",
      "--calls",
      "e.g. timebound-iam shell --masked --calls -s s3:ro -t 1h",
    ],
  ];
  for (const [flags, command, flag, hint] of cases) {
    assert.deepEqual(
      await failure(() => checkCallReport(flags, { masked: false, command })),
      {
        message: `${flag} needs --masked: only the signing proxy sees the calls`,
        hint,
        exitCode: 2,
      },
    );
  }
  // Neither flag: nothing to check, masked or not.
  await checkCallReport({}, { masked: false, command: "exec" });
  await checkCallReport({ learn: false }, { masked: false, command: "shell" });
  await checkCallReport({ calls: true, learn: true }, masked);
});

Deno.test("--calls=FILE must be a new file in a directory that exists, found before any grant", async () => {
  await using dir = await tempDir();
  const at = (...parts: string[]) => join(dir.path, ...parts);
  await Deno.writeTextFile(at("plain"), "a file\n");
  await Deno.writeTextFile(at("calls.jsonl"), "kept\n");
  await Deno.mkdir(at("sub"));
  await Deno.symlink(at("nowhere"), at("dangling"));
  await Deno.symlink(at("nowhere.jsonl"), at("link.jsonl"));
  await Deno.symlink(at("sub"), at("to-sub"));
  const cases: Array<[string, string]> = [
    [at("calls.jsonl"), "it exists already"],
    // A symlink is an entry: the file is never written through it, even where it leads nowhere.
    [at("link.jsonl"), "it exists already"],
    [at("sub"), "it exists already"],
    [at("nowhere", "calls.jsonl"), "its directory is missing"],
    [at("dangling", "calls.jsonl"), "its directory is missing"],
    [at("plain", "calls.jsonl"), "a part of its path is a file, not a directory"],
    [at("plain", "deeper", "calls.jsonl"), "a part of its path is a file, not a directory"],
  ];
  await Deno.symlink(at("loop"), at("loop"));
  for (const [path, reason] of cases) {
    assert.deepEqual(
      await failure(() => checkCallReport({ calls: path }, masked)),
      { message: `Cannot write the calls to "${path}": ${reason}`, hint: HINT, exitCode: 2 },
      path,
    );
  }
  // Any other reason is the system's own, on one line.
  const looped = await failure(() => checkCallReport({ calls: at("loop", "calls.jsonl") }, masked));
  assert.match(
    looped.message,
    new RegExp(
      `^Cannot write the calls to "${
        at("loop", "calls.jsonl")
      }": Too many levels of symbolic links`,
    ),
  );
  assert.ok(!looped.message.includes("\n"), looped.message);
  assert.equal(looped.exitCode, 2);
  // The name as written is what the error quotes, neutralised and bounded.
  const hostile = at(`nowhere\x1b[2J`, "x".repeat(200), "y".repeat(200), "calls.jsonl");
  assert.equal(
    (await failure(() => checkCallReport({ calls: hostile }, masked))).message,
    `Cannot write the calls to "${at("nowhere")}\\u{1b}[2J/${"x".repeat(200)}/` +
      `${"y".repeat(300 - at("nowhere").length - 5 - 201)}… (${hostile.length - 300} more ` +
      'characters)": its directory is missing',
  );
  // A new name in a directory, the directory reached through a symlink too: accepted.
  await checkCallReport({ calls: at("new.jsonl") }, masked);
  await checkCallReport({ calls: at("to-sub", "new.jsonl") }, masked);
  assert.equal(await Deno.readTextFile(at("calls.jsonl")), "kept\n");
  assert.deepEqual((await Array.fromAsync(Deno.readDir(at("sub")))).length, 0);
});

Deno.test("a relative --calls=FILE is checked where the command runs", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "calls.jsonl"), "");
  const cwd = Deno.cwd();
  Deno.chdir(dir.path);
  try {
    assert.deepEqual(
      await failure(() => checkCallReport({ calls: "calls.jsonl" }, masked)),
      {
        message: 'Cannot write the calls to "calls.jsonl": it exists already',
        hint: HINT,
        exitCode: 2,
      },
    );
    await checkCallReport({ calls: "new.jsonl" }, masked);
  } finally {
    Deno.chdir(cwd);
  }
});

const CALLS: TalliedCall[] = [
  {
    service: "s3",
    action: "GetObject",
    resource: "learn-bucket/data/report.csv",
    count: 2,
    refused: false,
  },
  {
    service: "s3",
    action: "PutObject",
    resource: "learn-bucket/x.txt",
    count: 1,
    refused: true,
    errorCode: "AccessDenied",
  },
];

function tally(calls: TalliedCall[], dropped = 0, unverified = 0): CallTally {
  const total = calls.reduce((sum, call) => sum + call.count, 0) + dropped;
  return { record() {}, countUnverified() {}, calls: () => calls, total, dropped, unverified };
}

function stderr() {
  const said: string[] = [];
  return { io: { stderr: (text: string) => void said.push(text) }, said };
}

Deno.test("--calls=FILE is written new, 0600, one JSON line a call, and stderr says where", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "calls.jsonl");
  const { io, said } = stderr();
  await reportCalls(io, tally(CALLS), { calls: path });
  assert.deepEqual(said, [`calls: 3 (2 distinct) written to ${path}\n`]);
  assert.equal(
    await Deno.readTextFile(path),
    '{"service":"s3","action":"GetObject","resource":"learn-bucket/data/report.csv","count":2,' +
      '"refused":false}\n' +
      '{"service":"s3","action":"PutObject","resource":"learn-bucket/x.txt","count":1,' +
      '"refused":true,"error_code":"AccessDenied"}\n',
  );
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  // Large: every byte reaches the file.
  const many = Array.from({ length: 5000 }, (_, i) => ({
    service: "s3",
    action: "GetObject",
    resource: `learn-bucket/${"k".repeat(100)}${i}`,
    count: 1,
    refused: false,
  }));
  const big = join(dir.path, "big.jsonl");
  await reportCalls(io, tally(many), { calls: big });
  const lines = (await Deno.readTextFile(big)).split("\n");
  assert.equal(lines.length, 5001);
  assert.equal(JSON.parse(lines[4999]).resource, `learn-bucket/${"k".repeat(100)}4999`);
});

Deno.test("a --calls=FILE that cannot be created when the command ends is a failure of the run", async () => {
  await using dir = await tempDir();
  const at = (...parts: string[]) => join(dir.path, ...parts);
  await Deno.writeTextFile(at("taken.jsonl"), "theirs\n");
  await Deno.symlink(at("elsewhere.jsonl"), at("link.jsonl"));
  for (const name of ["taken.jsonl", "link.jsonl"]) {
    const { io, said } = stderr();
    assert.deepEqual(await failure(() => reportCalls(io, tally(CALLS), { calls: at(name) })), {
      message: `Cannot write the calls to "${at(name)}": it was created while the command ran`,
      hint: HINT,
      exitCode: 1,
    });
    assert.deepEqual(said, []);
  }
  assert.equal(await Deno.readTextFile(at("taken.jsonl")), "theirs\n");
  await assert.rejects(Deno.lstat(at("elsewhere.jsonl")), Deno.errors.NotFound);
  const gone = at("gone", "calls.jsonl");
  const { message, exitCode } = await failure(() =>
    reportCalls(stderr().io, tally(CALLS), { calls: gone })
  );
  assert.match(
    message,
    new RegExp(`^Cannot write the calls to "${gone}": No such file or directory`),
  );
  assert.ok(!message.includes("\n"), message);
  assert.equal(exitCode, 1);
});

Deno.test("--calls lists the calls on stderr; no flag prints nothing", async () => {
  const listed = stderr();
  await reportCalls(listed.io, tally(CALLS, 4), { calls: true });
  assert.deepEqual(listed.said, [
    "calls: 7 (2 distinct)\n" +
    "  s3 GetObject learn-bucket/data/report.csv 2\n" +
    "  s3 PutObject learn-bucket/x.txt 1 refused (AccessDenied)\n" +
    "  (incomplete: 4 calls not recorded after 10,000 distinct ones)\n",
  ]);
  const unverified = stderr();
  await reportCalls(unverified.io, tally(CALLS, 1, 3), { calls: true });
  assert.deepEqual(unverified.said, [
    "calls: 4 (2 distinct)\n" +
    "  s3 GetObject learn-bucket/data/report.csv 2\n" +
    "  s3 PutObject learn-bucket/x.txt 1 refused (AccessDenied)\n" +
    "  (incomplete: 1 call not recorded after 10,000 distinct ones)\n" +
    "  (3 requests not verified as signed with the stand-in key were refused, not listed)\n",
  ]);
  const quiet = stderr();
  await reportCalls(quiet.io, tally(CALLS), {});
  await reportCalls(quiet.io, tally(CALLS), { calls: false, learn: false });
  assert.deepEqual(quiet.said, []);
});

Deno.test("--learn prints the narrowest -s line, with what it cannot promise", async () => {
  const { io, said } = stderr();
  const byProxy: TalliedCall = {
    service: "sts",
    action: "GetSessionToken",
    count: 3,
    refused: true,
    byProxy: true,
    errorCode: "AccessDenied",
    refusalReason: "credential-minting action refused under --masked",
  };
  await reportCalls(io, tally([...CALLS, byProxy]), { learn: true });
  assert.deepEqual(said, [
    "learned: the narrowest scopes that allow the 3 calls it made:\n" +
    "  -s 's3:ro@learn-bucket/data/report.csv,s3:full@learn-bucket/x.txt'\n" +
    "note: 1 distinct call was refused by AWS; the line allows them, but the broker role may not\n" +
    "note: calls the signing proxy refused are left out (they never reached AWS)\n",
  ]);
});

Deno.test("--learn counts in words that fit: one call, several refused", async () => {
  const one = stderr();
  await reportCalls(one.io, tally([CALLS[0]].map((c) => ({ ...c, count: 1 }))), { learn: true });
  assert.deepEqual(one.said, [
    "learned: the narrowest scopes that allow the 1 call it made:\n" +
    "  -s 's3:ro@learn-bucket/data/report.csv'\n",
  ]);
  const refused = stderr();
  const denied = CALLS.map((call) => ({ ...call, refused: true }));
  await reportCalls(refused.io, tally(denied), { learn: true });
  assert.match(
    refused.said.join(""),
    /\nnote: 2 distinct calls were refused by AWS; the line allows them, but the broker role may not\n$/,
  );
});

Deno.test("--learn says nothing is needed, or that the record is incomplete past the distinct calls kept, and proposes no line", async () => {
  const none = stderr();
  await reportCalls(none.io, tally([]), { learn: true });
  assert.deepEqual(none.said, ["learned: no call needs a scope\n"]);
  const dropped = stderr();
  await reportCalls(dropped.io, tally(CALLS, 1), { learn: true });
  assert.deepEqual(dropped.said, [
    "learned: nothing: the record is incomplete: 1 call not recorded after 10,000 distinct " +
    "ones, and a line must allow every call\n",
  ]);
  const many = stderr();
  await reportCalls(many.io, tally(CALLS, 12), { learn: true, calls: true });
  assert.equal(
    many.said.at(-1),
    "learned: nothing: the record is incomplete: 12 calls not recorded after 10,000 distinct " +
      "ones, and a line must allow every call\n",
  );
});

Deno.test("--learn leaves out the requests whose signature did not verify, and says so", async () => {
  for (
    const [count, verb] of [[1, "request not verified as signed with the stand-in key is"], [
      2,
      "requests not verified as signed with the stand-in key are",
    ]] as const
  ) {
    const { io, said } = stderr();
    await reportCalls(io, tally(CALLS, 0, count), { learn: true });
    assert.deepEqual(said, [
      "learned: the narrowest scopes that allow the 3 calls it made:\n" +
      "  -s 's3:ro@learn-bucket/data/report.csv,s3:full@learn-bucket/x.txt'\n" +
      "note: 1 distinct call was refused by AWS; the line allows them, but the broker role may not\n" +
      `note: ${count} refused ${verb} left out\n`,
    ]);
  }
});

Deno.test("--calls=FILE ends with one line without a service when the record is incomplete or requests were refused unverified, and stderr says so", async () => {
  await using dir = await tempDir();
  const cases: Array<[number, number, string, string[]]> = [
    [
      2,
      0,
      '{"incomplete":true,"calls_not_recorded":2,"distinct_calls_kept":10000}\n',
      ["  (incomplete: 2 calls not recorded after 10,000 distinct ones)"],
    ],
    [0, 1, '{"unverified_requests_refused":1}\n', [
      "  (1 request not verified as signed with the stand-in key was refused, not listed)",
    ]],
    [
      1,
      3,
      '{"incomplete":true,"calls_not_recorded":1,"distinct_calls_kept":10000,' +
      '"unverified_requests_refused":3}\n',
      [
        "  (incomplete: 1 call not recorded after 10,000 distinct ones)",
        "  (3 requests not verified as signed with the stand-in key were refused, not listed)",
      ],
    ],
  ];
  for (const [dropped, unverified, trailer, notes] of cases) {
    const path = join(dir.path, `calls-${dropped}-${unverified}.jsonl`);
    const { io, said } = stderr();
    await reportCalls(io, tally(CALLS, dropped, unverified), { calls: path });
    assert.deepEqual(said, [
      `calls: ${3 + dropped} (2 distinct) written to ${path}\n` +
      notes.map((line) => `${line}\n`).join(""),
    ]);
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.equal(lines.length, 4);
    assert.equal(`${lines[2]}\n`, trailer);
    assert.equal(JSON.parse(lines[2]).service, undefined);
  }
});

Deno.test("--learn's notes quote what a call named, neutralised and bounded", async () => {
  const { io, said } = stderr();
  const service = `evil\x1b[2J\n${"s".repeat(400)}`;
  await reportCalls(io, tally([{ service, action: "Get", count: 1, refused: false }]), {
    learn: true,
  });
  const text = said.join("");
  const note = `"${service}" is not a service IAM knows: its calls are not covered`;
  assert.equal(
    text,
    "learned: no call needs a scope\n" +
      `note: "evil\\u{1b}[2J\\u{a}${"s".repeat(290)}… (${note.length - 300} more characters)\n`,
  );
});

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "tbi-call-report-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

Deno.test("--learn allows the calls sent to AWS that got no answer, and says their outcome is unknown", async () => {
  const sent = (count: number, resource: string): TalliedCall => ({
    service: "dynamodb",
    action: "DeleteTable",
    resource,
    count,
    refused: false,
    unanswered: "sent to AWS, no answer within the proxy's idle timeout",
  });
  const one = stderr();
  await reportCalls(one.io, tally([sent(2, "Orders")]), { learn: true });
  assert.deepEqual(one.said, [
    "learned: the narrowest scopes that allow the 2 calls it made:\n" +
    "  -s 'dynamodb:full@Orders'\n" +
    "note: 1 distinct call was sent to AWS and got no answer: whether AWS carried it out is " +
    "unknown; the line allows it\n",
  ]);
  const two = stderr();
  await reportCalls(two.io, tally([sent(1, "Orders"), sent(1, "Carts")]), { learn: true });
  assert.match(
    two.said.join(""),
    /\nnote: 2 distinct calls were sent to AWS and got no answer: whether AWS carried them out is unknown; the line allows them\n$/,
  );
});
