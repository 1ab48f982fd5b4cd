// The errors a user will meet, each produced by telling the local endpoint to fail: one line,
// a hint, exit code 1, no stack trace, and no secret anywhere on stderr.
import assert from "node:assert/strict";
import { runCli, type RunOptions } from "./support/cli.ts";
import { tempDir } from "./support/fixture.ts";
import { LocalAws } from "./support/local_aws.ts";

interface Case {
  name: string;
  /** Prepares the endpoint; returns extra CLI arguments and environment. */
  arrange: (
    aws: LocalAws,
    home: string,
  ) => Promise<{ args?: string[]; env?: Record<string, string> }>;
  error: RegExp;
  hint: RegExp;
  /** Whether the request must not reach AssumeRole. */
  noAssumeRole?: boolean;
  /** The exit code, when not 1 (a usage error is 2). */
  code?: number;
}

const noKeys = (aws: LocalAws) => {
  const env = aws.env();
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  return env;
};

const CASES: Case[] = [
  {
    name: "no base credentials",
    arrange: (aws) => Promise.resolve({ env: noKeys(aws) }),
    error: /^No AWS credentials found: tried environment variables, the default profile/,
    hint: /--profile NAME/,
    noAssumeRole: true,
  },
  {
    name: "unknown profile",
    arrange: (aws, home) =>
      Deno.writeTextFile(`${home}/.aws/config`, "[profile dev]\nregion = eu-west-1\n").then(() => ({
        args: ["--profile", "prod"],
        env: noKeys(aws),
      })),
    error: /^Unknown profile "prod": not in ~\/\.aws\/config or ~\/\.aws\/credentials$/,
    hint: /profiles found: dev/,
    noAssumeRole: true,
    // A profile that does not exist is bad input, as a misspelt flag is.
    code: 2,
  },
  {
    name: "an expired SSO session",
    arrange: async (aws, home) => {
      const startUrl = "https://example.awsapps.com/start";
      await Deno.writeTextFile(
        `${home}/.aws/config`,
        `[profile sso]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\n` +
          "sso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-east-1\n",
      );
      // The token `aws sso login` caches, named by the SHA-1 of the start URL, expired an hour ago.
      const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(startUrl));
      const name = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
        .join("");
      await Deno.mkdir(`${home}/.aws/sso/cache`, { recursive: true });
      await Deno.writeTextFile(
        `${home}/.aws/sso/cache/${name}.json`,
        JSON.stringify({
          startUrl,
          region: "us-east-1",
          accessToken: "expired-token",
          expiresAt: new Date(Date.now() - 3600_000).toISOString(),
        }),
      );
      return { args: ["--profile", "sso"], env: noKeys(aws) };
    },
    error: /^The SSO session of profile "sso" has expired$/,
    hint: /^hint: run: aws sso login --profile sso$/,
    noAssumeRole: true,
  },
  {
    name: "AccessDenied on AssumeRole",
    arrange: (aws) => Promise.resolve(aws.failNext("AssumeRole", "AccessDenied")).then(() => ({})),
    error:
      /^Access denied assuming arn:aws:iam::123456789012:role\/timebound-iam-broker: the role does not exist or its trust policy does not allow arn:aws:iam::123456789012:user\/developer$/,
    hint: /timebound-iam setup aws/,
  },
  {
    name: "a role that does not exist",
    arrange: () =>
      Promise.resolve({ args: ["--role-arn", "arn:aws:iam::123456789012:role/missing"] }),
    error: /^Access denied assuming arn:aws:iam::123456789012:role\/missing/,
    hint: /setup aws/,
  },
  {
    name: "TTL above the role's MaxSessionDuration",
    arrange: () => Promise.resolve({ args: ["-t", "2h"] }),
    error:
      /^TTL 2h is over the MaxSessionDuration of arn:aws:iam::123456789012:role\/timebound-iam-broker$/,
    hint: /aws iam update-role --role-name timebound-iam-broker --max-session-duration 7200/,
  },
  {
    name: "role chaining over 1h",
    arrange: (aws) => {
      aws.addRole({ roleName: "timebound-iam-broker", maxSessionDuration: 43200 });
      const sso = aws.addAssumedRoleCaller({ roleName: "AWSReservedSSO_Dev" });
      return Promise.resolve({ args: ["-t", "2h"], env: aws.env(sso) });
    },
    error:
      /^TTL 2h is over AWS's 1h limit for role chaining: the base credentials \(arn:aws:sts::123456789012:assumed-role\/AWSReservedSSO_Dev\/.*\) are themselves an assumed role$/,
    hint: /use -t 1h or less/,
    noAssumeRole: true,
  },
  {
    name: "PackedPolicyTooLarge",
    arrange: (aws) =>
      Promise.resolve(aws.failNext("AssumeRole", "PackedPolicyTooLarge")).then(() => ({})),
    error: /^AWS refused the session policy as too large: /,
    hint: /ask for fewer scopes/,
  },
  {
    name: "expired base credentials",
    arrange: (aws) =>
      Promise.resolve(aws.failNext("GetCallerIdentity", "ExpiredToken")).then(() => ({})),
    error: /^The base credentials of the default credentials have expired$/,
    hint: /refresh them/,
    noAssumeRole: true,
  },
  {
    name: "an access key AWS does not know",
    arrange: (aws) =>
      Promise.resolve({ env: { ...aws.env(), AWS_ACCESS_KEY_ID: "AKIAUNKNOWNUNKNOWN00" } }),
    error: /^AWS does not recognise the access key of the default credentials$/,
    hint: /aws sts get-caller-identity/,
    noAssumeRole: true,
  },
  {
    name: "a wrong secret key",
    arrange: (aws) =>
      Promise.resolve({ env: { ...aws.env(), AWS_SECRET_ACCESS_KEY: "x".repeat(40) } }),
    error: /^AWS rejected the secret key of the default credentials \(SignatureDoesNotMatch\)$/,
    hint: /does not belong to that access key id/,
    noAssumeRole: true,
  },
  {
    name: "throttling that outlasts the retries",
    arrange: (aws) =>
      Promise.resolve(aws.failNext("AssumeRole", "Throttling", { times: 3 })).then(() => ({})),
    error: /^AWS throttled AssumeRole \(Throttling\) after retries$/,
    hint: /try again/,
  },
  {
    name: "an unreachable endpoint",
    arrange: (aws) => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      return Promise.resolve({
        env: { ...aws.env(), AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}` },
      });
    },
    error: /^Could not reach http:\/\/127\.0\.0\.1:\d+: connection refused$/,
    hint: /AWS_ENDPOINT_URL_STS/,
    noAssumeRole: true,
  },
  {
    // A user name and password in the URL are a secret: the message names the endpoint without.
    name: "an unreachable endpoint whose URL holds a password",
    arrange: (aws) => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      return Promise.resolve({
        env: {
          ...aws.env(),
          AWS_ENDPOINT_URL_STS: `http://proxyuser:s3cr3t-pw@127.0.0.1:${port}/`,
        },
      });
    },
    error: /^Could not reach http:\/\/127\.0\.0\.1:\d+: connection refused$/,
    hint: /AWS_ENDPOINT_URL_STS/,
    noAssumeRole: true,
  },
  ...[
    (port: number) => `http:\\\\proxyuser:s3cr3t-pw@127.0.0.1:${port}\\`,
    (port: number) => `http:/proxyuser:s3cr3t-pw@127.0.0.1:${port}/`,
    (port: number) => ` http://proxyuser:s3cr3t-pw@127.0.0.1:${port}/`,
    (port: number) => `ht\ttp://proxyuser:s3cr3t-pw@127.0.0.1:${port}/`,
    (port: number) => `http://127.0.0.1:${port}/sts?X-Token=s3cr3t-pw`,
  ].map((url): Case => ({
    // A URL parser (the SDK's) takes these spellings: the password or token stays unsaid.
    name: `an unreachable endpoint whose URL holds a secret, as ${
      JSON.stringify(url(0).replace(":0", ":PORT"))
    }`,
    arrange: (aws) => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      return Promise.resolve({ env: { ...aws.env(), AWS_ENDPOINT_URL_STS: url(port) } });
    },
    error: /^Could not reach http:\/\/127\.0\.0\.1:\d+: connection refused$/,
    hint: /AWS_ENDPOINT_URL_STS/,
    noAssumeRole: true,
  })),
  {
    // With no profile named, the SDK sends the environment keys' calls to [default]'s endpoint.
    name: "an unreachable endpoint_url of [default], with keys in the environment",
    arrange: async (aws, home) => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = listener.addr.port;
      listener.close();
      await Deno.writeTextFile(
        `${home}/.aws/config`,
        `[default]\nendpoint_url = http://127.0.0.1:${port}\n`,
      );
      const { AWS_ENDPOINT_URL_STS: _sts, ...env } = aws.env();
      return { env };
    },
    error: /^Could not reach http:\/\/127\.0\.0\.1:\d+: connection refused$/,
    hint: /^hint: check the network, and endpoint_url of profile "default" in ~\/\.aws\/config$/,
    noAssumeRole: true,
  },
  {
    // The SDK then ignores AWS_ENDPOINT_URL_STS and [default]'s endpoint_url: it asks AWS's own
    // endpoint of the region (one that does not exist, so that no request leaves the machine).
    name: "an unreachable AWS endpoint, with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    arrange: async (aws, home) => {
      await Deno.writeTextFile(`${home}/.aws/config`, `[default]\nendpoint_url = ${aws.url}\n`);
      return {
        env: {
          ...aws.env(),
          AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
          AWS_REGION: "xx-nowhere-1",
          AWS_DEFAULT_REGION: "xx-nowhere-1",
          TIMEBOUND_IAM_TIMEOUT: "5",
        },
      };
    },
    error: /^Could not reach https:\/\/sts\.xx-nowhere-1\.amazonaws\.com: /,
    hint: /^hint: check the network and --region$/,
    noAssumeRole: true,
  },
];

Deno.test("each AWS failure becomes one sentence, a hint and exit code 1 (2 for bad input)", async (t) => {
  await using aws = await LocalAws.start();
  const stderrs: string[] = [];
  for (const c of CASES) {
    await t.step(c.name, async () => {
      await using tmp = await tempDir("tbi-err-");
      const home = tmp.path;
      const before = aws.requests.filter((r) => r.action === "AssumeRole").length;
      const { args = [], env = aws.env() } = await arrangeIn(c, aws, home);
      const options: RunOptions = { env: { ...env, HOME: home } };
      const result = await runCli(
        ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", ...args, "--", "true"],
        options,
      );
      stderrs.push(result.stderr);
      assert.equal(result.code, c.code ?? 1, result.stderr);
      assert.equal(result.stdout, "");
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 2, result.stderr);
      assert.match(lines[0].replace(/^error: /, ""), c.error);
      assert.match(lines[0], /^error: /);
      assert.match(lines[1], /^hint: /);
      assert.match(lines[1], c.hint);
      const after = aws.requests.filter((r) => r.action === "AssumeRole").length;
      if (c.noAssumeRole) assert.equal(after, before, "AssumeRole was called");
    });
  }
  await t.step("--debug adds the AWS request id and the stack", async () => {
    aws.failNext("AssumeRole", "AccessDenied");
    const result = await runCli(
      ["exec", "--debug", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
      { env: aws.env() },
    );
    stderrs.push(result.stderr);
    assert.equal(result.code, 1);
    const requestId = aws.requests.filter((r) => r.action === "AssumeRole").at(-1)!.requestId;
    assert.match(result.stderr, new RegExp(`debug: AWS request id ${requestId}`));
    assert.match(result.stderr, /debug: AccessDenied.*\ndebug: +at /);
  });
  for (const secret of [...aws.issuedSecrets(), "s3cr3t-pw"]) {
    assert.ok(stderrs.every((s) => !s.includes(secret)), "a secret reached stderr");
  }
});

async function arrangeIn(c: Case, aws: LocalAws, home: string) {
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  return await c.arrange(aws, home);
}

Deno.test("a dry run is refused for what its grant would be: a TTL over role chaining's 1h", async () => {
  await using aws = await LocalAws.start();
  await using tmp = await tempDir("tbi-err-");
  aws.addRole({ roleName: "timebound-iam-broker", maxSessionDuration: 43200 });
  const sso = aws.addAssumedRoleCaller({ roleName: "AWSReservedSSO_Dev" });
  const env = { ...aws.env(sso), HOME: tmp.path };
  const dryRun = (ttl: string) =>
    runCli(["exec", "--dry-run", "-s", "s3:ro", "-t", ttl, "--", "true"], { env });
  const over = await dryRun("2h");
  assert.equal(over.code, 1, over.stderr);
  assert.equal(over.stdout, "");
  // The summary and the policy come first, as in any dry run; then the grant's own refusal.
  assert.match(over.stderr, /^session policy:$/m);
  const tail = over.stderr.trimEnd().split("\n").slice(-2);
  assert.match(
    tail[0],
    /^error: TTL 2h is over AWS's 1h limit for role chaining: the base credentials \(arn:aws:sts::123456789012:assumed-role\/AWSReservedSSO_Dev\/.*\) are themselves an assumed role$/,
  );
  assert.equal(tail[1], "hint: use -t 1h or less, or base credentials of an IAM user");
  assert.doesNotMatch(over.stderr, /dry run: no credentials were requested/);
  const within = await dryRun("1h");
  assert.equal(within.code, 0, within.stderr);
  assert.match(within.stderr, /dry run: no credentials were requested\n$/);
  assert.equal(aws.requests.filter((r) => r.action === "AssumeRole").length, 0);
});
