// console end to end: the real CLI against the local endpoint's STS and federation endpoint
// (TIMEBOUND_IAM_SIGNIN_URL), with a BROWSER script that records what it is given.
import assert from "node:assert/strict";
import { baseEnv, cliCommand, type CliResult, runCli } from "./support/cli.ts";
import { type Fixture, startFixture } from "./support/fixture.ts";
import { parseAllowList } from "../lib/request/allow_list.ts";
import { loadCatalog } from "../lib/request/catalog.ts";
import { forTarget, prepareGrant } from "../lib/request/grant_request.ts";
import type { LocalAws, LocalCredentials, SigninRecord } from "./support/local_aws.ts";
import { canRun } from "./support/system_tool.ts";
import { OTHER_UIDS, OTHER_USERS_SKIP } from "./support/users.ts";

const windows = Deno.build.os === "windows";

/** The fixture, with the console sign-in URL at the local endpoint, and the console command. */
interface ConsoleFixture extends Fixture {
  /** Runs `timebound-iam console ARGS` (no confirmation) and checks no secret reached stderr. */
  console(args: string[], extra?: Record<string, string>): Promise<CliResult>;
}

async function fixture(base?: (aws: LocalAws) => LocalCredentials): Promise<ConsoleFixture> {
  const fx = await startFixture({
    caller: base,
    env: (_home, aws) => ({ TIMEBOUND_IAM_SIGNIN_URL: aws!.signinUrl }),
    prefix: "tbi-console-",
  });
  return Object.assign(fx, {
    async console(args: string[], extra: Record<string, string> = {}) {
      // fx.run fails on a secret the endpoint knows on stderr; a sign-in token is one too.
      const result = await fx.run(["console", "--no-confirm", ...args], { env: extra });
      const { stderr } = result;
      assert.ok(!stderr.includes("SigninToken="), stderr);
      assert.ok(!/sessionKey|sessionToken/.test(stderr), stderr);
      return result;
    },
  });
}

/** The login URL inside a printed URL (behind the logout unless --no-logout-first). */
function loginOf(printed: string): URL {
  const url = new URL(printed.trim());
  if (url.pathname.endsWith("/oauth")) {
    assert.equal(url.searchParams.get("Action"), "logout");
    return new URL(url.searchParams.get("redirect_uri")!);
  }
  return url;
}

function recordOf(aws: LocalAws, login: URL): SigninRecord {
  assert.equal(`${login.origin}${login.pathname}`, aws.signinUrl);
  assert.equal(login.searchParams.get("Action"), "login");
  assert.equal(login.searchParams.get("Issuer"), "timebound-iam");
  const record = aws.signinRecord(login.searchParams.get("SigninToken") ?? "");
  assert.ok(record, "the endpoint issued the URL's token");
  return record;
}

async function policyOf(scopes: string): Promise<string> {
  const out = await runCli(["policy", "-s", scopes]);
  assert.equal(out.code, 0, out.stderr);
  return JSON.stringify(JSON.parse(out.stdout));
}

Deno.test("console --print: a URL whose sign-in token is the grant's session", async () => {
  await using f = await fixture();
  const result = await f.console(["-s", "s3:ro,dynamodb:list", "-t", "30m", "--print"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.split("\n").length, 2, "one line on stdout");
  assert.match(result.stderr, /^warning: the URL on stdout is a bearer secret: .*15 minutes/m);

  const printed = new URL(result.stdout.trim());
  assert.equal(`${printed.origin}${printed.pathname}`, `${f.aws.url}/oauth`, "logout first");
  const login = loginOf(result.stdout);
  assert.equal(
    login.searchParams.get("Destination"),
    "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1",
  );
  const record = recordOf(f.aws, login);
  const assumed = f.aws.requests.filter((r) => r.action === "AssumeRole");
  assert.equal(assumed.length, 1);
  assert.equal(record.session.sessionName, assumed[0].params.RoleSessionName);
  assert.equal(record.session.policy, await policyOf("s3:ro,dynamodb:list"));
  assert.equal(record.session.durationSeconds, 1800);
  assert.equal(record.session.tags["timebound-iam:scopes"] !== undefined, true);
  assert.equal(record.sessionDuration, undefined, "no SessionDuration was sent");

  // The URL works as a browser would follow it: logout, then login, then the console.
  const logout = await fetch(printed, { redirect: "manual" });
  await logout.body?.cancel();
  assert.equal(logout.headers.get("location"), login.href);
  const signin = await fetch(login, { redirect: "manual" });
  await signin.body?.cancel();
  assert.equal(signin.status, 302);
  assert.equal(record.logins, 1);
});

/** A BROWSER script that records its arguments and its own argv, then runs `then`. */
async function browserScript(dir: string, then: string): Promise<string> {
  const script = `${dir}/browser.sh`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\nprintf '%s\\n' "$#" "$@" > '${dir}/opened'\n` +
      `tr '\\000' '\\n' < /proc/$$/cmdline > '${dir}/argv'\n${then}`,
    { mode: 0o755 },
  );
  return script;
}

/** The loopback link a browser script was given, checked to hold no part of a sign-in URL. */
async function linkOf(dir: string): Promise<URL> {
  const [count, link] = (await Deno.readTextFile(`${dir}/opened`)).split("\n");
  assert.equal(count, "1");
  const url = new URL(link);
  assert.equal(url.protocol, "http:");
  assert.equal(url.hostname, "127.0.0.1");
  assert.equal(url.search, "");
  assert.match(url.pathname, /^\/[A-Za-z0-9_-]{43}$/, "256 random bits");
  assert.ok(!/SigninToken|Session|federation|oauth/i.test(link), link);
  // The browser process's own argument list, read from /proc while it ran.
  const argv = await Deno.readTextFile(`${dir}/argv`);
  assert.ok(argv.includes(link));
  assert.ok(!/SigninToken|Session=|signin|federation/i.test(argv), argv);
  return url;
}

Deno.test(
  "console gives $BROWSER a one-time loopback link that redirects once to the sign-in URL",
  {
    ignore: windows,
  },
  async () => {
    await using f = await fixture();
    const curl = `curl -s --noproxy '*' --max-time 5`;
    const script = await browserScript(
      f.home,
      `${curl} -o /dev/null -w '%{http_code}' -H "Host: evil.example" "$1" > '${f.home}/host'\n` +
        `${curl} -o /dev/null -w '%{http_code}' "\${1%/*}/wrong" > '${f.home}/wrong'\n` +
        `${curl} -o /dev/null -D '${f.home}/first' "$1"\n` +
        `${curl} -o '${f.home}/again-body' -w '%{http_code}' "$1" > '${f.home}/again'\n`,
    );
    const result = await f.console(["-s", "s3:ro", "-t", "15m", "--service", "s3"], {
      BROWSER: script,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    const link = await linkOf(f.home);
    assert.equal(await Deno.readTextFile(`${f.home}/host`), "404", "a foreign Host is refused");
    assert.equal(await Deno.readTextFile(`${f.home}/wrong`), "404", "a wrong path is refused");

    // The first GET: a 302 to the sign-in URL (logout first), neither cached nor referred.
    const first = (await Deno.readTextFile(`${f.home}/first`)).split("\r\n");
    assert.match(first[0], /^HTTP\/1\.1 302/);
    const header = (name: string) =>
      first.find((line) => line.toLowerCase().startsWith(`${name}: `))?.slice(name.length + 2);
    assert.equal(header("cache-control"), "no-store");
    assert.equal(header("referrer-policy"), "no-referrer");
    const target = new URL(header("location")!);
    assert.equal(`${target.origin}${target.pathname}`, `${f.aws.url}/oauth`, "logout first");
    const record = recordOf(f.aws, loginOf(target.href));
    assert.equal(record.session.policy, await policyOf("s3:ro"));
    assert.equal(
      loginOf(target.href).searchParams.get("Destination"),
      "https://us-east-1.console.aws.amazon.com/s3/home?region=us-east-1",
    );

    // The second GET of the same link: refused, nothing secret, and console warns.
    assert.equal(await Deno.readTextFile(`${f.home}/again`), "410");
    const body = await Deno.readTextFile(`${f.home}/again-body`);
    assert.ok(!/SigninToken|https?:/.test(body), body);
    assert.match(result.stderr, /^waiting for the browser… \(up to 2m\)$/m);
    assert.match(
      result.stderr,
      /^warning: the one-time sign-in link was asked for again after it was used: /m,
    );
    assert.match(
      result.stderr,
      /^Opened the AWS console with .*browser\.sh: session timebound-iam-[0-9a-f-]+, https:\/\/us-east-1\.console\.aws\.amazon\.com\/s3\/home\?region=us-east-1, until \d{4}-/m,
    );
    assert.ok(!result.stderr.includes(link.pathname), "the link is not printed");

    // console has stopped the server: the link no longer answers.
    await assert.rejects(fetch(link));
  },
);

Deno.test(
  "console without a browser request within --browser-timeout exits 1 and stops its server",
  {
    ignore: windows,
  },
  async () => {
    await using f = await fixture();
    const script = await browserScript(f.home, "exit 0\n");
    const result = await f.console(
      ["-s", "s3:ro", "-t", "15m", "--browser-timeout", "1s"],
      { BROWSER: script },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^waiting for the browser… \(up to 1s\)$/m);
    assert.match(
      result.stderr,
      /^error: The browser did not open the sign-in link within 1s$/m,
    );
    assert.match(result.stderr, /^hint: .*--browser-timeout.*--print/m);
    await assert.rejects(fetch(await linkOf(f.home)), "the server is stopped");
    // The sign-in URL was made but never handed out.
    assert.equal(f.aws.signinRecords().length, 1);
    assert.equal(f.aws.signinRecords()[0].logins, 0);
  },
);

const curlSkip = OTHER_USERS_SKIP ?? (await canRun("curl") ? undefined : "curl is not installed");

Deno.test({
  name: "console refuses the link to another local user who races the browser, and warns" +
    (curlSkip ? ` (ignored: ${curlSkip})` : ""),
  ignore: curlSkip !== undefined,
  fn: async () => {
    await using f = await fixture();
    const other = OTHER_UIDS[0];
    const curl = `curl -q -s --noproxy '*' --max-time 5`;
    // Another user reads the link from the browser's argument list and asks first; then the
    // browser (this user) follows it.
    const script = await browserScript(
      f.home,
      `setpriv --reuid=${other} --regid=${other} --clear-groups -- ${curl} -D - "$1" ` +
        `> '${f.home}/other'\n` +
        `${curl} -o /dev/null -D '${f.home}/first' "$1"\n`,
    );
    const result = await f.console(["-s", "s3:ro", "-t", "15m"], { BROWSER: script });
    assert.equal(result.code, 0, result.stderr);
    await linkOf(f.home);

    const stolen = await Deno.readTextFile(`${f.home}/other`);
    assert.match(stolen, /^HTTP\/1\.1 403/, stolen);
    assert.ok(!/location:|SigninToken|https?:/i.test(stolen), stolen);
    assert.match(
      result.stderr,
      new RegExp(
        `^warning: another user on this machine \\(uid ${other}\\) asked for the one-time ` +
          "sign-in link: refused, it got no URL; the link still waits for your browser$",
        "m",
      ),
    );
    // The browser still got the one redirect, and nothing was asked for twice.
    const first = await Deno.readTextFile(`${f.home}/first`);
    assert.match(first, /^HTTP\/1\.1 302/, first);
    const location = /^location: (.*)\r$/im.exec(first)?.[1] ?? "";
    recordOf(f.aws, loginOf(location));
    assert.doesNotMatch(result.stderr, /asked for again after it was used/);
    assert.match(result.stderr, /^Opened the AWS console with .*browser\.sh: session /m);
  },
});

Deno.test("console stopped by SIGTERM while it waits for the browser stops its server", {
  ignore: windows,
}, async () => {
  await using f = await fixture();
  const script = await browserScript(f.home, "exit 0\n");
  const [command, args] = cliCommand(["console", "--no-confirm", "-s", "s3:ro", "-t", "15m"]);
  const child = new Deno.Command(command, {
    args,
    env: { ...await baseEnv(f.home), ...f.env, BROWSER: script },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  // The browser script has run (and exited) once the argv file holds its link.
  for (let i = 0; i < 300; i++) {
    const argv = await Deno.readTextFile(`${f.home}/argv`).catch(() => "");
    if (argv.includes("http://127.0.0.1:")) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const link = await linkOf(f.home);
  child.kill("SIGTERM");
  const { code, stderr } = await output;
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 143, text);
  assert.match(text, /^error: Interrupted by SIGTERM$/m);
  f.assertNoSecret(text);
  await assert.rejects(fetch(link), "the server is stopped");
  assert.equal(f.aws.signinRecords()[0].logins, 0);
});

Deno.test("console refuses a bad --browser-timeout before any AWS call", async () => {
  await using f = await fixture();
  for (const value of ["0", "16m", "soon", "1h"]) {
    const result = await f.console(["-s", "s3:ro", "-t", "15m", "--browser-timeout", value]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /^error: .*Invalid --browser-timeout ".*": use seconds or minutes/m,
    );
  }
  assert.equal(f.aws.requests.length, 0);
});

Deno.test("console --service s3 --no-logout-first: straight to the S3 console", async () => {
  await using f = await fixture();
  const result = await f.console([
    "-s",
    "s3:ro",
    "-t",
    "15m",
    "--service",
    "s3",
    "--no-logout-first",
    "--print",
    "--region",
    "eu-west-1",
  ]);
  assert.equal(result.code, 0, result.stderr);
  const url = new URL(result.stdout.trim());
  assert.equal(`${url.origin}${url.pathname}`, f.aws.signinUrl);
  assert.equal(
    url.searchParams.get("Destination"),
    "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1",
  );
  recordOf(f.aws, url);
});

Deno.test("console in the cn and us-gov partitions lands on their consoles", async (t) => {
  await using f = await fixture();
  for (
    const [region, host] of [
      ["cn-north-1", "cn-north-1.console.amazonaws.cn"],
      ["us-gov-west-1", "us-gov-west-1.console.amazonaws-us-gov.com"],
    ]
  ) {
    await t.step(region, async () => {
      const result = await f.console([
        "-s",
        "s3:ro",
        "-t",
        "15m",
        "--print",
        "--region",
        region,
        "--path",
        "s3/buckets",
      ]);
      assert.equal(result.code, 0, result.stderr);
      const destination = new URL(loginOf(result.stdout).searchParams.get("Destination")!);
      assert.equal(destination.href, `https://${host}/s3/buckets?region=${region}`);
    });
  }
});

Deno.test("console works with role-chained base credentials (no SessionDuration)", async () => {
  await using f = await fixture((aws) => aws.addAssumedRoleCaller({ roleName: "sso-admin" }));
  const result = await f.console(["-s", "lambda:ro", "-t", "1h", "--print"]);
  assert.equal(result.code, 0, result.stderr);
  const record = recordOf(f.aws, loginOf(result.stdout));
  assert.equal(record.session.chained, true);
  assert.equal(record.session.durationSeconds, 3600);
  assert.equal(record.sessionDuration, undefined);
});

Deno.test("console under 15 minutes: the policy's deadline, and the summary says so", async () => {
  await using f = await fixture();
  const dry = await f.console(["-s", "s3:ro", "-t", "5m", "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(
    dry.stderr,
    /command +AWS console, the home page, opened in the browser \(after the deadline the browser tab stays open, but every action is denied\)/,
  );
  // The endpoint that will receive the session is named before the human agrees.
  assert.ok(
    dry.stderr.includes(
      `(signed in through ${f.aws.signinUrl}, from TIMEBOUND_IAM_SIGNIN_URL: it receives the session)`,
    ),
    dry.stderr,
  );
  assert.equal(f.aws.signinRecords().length, 0);
  const result = await f.console(["-s", "s3:ro", "-t", "5m", "--print"]);
  assert.equal(result.code, 0, result.stderr);
  const record = recordOf(f.aws, loginOf(result.stdout));
  assert.equal(record.session.durationSeconds, 900);
  assert.match(record.session.policy!, /"Effect":"Deny".*"DateGreaterThan"/);
});

Deno.test("console --like-serve opens exactly serve's allow list", async (t) => {
  await using f = await fixture();
  await t.step("--allow as serve takes it", async () => {
    const result = await f.console([
      "--like-serve",
      "--allow",
      "s3:ro,lambda:list",
      "-t",
      "15m",
      "--print",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const record = recordOf(f.aws, loginOf(result.stdout));
    assert.equal(record.session.policy, await policyOf("s3:ro,lambda:list"));
  });
  await t.step("the config file's serve.allow", async () => {
    const dir = `${f.home}/.config/timebound-iam`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(
      `${dir}/config.json`,
      JSON.stringify({ serve: { allow: "dynamodb:ro" } }),
      { mode: 0o600 },
    );
    const result = await f.console(["--like-serve", "-t", "15m", "--print"]);
    assert.equal(result.code, 0, result.stderr);
    const record = recordOf(f.aws, loginOf(result.stdout));
    assert.equal(record.session.policy, await policyOf("dynamodb:ro"));
  });
  await t.step("a narrower scope on a resource gets serve's account-wide narrowing", async () => {
    const result = await f.console([
      "--like-serve",
      "--allow",
      "lambda:full@my-fn",
      "-s",
      "lambda:ro@my-fn",
      "-t",
      "15m",
      "--print",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const policy = recordOf(f.aws, loginOf(result.stdout)).session.policy;
    // What serve makes for an agent: the same request under the same list, for this account.
    const catalog = await loadCatalog();
    const allow = await parseAllowList("lambda:full@my-fn", catalog);
    const request = await forTarget(
      await prepareGrant({ scopes: ["lambda:ro@my-fn"], ttl: "15m" }, { catalog, allow }),
      { account: f.aws.accountId, region: "us-east-1", partition: "aws" },
      catalog,
    );
    assert.equal(policy, JSON.stringify(request.policy.document));
    const unlisted = await runCli([
      "policy",
      "-s",
      "lambda:ro@my-fn",
      "--account",
      f.aws.accountId,
      "--region",
      "us-east-1",
    ]);
    assert.notEqual(policy, JSON.stringify(JSON.parse(unlisted.stdout)), "the list narrows it");
  });
  await t.step("*:ro needs -s, and -s must be within the list", async () => {
    const every = await f.console(["--like-serve", "--allow", "*:ro", "-t", "15m", "--print"]);
    assert.equal(every.code, 2);
    assert.match(every.stderr, /^error: The allow list "\*:ro" allows every service/m);
    const outside = await f.console([
      "--like-serve",
      "--allow",
      "*:ro",
      "-s",
      "s3:full",
      "-t",
      "15m",
      "--print",
    ]);
    assert.equal(outside.code, 2);
    assert.match(
      outside.stderr,
      /^error: Not in serve's allow list: s3:full: the allowed scopes are \*:ro$/m,
    );
    assert.match(outside.stderr, /^hint: --like-serve shows what an agent may see/m);
    const within = await f.console([
      "--like-serve",
      "--allow",
      "*:ro",
      "-s",
      "kms:ro",
      "-t",
      "15m",
      "--print",
    ]);
    assert.equal(within.code, 0, within.stderr);
    assert.equal(
      recordOf(f.aws, loginOf(within.stdout)).session.policy,
      await policyOf("kms:ro"),
    );
  });
  await t.step("an allowed object ARN does not open its bucket's listing", async () => {
    const listing = await f.console([
      "--like-serve",
      "--allow",
      "s3:ro@arn:aws:s3:::bk1/reports/*",
      "-s",
      "s3:ro@bk1/reports/*",
      "-t",
      "15m",
      "--print",
    ]);
    assert.equal(listing.code, 2);
    assert.match(
      listing.stderr,
      /^error: Not in serve's allow list: s3:ro@bk1\/reports\/\*: the allowed scopes are s3:ro@arn:aws:s3:::bk1\/reports\/\*$/m,
    );
  });
});

Deno.test("console refuses bad input with one line and no AWS call", async (t) => {
  await using f = await fixture();
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ["an unknown --service", ["--service", "nosuch"], {}, /^error: Unknown --service "nosuch"/m],
    ["a --path that is a URL", ["--path", "https://evil.example/"], {}, /a path, not a URL/],
    ["--service and --path", ["--service", "s3", "--path", "x"], {}, /cannot be used with/],
    ["--allow alone", ["--allow", "s3:ro"], {}, /^error: --allow goes with --like-serve$/m],
    [
      "a plain-http sign-in URL elsewhere",
      [],
      { TIMEBOUND_IAM_SIGNIN_URL: "http://proxy.example/federation" },
      /^error: Invalid TIMEBOUND_IAM_SIGNIN_URL "http:\/\/proxy\.example\/federation": use https/m,
    ],
  ];
  for (const [name, args, env, pattern] of cases) {
    await t.step(name, async () => {
      const result = await f.console(["-s", "s3:ro", "-t", "15m", "--print", ...args], env);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, pattern);
      assert.equal(result.stdout, "");
    });
  }
  assert.equal(f.aws.requests.length, 0, "no AWS call");
});

Deno.test("console failures and --debug output never show the session, token or URL", async (t) => {
  await using f = await fixture();
  await t.step("--debug on success", async () => {
    const result = await f.console(["-s", "s3:ro", "-t", "15m", "--print", "--debug"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /^debug: getSigninToken at http:\/\/127\.0\.0\.1:\d+\/federation /m,
    );
    assert.ok(!result.stderr.includes(result.stdout.trim()));
  });
  await t.step("an endpoint that refuses and echoes the request", async () => {
    const echo = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => new Response(`refused ${request.url}`, { status: 400 }),
    );
    try {
      const result = await f.console(["-s", "s3:ro", "-t", "15m", "--print", "--debug"], {
        TIMEBOUND_IAM_SIGNIN_URL: `http://127.0.0.1:${echo.addr.port}/federation`,
      });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /^error: The federation endpoint "http:\/\/127\.0\.0\.1:\d+\/federation" refused the session: HTTP 400$/m,
      );
      assert.equal(result.stdout, "");
    } finally {
      await echo.shutdown();
    }
  });
  await t.step("an endpoint that is not there", async () => {
    const gone = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(),
    );
    const port = gone.addr.port;
    await gone.shutdown();
    const result = await f.console(["-s", "s3:ro", "-t", "15m", "--print", "--debug"], {
      TIMEBOUND_IAM_SIGNIN_URL: `http://127.0.0.1:${port}/federation`,
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: Cannot reach the federation endpoint "/m);
    assert.ok(!/Session=|sessionKey|getSigninToken&/.test(result.stderr), result.stderr);
  });
  await t.step({
    name: "a browser that fails",
    ignore: windows,
    fn: async () => {
      const script = `${f.home}/failing.sh`;
      await Deno.writeTextFile(script, '#!/bin/sh\necho "cannot open $1" >&2\nexit 4\n', {
        mode: 0o755,
      });
      const result = await f.console(["-s", "s3:ro", "-t", "15m", "--debug"], { BROWSER: script });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /^error: Cannot open a browser: ".*failing\.sh" failed with exit code 4$/m,
      );
      assert.match(result.stderr, /^hint: .*--print/m);
    },
  });
});

Deno.test("console grants from keys in the vault, as exec does", async () => {
  await using f = await fixture();
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, ...noKeys } = f.env;
  const vault = {
    ...noKeys,
    TIMEBOUND_IAM_VAULT_BACKEND: "file",
    TIMEBOUND_IAM_VAULT_PASSPHRASE: "correct horse battery staple",
  };
  const added = await runCli(["keys", "add", "dev", "--from-env"], {
    env: { ...vault, AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret },
  });
  assert.equal(added.code, 0, added.stderr);
  const result = await runCli(
    ["console", "--no-confirm", "--profile", "dev", "-s", "s3:ro", "-t", "15m", "--print"],
    { env: vault },
  );
  assert.equal(result.code, 0, result.stderr);
  const record = recordOf(f.aws, loginOf(result.stdout));
  assert.equal(record.session.issuedTo, f.aws.defaultUser.arn);
  for (const known of f.aws.issuedSecrets()) assert.ok(!result.stderr.includes(known));
});
