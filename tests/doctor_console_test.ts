// doctor --console: a HEAD with a timeout to the console's federation endpoint, only when asked.
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { type Fixture, startFixture } from "./support/fixture.ts";

/** The fixture, with TMPDIR in HOME and the console's sign-in URL at the local endpoint. */
function consoleFixture(): Promise<Fixture> {
  return startFixture({
    prefix: "tbi-doctor-console-",
    env: (home, aws) => ({ TMPDIR: home, TIMEBOUND_IAM_SIGNIN_URL: aws!.signinUrl }),
  });
}

Deno.test("doctor checks the federation endpoint only with --console", async () => {
  await using fx = await consoleFixture();
  const { aws } = fx;
  const plain = await fx.run(["doctor"]);
  assert.equal(plain.code, 0, plain.stdout + plain.stderr);
  assert.doesNotMatch(plain.stdout, /console sign-in/);
  assert.equal(aws.federationRequests.length, 0, "no request without --console");

  const asked = await fx.run(["doctor", "--console"]);
  assert.equal(asked.code, 0, asked.stdout + asked.stderr);
  assert.match(
    asked.stdout,
    /^✓ console sign-in +http:\/\/127\.0\.0\.1:\d+\/federation answers \(HTTP 400 to a HEAD\)$/m,
  );
  assert.deepEqual(aws.federationRequests.map((r) => r.method), ["HEAD"]);
});

Deno.test("doctor --console fails, with its fix, when the endpoint does not answer in time", async () => {
  await using fx = await consoleFixture();
  const { aws } = fx;
  // Answers only once the test is over, so that the server can close.
  const later = Promise.withResolvers<Response>();
  const silent = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => later.promise,
  );
  const started = Date.now();
  try {
    const result = await fx.run(["doctor", "--console"], {
      env: {
        TIMEBOUND_IAM_TIMEOUT: "1",
        TIMEBOUND_IAM_SIGNIN_URL: `http://127.0.0.1:${silent.addr.port}/federation`,
      },
    });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /^✗ console sign-in +http:\/\/127\.0\.0\.1:\d+\/federation: no answer within 1s$/m,
    );
    assert.match(result.stdout, /^ +fix: check the network and any proxy \(HTTPS_PROXY\)/m);
    assert.match(result.stdout, /\n1 of \d+ checks failed\n$/);
    assert.ok(Date.now() - started < 20_000);
  } finally {
    later.resolve(new Response("late"));
    await silent.shutdown();
  }
  assert.equal(aws.federationRequests.length, 0);
});

Deno.test("doctor --console reports a bad TIMEBOUND_IAM_SIGNIN_URL as a failed check, with its fix", async () => {
  await using fx = await consoleFixture();
  const { env } = fx;
  const result = await runCli(["doctor", "--console"], {
    env: { ...env, TIMEBOUND_IAM_SIGNIN_URL: "http://proxy.example/federation" },
  });
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /^✗ console sign-in +Invalid TIMEBOUND_IAM_SIGNIN_URL "http:\/\/proxy\.example\/federation": use https/m,
  );
});

Deno.test("doctor --console asks the sign-in host of the region a grant would use (the config file's)", async () => {
  await using fx = await consoleFixture();
  const { aws, env } = fx;
  const dir = `${env.HOME}/.config/timebound-iam`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ region: "us-iso-east-1" }), {
    mode: 0o600,
  });
  const { TIMEBOUND_IAM_SIGNIN_URL: _, ...own } = env;
  const result = await runCli(["doctor", "--console"], {
    env: { ...own, AWS_REGION: "", AWS_DEFAULT_REGION: "" },
  });
  assert.match(
    result.stdout,
    /^✗ console sign-in +No console sign-in for region "us-iso-east-1": its partition has none$/m,
    result.stdout + result.stderr,
  );
  assert.equal(aws.federationRequests.length, 0);
});
