// Which endpoint timebound-iam's STS calls go to, decided as the AWS SDK for JavaScript decides
// it: AWS_IGNORE_CONFIGURED_ENDPOINT_URLS and a profile's ignore_configured_endpoint_urls count
// only as exactly "true" or "false" (anything else is as if unset, and the variable wins over
// the profile's setting); an endpoint variable that is not an http(s) URL is refused by the
// commands that call AWS, before any request, and by no other.
import assert from "node:assert/strict";
import { type Fixture, startFixture } from "./support/fixture.ts";
import { runCli, writeProfile } from "./support/cli.ts";

const GRANT = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"];
const AS_DEV = [GRANT[0], "--profile", "dev", ...GRANT.slice(1)];
/** A region that does not exist: a call to AWS's own endpoint never leaves the machine. */
const NOWHERE = {
  AWS_REGION: "xx-nowhere-1",
  AWS_DEFAULT_REGION: "xx-nowhere-1",
  TIMEBOUND_IAM_TIMEOUT: "5",
};
const AWS_UNREACHABLE =
  /^error: Could not reach https:\/\/sts\.xx-nowhere-1\.amazonaws\.com: .*\nhint: check the network and --region\n$/;

/** The fixture's environment without its keys: profile "dev" holds them. */
async function devProfile(fx: Fixture, config: string): Promise<Record<string, string>> {
  await writeProfile(fx.home, "dev", fx.aws.defaultUser);
  await Deno.writeTextFile(fx.path(".aws", "config"), config);
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env } = fx.env;
  return env;
}

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

const NOT_EXACTLY_TRUE = ["TRUE", "True", "1", " true", "true ", "yes", ""];

Deno.test("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS other than exactly true leaves AWS_ENDPOINT_URL_STS in use", async (t) => {
  for (const value of NOT_EXACTLY_TRUE) {
    await t.step(
      `${JSON.stringify(value)}, --profile dev: the calls reach the variable's endpoint`,
      async () => {
        await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
        const env = await devProfile(fx, "[profile dev]\nregion = us-east-1\n");
        const result = await runCli(AS_DEV, {
          env: { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value, TIMEBOUND_IAM_TIMEOUT: "3" },
        });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(fx.aws.requests.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
      },
    );
    await t.step(
      `${JSON.stringify(value)}, keys in the environment: the error names the variable's endpoint`,
      async () => {
        await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
        const port = closedPort();
        const result = await runCli(GRANT, {
          env: {
            ...fx.env,
            AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${port}`,
            AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: value,
          },
        });
        assert.equal(result.code, 1, result.stderr);
        assert.equal(
          result.stderr,
          `error: Could not reach http://127.0.0.1:${port}: connection refused\n` +
            "hint: check the network, and AWS_ENDPOINT_URL_STS\n",
        );
      },
    );
  }
});

Deno.test("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true sends the calls to AWS's own endpoint, for a profile too", async () => {
  await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
  const env = await devProfile(fx, `[profile dev]\nendpoint_url = ${fx.aws.url}\n`);
  const result = await runCli(AS_DEV, {
    env: { ...env, ...NOWHERE, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" },
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, AWS_UNREACHABLE);
  assert.deepEqual(fx.aws.requests, []);
});

Deno.test("a profile's ignore_configured_endpoint_urls counts only when exactly true, and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false wins over it", async (t) => {
  for (const setting of NOT_EXACTLY_TRUE.filter((v) => v.trim() === v && v !== "")) {
    await t.step(
      `ignore_configured_endpoint_urls = ${setting}: the profile's endpoint_url is used`,
      async () => {
        await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
        const { AWS_ENDPOINT_URL_STS: _sts, ...env } = await devProfile(
          fx,
          `[profile dev]\nendpoint_url = ${fx.aws.url}\nignore_configured_endpoint_urls = ${setting}\n`,
        );
        const result = await runCli(AS_DEV, { env: { ...env, TIMEBOUND_IAM_TIMEOUT: "3" } });
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(fx.aws.requests.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
      },
    );
  }
  await t.step("ignore_configured_endpoint_urls = true: AWS's own endpoint", async () => {
    await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
    const env = await devProfile(
      fx,
      `[profile dev]\nendpoint_url = ${fx.aws.url}\nignore_configured_endpoint_urls = true\n`,
    );
    const result = await runCli(AS_DEV, { env: { ...env, ...NOWHERE } });
    assert.match(result.stderr, AWS_UNREACHABLE);
    assert.deepEqual(fx.aws.requests, []);
  });
  await t.step(
    "ignore_configured_endpoint_urls = true, the variable false: the profile's endpoint_url",
    async () => {
      await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
      const { AWS_ENDPOINT_URL_STS: _sts, ...env } = await devProfile(
        fx,
        `[profile dev]\nendpoint_url = ${fx.aws.url}\nignore_configured_endpoint_urls = true\n`,
      );
      const result = await runCli(AS_DEV, {
        env: { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "false" },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(fx.aws.requests.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
    },
  );
  await t.step(
    "ignore_configured_endpoint_urls = true, the variable yes: AWS's own endpoint",
    async () => {
      await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
      const env = await devProfile(
        fx,
        `[profile dev]\nendpoint_url = ${fx.aws.url}\nignore_configured_endpoint_urls = true\n`,
      );
      const result = await runCli(AS_DEV, {
        env: { ...env, ...NOWHERE, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "yes" },
      });
      assert.match(result.stderr, AWS_UNREACHABLE);
      assert.deepEqual(fx.aws.requests, []);
    },
  );
});

Deno.test("a bad endpoint variable that the AWS SDK would use is refused, one that it ignores is not", async (t) => {
  await t.step(
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=TRUE: refused, and the hint says why",
    async () => {
      await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
      const result = await runCli(GRANT, {
        env: {
          ...fx.env,
          AWS_ENDPOINT_URL: "garbage",
          AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "TRUE",
        },
      });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        "error: Invalid AWS_ENDPOINT_URL: it must be an http:// or https:// URL\n" +
          "hint: give one such as http://127.0.0.1:4566, or unset AWS_ENDPOINT_URL " +
          '(AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is "TRUE": the AWS SDK turns the endpoint ' +
          "settings off only for exactly true)\n",
      );
      assert.deepEqual(fx.aws.requests, []);
    },
  );
  await t.step("a profile's ignore_configured_endpoint_urls = true: not looked at", async () => {
    await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
    const env = await devProfile(fx, "[profile dev]\nignore_configured_endpoint_urls = true\n");
    const result = await runCli(AS_DEV, {
      env: { ...env, ...NOWHERE, AWS_ENDPOINT_URL_STS: "garbage" },
    });
    assert.match(result.stderr, AWS_UNREACHABLE);
    assert.deepEqual(fx.aws.requests, []);
  });
});

Deno.test("commands that call no AWS service run whatever the endpoint variables hold", async (t) => {
  const bad = {
    AWS_ENDPOINT_URL: "garbage",
    AWS_ENDPOINT_URL_STS: "file:///tmp/x",
    AWS_ENDPOINT_URL_IAM: "ftp://alice:s3cret@example.com/",
  };
  await using fx = await startFixture({ prefix: "tbi-endpoint-switch-", aws: false });
  const cases: Array<[string[], RegExp]> = [
    [["policy", "-s", "s3:ro"], /"s3:Get/],
    [["services", "sts"], /^sts /m],
    [["completions", "bash"], /complete/],
    [["env", "--unset"], /^unset AWS_ACCESS_KEY_ID/m],
  ];
  for (const [args, stdout] of cases) {
    await t.step(args.join(" "), async () => {
      const result = await runCli(args, { env: { ...fx.env, ...bad } });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, stdout);
    });
  }
});

Deno.test("a grant with a bad endpoint variable is refused before any request reaches the endpoint", async (t) => {
  for (const name of ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM"]) {
    await t.step(name, async () => {
      await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
      const result = await runCli(GRANT, { env: { ...fx.env, [name]: "file:///tmp/x" } });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(
        result.stderr,
        `error: Invalid ${name}: it must be an http:// or https:// URL\n` +
          `hint: give one such as http://127.0.0.1:4566, or unset ${name}\n`,
      );
      assert.deepEqual(fx.aws.requests, []);
    });
  }
});

Deno.test("doctor shows a bad endpoint variable as its failed check, and sends nothing", async () => {
  await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
  const result = await runCli(["doctor"], { env: { ...fx.env, AWS_ENDPOINT_URL: "garbage" } });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stdout,
    /\n✗ base credentials +Invalid AWS_ENDPOINT_URL: it must be an http:\/\/ or https:\/\/ URL\n +fix: give one such as http:\/\/127\.0\.0\.1:4566, or unset AWS_ENDPOINT_URL\n/,
  );
  assert.deepEqual(fx.aws.requests, []);
});

Deno.test("a grant from a cached MFA session is refused for a bad endpoint variable too, before any request", async () => {
  await using fx = await startFixture({ prefix: "tbi-endpoint-switch-" });
  const { serialNumber: serial } = fx.aws.addMfaDevice();
  const login = await runCli(
    ["mfa", "login", "--mfa-serial", serial, "--mfa-code", fx.aws.mfaCode(serial)],
    { env: fx.env },
  );
  assert.equal(login.code, 0, login.stderr);
  const before = fx.aws.requests.length;
  // A region that looks like AWS's but does not exist: AWS's own endpoint is never reached.
  const result = await runCli([GRANT[0], "--mfa-serial", serial, ...GRANT.slice(1)], {
    env: { ...fx.env, AWS_ENDPOINT_URL: "garbage", AWS_REGION: "eu-nowhere-9" },
  });
  assert.equal(result.code, 2, result.stderr);
  assert.equal(
    result.stderr,
    "error: Invalid AWS_ENDPOINT_URL: it must be an http:// or https:// URL\n" +
      "hint: give one such as http://127.0.0.1:4566, or unset AWS_ENDPOINT_URL\n",
  );
  assert.equal(fx.aws.requests.length, before);
});
