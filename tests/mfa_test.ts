// MFA end to end: the real CLI against the local endpoint, whose broker role trusts the account
// only with MFA, and whose devices check TOTP codes (tests/support/mfa_fixture.ts). The sessions
// that mfa login caches, and their lengths: mfa_sessions_test.ts.
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { answerPrompts, cliCommand, runCli, spawnUnderTerminal } from "./support/cli.ts";
import { startFixture } from "./support/fixture.ts";
import { BROKER_ROLE_NAME } from "./support/local_aws.ts";
import {
  callerArn,
  calls,
  GRANT,
  type MfaFixture,
  mfaTrust,
  startMfaFixture,
} from "./support/mfa_fixture.ts";

Deno.test("without MFA the role refuses, and the hint names the caller's MFA device", async () => {
  await using fx = await startMfaFixture();
  const { aws, env, serial } = fx;
  const result = await runCli([...GRANT, "--", ...callerArn(aws)], { env });
  fx.assertNoSecret(result.stdout, result.stderr);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^error: Access denied assuming arn:aws:iam::123456789012:role/);
  assert.equal(
    result.stderr.split("\n")[1],
    `hint: if its trust policy requires MFA, pass --mfa-serial ${serial} (or set ` +
      'TIMEBOUND_IAM_MFA_SERIAL, or "mfaSerial" for profile "default" in the config file)',
  );
  assert.equal(calls(aws, "ListMFADevices").length, 1);
});

Deno.test("a code by flag or by environment starts an MFA session and the grant succeeds", async (t) => {
  for (const how of ["flag", "environment"]) {
    await t.step(how, async () => {
      await using fx = await startMfaFixture();
      const { aws, env, serial } = fx;
      const code = aws.mfaCode(serial);
      const args = how === "flag"
        ? [...GRANT, "--mfa-serial", serial, "--mfa-code", code, "--", ...callerArn(aws)]
        : [...GRANT, "--", ...callerArn(aws)];
      const extra: Record<string, string> = how === "flag"
        ? {}
        : { TIMEBOUND_IAM_MFA_SERIAL: serial, TIMEBOUND_IAM_MFA_CODE: code };
      const result = await runCli(args, { env: { ...env, ...extra } });
      fx.assertNoSecret(result.stdout, result.stderr);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /assumed-role\/timebound-iam-broker\/timebound-iam-/);
      assert.match(result.stderr, new RegExp(`^MFA session for ${serial} cached until `));
      const [session] = calls(aws, "GetSessionToken");
      assert.equal(session.params.SerialNumber, serial);
      assert.equal(session.params.DurationSeconds, "43200");
      // AssumeRole was signed by the MFA session, not the user's own key.
      const [assume] = calls(aws, "AssumeRole");
      assert.notEqual(assume.accessKeyId, aws.defaultUser.accessKeyId);
      assert.match(assume.accessKeyId ?? "", /^ASIA/);
    });
  }
});

Deno.test("a wrong code is one line and exit 1; no terminal and no code is exit 2", async () => {
  await using fx = await startMfaFixture();
  const { aws, env, serial } = fx;
  const wrong = String((Number(aws.mfaCode(serial)) + 500_000) % 1_000_000).padStart(6, "0");
  const bad = await runCli(
    [...GRANT, "--mfa-serial", serial, "--mfa-code", wrong, "--", "true"],
    { env },
  );
  fx.assertNoSecret(bad.stdout, bad.stderr);
  assert.equal(bad.code, 1);
  assert.equal(
    bad.stderr,
    `error: AWS refused the MFA code for ${serial}: wrong or expired\n` +
      "hint: wait for the next code and try again\n",
  );
  const none = await runCli([...GRANT, "--mfa-serial", serial, "--", "true"], { env });
  fx.assertNoSecret(none.stdout, none.stderr);
  assert.equal(none.code, 2);
  assert.equal(
    none.stderr,
    `error: An MFA code for ${serial} is needed, and standard input is not a terminal\n` +
      "hint: pass --mfa-code CODE (or set TIMEBOUND_IAM_MFA_CODE), or first run: " +
      "timebound-iam mfa login\n",
  );
  const malformed = await runCli(
    [...GRANT, "--mfa-serial", serial, "--mfa-code", "12345x", "--", "true"],
    { env },
  );
  assert.equal(malformed.code, 2);
  assert.match(
    malformed.stderr,
    /^error: Invalid MFA code from --mfa-code: expected six digits\n/,
  );
  assert.equal(calls(aws, "AssumeRole").length, 0);
});

// The pseudo-terminal comes from util-linux's `script -qfec CMD /dev/null` (Linux only).
const hasScript = Deno.build.os === "linux" &&
  (await new Deno.Command("sh", { args: ["-c", "command -v script"] }).output()).success;

Deno.test({
  name: "under a terminal the code is asked for, a typo gets one more try (Linux only)",
  ignore: !hasScript,
  fn: async () => {
    await using fx = await startMfaFixture();
    const { aws, env, serial } = fx;
    const child = await spawnUnderTerminal(
      [...GRANT, "--mfa-serial", serial, "--", ...callerArn(aws)],
      env,
    );
    const { code, text } = await answerPrompts(child, [
      { prompt: `MFA code for ${serial}: `, answer: "12ab" },
      { prompt: `MFA code for ${serial}: `, answer: () => aws.mfaCode(serial) },
    ]);
    fx.assertNoSecret(text);
    assert.equal(code, 0, text);
    assert.match(text, new RegExp(`MFA code for ${serial}: \\*\\*\\*\\*`));
    assert.match(text, /That is not six digits; try once more\./);
    assert.match(text, /assumed-role\/timebound-iam-broker\//);
    assert.equal(calls(aws, "GetSessionToken").length, 1);
  },
});

Deno.test({
  name: "under a terminal a letter typed into the code is kept, and the code refused (Linux only)",
  ignore: !hasScript,
  fn: async () => {
    await using fx = await startMfaFixture();
    const { aws, env, serial } = fx;
    const child = await spawnUnderTerminal(
      [...GRANT, "--mfa-serial", serial, "--", ...callerArn(aws)],
      env,
    );
    const { code, text } = await answerPrompts(child, [
      { prompt: `MFA code for ${serial}: `, answer: `${aws.mfaCode(serial).slice(0, 3)}é6` },
      { prompt: `MFA code for ${serial}: `, answer: () => aws.mfaCode(serial) },
    ]);
    fx.assertNoSecret(text);
    assert.equal(code, 0, text);
    // One mark for each character typed, é too.
    assert.match(text, new RegExp(`MFA code for ${serial}: \\*{5}\r?\n`));
    assert.match(text, /That is not six digits; try once more\./);
    assert.equal(calls(aws, "GetSessionToken").length, 1);
  },
});

Deno.test("a profile with mfa_serial uses it: the code is asked for that device", async () => {
  await using fx = await startMfaFixture();
  const { aws, env, serial, home } = fx;
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${aws.defaultUser.accessKeyId}\n` +
      `aws_secret_access_key = ${aws.defaultUser.secretAccessKey}\n`,
  );
  await Deno.writeTextFile(`${home}/.aws/config`, `[profile dev]\nmfa_serial = ${serial}\n`);
  const clean = { ...env };
  delete clean.AWS_ACCESS_KEY_ID;
  delete clean.AWS_SECRET_ACCESS_KEY;
  const result = await runCli(
    [...GRANT, "--profile", "dev", "--mfa-code", aws.mfaCode(serial), "--", ...callerArn(aws)],
    { env: clean },
  );
  fx.assertNoSecret(result.stdout, result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(calls(aws, "GetSessionToken")[0].params.SerialNumber, serial);
  const status = await runCli(["mfa", "status"], { env: clean });
  assert.match(status.stdout, new RegExp(`^dev\\s+${serial}\\s+until `));
});

Deno.test("keys in the environment are not the default profile's: its mfa_serial does not apply", async () => {
  await using fx = await startFixture({ prefix: "tbi-mfa-" });
  const { aws, env, home } = fx;
  const { serialNumber: serial } = aws.addMfaDevice();
  await Deno.writeTextFile(`${home}/.aws/config`, `[default]\nmfa_serial = ${serial}\n`);
  const result = await runCli([...GRANT, "--", ...callerArn(aws)], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /assumed-role\/timebound-iam-broker\//);
  assert.equal(result.stderr, "");
  // Ours, then the child's: no GetSessionToken.
  assert.deepEqual(
    aws.requests.map((r) => r.action),
    ["GetCallerIdentity", "AssumeRole", "GetCallerIdentity"],
  );
  // Named, the profile is what the SDK signs with, and its device is asked for a code.
  const named = await runCli([...GRANT, "--profile", "default", "--", "true"], { env });
  assert.equal(named.code, 2, named.stderr);
  assert.match(named.stderr, new RegExp(`^error: An MFA code for ${serial} is needed`));
});

Deno.test("a role_arn profile with mfa_serial: the SDK assumes it with the code we give", async () => {
  await using fx = await startMfaFixture();
  const { aws, env, serial, home } = fx;
  aws.addRole({ roleName: "developer-role", trustPolicy: mfaTrust(aws.accountId) });
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[base]\naws_access_key_id = ${aws.defaultUser.accessKeyId}\n` +
      `aws_secret_access_key = ${aws.defaultUser.secretAccessKey}\n`,
  );
  await Deno.writeTextFile(
    `${home}/.aws/config`,
    `[profile dev]\nrole_arn = arn:aws:iam::${aws.accountId}:role/developer-role\n` +
      `source_profile = base\nmfa_serial = ${serial}\n`,
  );
  const clean = { ...env };
  delete clean.AWS_ACCESS_KEY_ID;
  delete clean.AWS_SECRET_ACCESS_KEY;
  const result = await runCli(
    [...GRANT, "--profile", "dev", "--mfa-code", aws.mfaCode(serial), "--", ...callerArn(aws)],
    { env: clean },
  );
  fx.assertNoSecret(result.stdout, result.stderr);
  assert.equal(result.code, 0, result.stderr);
  const login = await runCli(["mfa", "login", "--profile", "dev"], { env: clean });
  assert.equal(login.code, 2);
  assert.match(
    login.stderr,
    /^error: Profile "dev" assumes its role_arn itself, so it has no MFA/,
  );
  const assumes = calls(aws, "AssumeRole");
  assert.equal(assumes.length, 2);
  assert.equal(assumes[0].params.SerialNumber, serial);
  assert.match(assumes[0].params.RoleArn, /role\/developer-role$/);
  assert.equal(assumes[1].params.RoleArn, aws.brokerRoleArn);
});

Deno.test("setup aws --require-mfa --apply: a grant fails without MFA, succeeds with it; doctor says so", async () => {
  await using fx = await startMfaFixture();
  const { aws, env, serial, home } = fx;
  // A role that trusts anyone of the account, until setup rewrites its trust.
  aws.addRole({ roleName: BROKER_ROLE_NAME });
  const config = { ...env, TIMEBOUND_IAM_CONFIG: `${home}/config.json` };
  const setup = await runCli([
    "setup",
    "aws",
    "--services",
    "s3",
    "--max-session",
    "1h",
    "--require-mfa",
    "--mfa-max-age",
    "12h",
    "--apply",
    "--yes",
  ], { env: config });
  fx.assertNoSecret(setup.stdout, setup.stderr);
  assert.equal(setup.code, 0, setup.stderr);
  const trust = JSON.parse(aws.role(BROKER_ROLE_NAME)!.trustPolicy);
  assert.deepEqual(trust.Statement[0].Condition, {
    Bool: { "aws:MultiFactorAuthPresent": "true" },
    NumericLessThan: { "aws:MultiFactorAuthAge": "43200" },
  });
  const without = await runCli([...GRANT, "--", "true"], { env: config });
  assert.equal(without.code, 1);
  assert.match(without.stderr, /^error: Access denied assuming/);
  const withCode = await runCli(
    [...GRANT, "--mfa-serial", serial, "--mfa-code", aws.mfaCode(serial), "--", "true"],
    { env: config },
  );
  fx.assertNoSecret(withCode.stdout, withCode.stderr);
  assert.equal(withCode.code, 0, withCode.stderr);
  const doctor = await runCli(["doctor"], { env: config });
  fx.assertNoSecret(doctor.stdout, doctor.stderr);
  const line = doctor.stdout.split("\n").find((l) => l.includes(" MFA "));
  assert.match(
    line ?? "",
    new RegExp(
      `^✓ MFA +devices: ${serial}; trust: requires MFA typed within 12h; session: cached until `,
    ),
  );
  // MFA older than the trust's maximum age: AWS refuses the cached session's AssumeRole.
  aws.clock.advance(12 * 3600_000 + 60_000);
  const stale = await runCli([...GRANT, "--mfa-serial", serial, "--", "true"], { env: config });
  assert.notEqual(stale.code, 0);
});

/**
 * Runs `timebound-iam ARGS` under a pseudo-terminal (in `env`) and types the two codes of the
 * device that it creates (the first one wrong when `wrong`), once the endpoint knows the device.
 */
async function provisionUnderTerminal(
  world: MfaFixture,
  args: string[],
  options: { env: Record<string, string> & { HOME: string }; wrong?: boolean },
): Promise<{ code: number; text: string }> {
  const { aws } = world;
  const { env } = options;
  const before = new Set(aws.mfaDevices().map((d) => d.serialNumber));
  const child = await spawnUnderTerminal(["mfa", "provision", ...args], env);
  // Both codes from one moment, so that a 30-second boundary between the answers cannot part them.
  let second = "";
  const { code, text } = await answerPrompts(child, [
    {
      prompt: "First code from the app: ",
      answer: () => {
        const serial = aws.mfaDevices().find((d) => !before.has(d.serialNumber))!.serialNumber;
        const first = aws.mfaCode(serial, -1);
        second = aws.mfaCode(serial);
        return options.wrong ? String((Number(first) + 1) % 1_000_000).padStart(6, "0") : first;
      },
    },
    { prompt: "The next code (wait for it to change): ", answer: () => second },
  ]);
  world.assertNoSecret(text);
  return { code, text };
}

Deno.test({
  name: "mfa provision creates, shows and enables a device; a bad code deletes it (Linux only)",
  ignore: !hasScript,
  fn: async (t) => {
    await using world = await startMfaFixture();
    const { aws, home } = world;
    const user = aws.addUser({ userName: "newcomer" });
    await Deno.writeTextFile(
      `${home}/.aws/credentials`,
      `[newcomer]\naws_access_key_id = ${user.accessKeyId}\n` +
        `aws_secret_access_key = ${user.secretAccessKey}\n`,
    );
    const env = { ...world.env };
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const serial = `arn:aws:iam::${aws.accountId}:mfa/newcomer`;
    await t.step("a wrong first code: refused, and the device is deleted", async () => {
      const { code, text } = await provisionUnderTerminal(
        world,
        ["--profile", "newcomer"],
        { env, wrong: true },
      );
      assert.equal(code, 1, text);
      assert.match(text, /Scan this QR code with your authenticator app:\r?\n/);
      assert.match(text, /[▀▄█]{3}/, "the QR code is drawn with half blocks");
      assert.match(text, /error: AWS refused the two codes: they must be two consecutive codes/);
      assert.match(text, new RegExp(`The new device ${serial} was deleted again`));
      assert.ok(!aws.mfaDevices().some((d) => d.serialNumber === serial));
      assert.equal(calls(aws, "DeleteVirtualMFADevice").length, 1);
    });
    await t.step("without a terminal: refused before any device exists (exit 2)", async () => {
      const created = calls(aws, "CreateVirtualMFADevice").length;
      const out = await runCli(["mfa", "provision", "--profile", "newcomer"], { env });
      assert.equal(out.code, 2, out.stderr);
      assert.equal(
        out.stderr,
        "error: mfa provision asks for two codes and needs a terminal\n" +
          "hint: run it in a terminal\n",
      );
      assert.equal(calls(aws, "CreateVirtualMFADevice").length, created);
    });
    await t.step("the terminal closes at the code prompt: the device is deleted", async () => {
      const before = calls(aws, "DeleteVirtualMFADevice").length;
      const child = await spawnUnderTerminal(["mfa", "provision", "--profile", "newcomer"], {
        ...env,
        HOME: home,
      });
      // Wait for the code prompt, then close the terminal window: `script` (the terminal)
      // dies at once, and the kernel sends the program the hangup.
      const reader = child.stdout.getReader();
      const decoder = new TextDecoder();
      let text = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      try {
        while (!text.includes("First code from the app: ")) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
        child.kill("SIGKILL");
      } finally {
        clearTimeout(timer);
        await reader.cancel();
        await child.stdin.close().catch(() => {});
        await child.stderr.cancel();
        await child.status;
      }
      assert.match(text, /First code from the app: /);
      world.assertNoSecret(text);
      // The program outlives `script` for the delete call; wait for it, bounded.
      for (let i = 0; i < 100 && calls(aws, "DeleteVirtualMFADevice").length === before; i++) {
        await new Promise((done) => setTimeout(done, 100));
      }
      assert.equal(calls(aws, "DeleteVirtualMFADevice").length, before + 1, text);
      assert.ok(!aws.mfaDevices().some((d) => d.serialNumber === serial));
    });
    await t.step("two good codes: enabled, the serial printed with the next step", async () => {
      const png = `${home}/qr.png`;
      const { code, text } = await provisionUnderTerminal(
        world,
        ["--profile", "newcomer", "--qr-png", png],
        { env },
      );
      assert.equal(code, 0, text);
      assert.match(text, new RegExp(`The QR code is in ${png}`));
      assert.match(text, new RegExp(`^${serial}\\r?$`, "m"));
      assert.match(text, new RegExp(`next: timebound-iam mfa login --mfa-serial ${serial}`));
      assert.deepEqual(
        aws.mfaDevices().find((d) => d.serialNumber === serial),
        { serialNumber: serial, userName: "newcomer" },
      );
      const bytes = await Deno.readFile(png);
      assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
      assert.equal(Deno.statSync(png).mode! & 0o777, 0o600);
    });
  },
});

/**
 * Starts `timebound-iam serve --mfa-serial SERIAL` over stdio with an MCP client that can elicit
 * (answering with `answer`) or not, runs `fn`, and closes everything.
 */
async function withServe(
  world: MfaFixture,
  answer: ((message: string) => string | undefined) | undefined,
  fn: (
    call: (args: Record<string, unknown>) => Promise<{ isError?: boolean; text: string }>,
  ) => Promise<void>,
  options: { args?: string[]; env?: Record<string, string | undefined> } = {},
): Promise<void> {
  const tmp = await Deno.makeTempDir({ dir: world.home });
  // A variable set to undefined in options.env is left out.
  const env = Object.fromEntries(
    Object.entries({
      ...world.childEnv,
      TMPDIR: tmp,
      XDG_STATE_HOME: `${world.home}/state`,
      ...options.env,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const [command, args] = cliCommand([
    "serve",
    "--mfa-serial",
    world.serial,
    ...options.args ?? [],
  ]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client(
    { name: "mfa-test", version: "1" },
    { capabilities: answer ? { elicitation: { form: {} } } : {} },
  );
  if (answer) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      const code = answer(request.params.message);
      return Promise.resolve(
        code === undefined ? { action: "decline" } : { action: "accept", content: { code } },
      );
    });
  }
  await client.connect(transport);
  try {
    await fn(async (callArgs) => {
      const result = await client.callTool({ name: "grant_access", arguments: callArgs });
      const text = (result.content as Array<{ text: string }>).map((c) => c.text).join("\n");
      world.assertNoSecret(text);
      return { isError: result.isError as boolean | undefined, text };
    });
  } finally {
    await client.close();
    world.assertNoSecret(
      stderr,
      await Deno.readTextFile(`${world.home}/state/timebound-iam/audit.jsonl`).catch(() => ""),
    );
  }
}

Deno.test("serve grants from the cached MFA session, and asks the human by elicitation when there is none", async (t) => {
  await using world = await startMfaFixture();
  const { aws, serial, env } = world;
  await t.step("no session, a client that cannot elicit: refused, naming mfa login", async () => {
    await withServe(world, undefined, async (call) => {
      const result = await call({ services: ["s3"] });
      assert.equal(result.isError, true);
      assert.equal(
        result.text,
        `An MFA code for ${serial} is needed, and this MCP client cannot ask the human for it\n` +
          "hint: ask the human to run: timebound-iam mfa login (then try again); never pass a " +
          "code yourself",
      );
    });
    assert.equal(calls(aws, "GetSessionToken").length, 0);
  });
  await t.step("no session, a client that elicits: the human's code starts one", async () => {
    const asked: string[] = [];
    await withServe(world, (message) => {
      asked.push(message);
      return aws.mfaCode(serial);
    }, async (call) => {
      const first = await call({ services: ["s3"] });
      assert.ok(!first.isError, first.text);
      const second = await call({ services: ["dynamodb"] });
      assert.ok(!second.isError, second.text);
    });
    assert.equal(asked.length, 1);
    assert.match(asked[0], new RegExp(`current code of your MFA device ${serial}`));
    assert.equal(calls(aws, "GetSessionToken").length, 1);
  });
  await t.step("three grants at once with no session: one question, one session", async () => {
    await runCli(["mfa", "logout"], { env });
    const before = calls(aws, "GetSessionToken").length;
    const asked: string[] = [];
    await withServe(world, (message) => {
      asked.push(message);
      return aws.mfaCode(serial);
    }, async (call) => {
      const results = await Promise.all(
        ["s3", "sqs", "dynamodb"].map((service) => call({ services: [service] })),
      );
      for (const result of results) assert.ok(!result.isError, result.text);
    });
    assert.equal(asked.length, 1, "the human is asked once, not once per grant");
    assert.equal(calls(aws, "GetSessionToken").length, before + 1);
  });
  await t.step("a cached session (mfa login): no question at all", async () => {
    const login = await runCli(
      ["mfa", "login", "--mfa-serial", serial, "--mfa-code", aws.mfaCode(serial)],
      { env },
    );
    assert.equal(login.code, 0, login.stderr);
    const before = calls(aws, "GetSessionToken").length;
    await withServe(world, () => assert.fail("no question expected"), async (call) => {
      const result = await call({ services: ["s3"] });
      assert.ok(!result.isError, result.text);
    });
    assert.equal(calls(aws, "GetSessionToken").length, before);
    assert.equal(calls(aws, "AssumeRole").at(-1)?.errorCode, undefined);
  });
  await t.step("the human declines: no credentials", async () => {
    await runCli(["mfa", "logout"], { env });
    await withServe(world, () => undefined, async (call) => {
      const result = await call({ services: ["s3"] });
      assert.equal(result.isError, true);
      assert.match(result.text, /^Declined by the human: no MFA code was given/);
    });
  });
});

Deno.test("serve asks for an MFA code once after a no: the agent's retries and bursts ask nothing", async () => {
  await using world = await startMfaFixture();
  const asked: string[] = [];
  await withServe(world, (message) => {
    asked.push(message);
    return undefined;
  }, async (call) => {
    const first = await call({ services: ["s3"] });
    assert.match(first.text, /^Declined by the human: no MFA code was given/);
    const burst = await Promise.all(
      ["s3", "sqs", "dynamodb"].map((service) => call({ services: [service] })),
    );
    for (const result of burst) {
      assert.equal(result.isError, true);
      assert.match(
        result.text,
        /^The human declined an MFA code question \d+s ago: no new MFA code question for \d+s/,
      );
    }
  });
  assert.equal(asked.length, 1, "one question, not one per retry");
  assert.equal(calls(world.aws, "GetSessionToken").length, 0);
});

Deno.test("serve's MFA question names the profile whose session the code starts", async () => {
  await using world = await startMfaFixture();
  const user = world.aws.defaultUser;
  await Deno.writeTextFile(
    world.path(".aws", "credentials"),
    ["dev", "ops"].map((name) =>
      `[${name}]\naws_access_key_id = ${user.accessKeyId}\n` +
      `aws_secret_access_key = ${user.secretAccessKey}\n`
    ).join(""),
  );
  const asked: string[] = [];
  await withServe(
    world,
    (message) => {
      asked.push(message);
      return undefined;
    },
    async (call) => {
      const result = await call({ services: ["s3"], profile: "ops" });
      assert.match(result.text, /^Declined by the human: no MFA code was given/);
    },
    {
      args: ["--allow-profiles", "ops"],
      env: { AWS_PROFILE: "dev", AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    },
  );
  assert.equal(asked.length, 1);
  assert.match(
    asked[0],
    new RegExp(
      'asks for AWS credentials of AWS profile "ops" \\(not this server\'s own profile\\), and ' +
        `there is no MFA session: type the current code of your MFA device ${world.serial}`,
    ),
  );
});
