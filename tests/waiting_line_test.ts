// A terminal that waits more than a second for AWS says so on one line, erased when the answer
// comes; a pipe never sees it.
import assert from "node:assert/strict";
import { cliCommand } from "./support/cli.ts";
import { type Fixture, startFixture } from "./support/fixture.ts";
import { PtySession } from "./support/pty.ts";
import { canRun } from "./support/system_tool.ts";
import { pauseWaitingLines, waitingLine } from "../lib/core/waiting_line.ts";

const hasScript = Deno.build.os !== "windows" && await canRun("script");
const GRANT = ["exec", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"];

function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

Deno.test({
  name: "a grant that waits 3 s for STS shows a counting line on the terminal, then erases it",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-" });
    const { aws } = fx;
    aws.answerAfter(3000);
    const env = { ...fx.childEnv, TERM: "xterm" };
    const [deno, args] = cliCommand(GRANT);
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    // The raw screen: each update returns to the start of the line and rewrites it.
    assert.match(pty.raw, /\rwaiting for AWS STS \(1s\)…/);
    assert.match(pty.raw, /\rwaiting for AWS STS \(2s\)…/);
    assert.doesNotMatch(pty.raw, /waiting for AWS STS \(0s\)/);
    // Erased at the end: blanks over the last line, and the cursor back at its start.
    const last = pty.raw.lastIndexOf("waiting for AWS STS");
    assert.match(pty.raw.slice(last), /…\r +\r/);
    assert.deepEqual(aws.requests.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
  },
});

Deno.test("a grant that waits for STS says nothing about it when stderr is not a terminal", async () => {
  await using fx = await startFixture({ prefix: "tbi-waiting-" });
  fx.aws.answerAfter(1500);
  const result = await fx.run(GRANT);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
});

Deno.test({
  name: "setup aws waiting for STS and IAM on a terminal says which it waits for",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-setup-" });
    const { aws } = fx;
    aws.answerAfter(1600);
    const env = { ...fx.childEnv, TERM: "xterm" };
    const [deno, args] = cliCommand(["setup", "aws", "--services", "s3"]);
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    assert.match(pty.raw, /\rwaiting for AWS STS \(1s\)…/);
    assert.match(pty.raw, /\rwaiting for AWS IAM \(1s\)…/);
    assert.match(pty.text, /Nothing was changed in AWS/);
  },
});

/** A person's moment at a question: longer than the second of silence before the line shows. */
const THINKING_MS = 1500;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test({
  name: "mfa login on a terminal shows no line while the code is asked, then one for STS",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-mfa-" });
    const { aws } = fx;
    const { serialNumber: serial } = aws.addMfaDevice();
    aws.answerAfter(1600);
    const [deno, args] = cliCommand(["mfa", "login", "--mfa-serial", serial]);
    const pty = new PtySession(
      [deno, ...args].map(shQuote).join(" "),
      { ...fx.childEnv, TERM: "xterm" },
    );
    await pty.waitFor(/MFA code for \S+: /);
    await sleep(THINKING_MS);
    await pty.type(`${aws.mfaCode(serial)}\r`);
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    const typed = pty.raw.indexOf("******");
    assert.ok(typed > 0, pty.raw);
    assert.doesNotMatch(pty.raw.slice(0, typed), /waiting for/);
    assert.match(pty.raw.slice(typed), /\rwaiting for AWS STS \(1s\)…/);
    const last = pty.raw.lastIndexOf("waiting for AWS STS");
    assert.match(pty.raw.slice(last), /…\r +\r/);
    assert.match(pty.text, /MFA session for \S+ cached until /);
    assert.deepEqual(aws.requests.map((r) => r.action), ["GetSessionToken"]);
  },
});

Deno.test("no waiting line writes while a question is open, however the two overlap", async () => {
  const said: string[] = [];
  const io = {
    stdout() {},
    stderr: (text: string) => void said.push(text),
    env: {},
    stdinIsTerminal: true,
    stderrIsTerminal: true,
  };
  const line = waitingLine(io, { quietMs: 50 });
  await line.run("AWS STS", async () => {
    await sleep(200);
    assert.match(said.join(""), /^\rwaiting for AWS STS \(0s\)…$/);
    said.length = 0;
    await pauseWaitingLines(async () => {
      // Erased at once, and nothing while the question (and one asked within it) is open.
      assert.deepEqual(said, [`\r${" ".repeat("waiting for AWS STS (0s)…".length)}\r`]);
      said.length = 0;
      await pauseWaitingLines(() => sleep(200));
      await sleep(200);
    });
    assert.deepEqual(said, []);
    await sleep(200);
    assert.match(said.join(""), /^\rwaiting for AWS STS \(0s\)…$/);
  });
  said.length = 0;
  // A wait that starts while a question is open stays silent until it is answered.
  await pauseWaitingLines(() => line.run("AWS IAM", () => sleep(200)));
  assert.deepEqual(said, []);
});

Deno.test("a question that fails before it is asked leaves later waiting lines showing", async () => {
  let failing = false;
  const io = {
    stdout() {},
    stderr: (_text: string) => {
      if (failing) throw new Error("the terminal is gone");
    },
    env: {},
    stdinIsTerminal: true,
    stderrIsTerminal: true,
  };
  const line = waitingLine(io, { quietMs: 20 });
  await line.run("AWS STS", async () => {
    await sleep(100);
    failing = true;
    await assert.rejects(() => pauseWaitingLines(() => Promise.resolve()), /terminal is gone/);
    failing = false;
  });
  const said: string[] = [];
  const other = waitingLine({ ...io, stderr: (text: string) => void said.push(text) }, {
    quietMs: 20,
  });
  await other.run("AWS IAM", () => sleep(150));
  assert.match(said.join(""), /\rwaiting for AWS IAM \(0s\)…/);
});

/** Keys of the endpoint's user in an encrypted-file vault, as profile `dev`; the env without them. */
async function vaultKeysEnv(fx: Fixture): Promise<Record<string, string>> {
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...rest } = fx.env;
  const env = { ...rest, TIMEBOUND_IAM_VAULT_BACKEND: "file" };
  const added = await fx.run(["keys", "add", "dev", "--from-env"], {
    env: { TIMEBOUND_IAM_VAULT_PASSPHRASE: PASSPHRASE },
  });
  assert.equal(added.code, 0, added.stderr);
  const { AWS_ACCESS_KEY_ID: _i, AWS_SECRET_ACCESS_KEY: _s, ...childEnv } = fx.childEnv;
  return { ...childEnv, ...env, TERM: "xterm" };
}

const PASSPHRASE = "correct horse battery staple";

/** What the terminal showed while the question that starts at `asked` was open. */
function whileOpen(raw: string, asked: number): string {
  // Nothing typed is echoed: the answer ends where the reader writes its newline.
  const answered = raw.indexOf("\n", asked);
  assert.ok(asked >= 0 && answered > asked, raw);
  return raw.slice(asked, answered);
}

Deno.test({
  name: "a grant on a terminal shows no line while the vault's passphrase is asked",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-vault-" });
    const { aws } = fx;
    const env = await vaultKeysEnv(fx);
    const before = aws.requests.length;
    aws.answerAfter(1600);
    const [deno, args] = cliCommand(["exec", "--profile", "dev", ...GRANT.slice(1)]);
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    await pty.waitFor(/Vault passphrase: /);
    await sleep(THINKING_MS);
    await pty.type(`${PASSPHRASE}\r`);
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    const { raw } = pty;
    const asked = raw.indexOf("Vault passphrase: ");
    assert.doesNotMatch(whileOpen(raw, asked), /waiting for/);
    assert.match(raw.slice(asked), /\rwaiting for AWS STS \(1s\)…/);
    assert.ok(!pty.text.includes(PASSPHRASE));
    const grant = aws.requests.slice(before);
    assert.deepEqual(grant.map((r) => r.action), ["GetCallerIdentity", "AssumeRole"]);
    assert.equal(grant[1].accessKeyId, aws.defaultUser.accessKeyId);
  },
});

Deno.test({
  name: "mfa login on a terminal shows no line while the vault's passphrase or the code is asked",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-vault-mfa-" });
    const { aws } = fx;
    const { serialNumber: serial } = aws.addMfaDevice();
    const env = await vaultKeysEnv(fx);
    const before = aws.requests.length;
    aws.answerAfter(1600);
    const [deno, args] = cliCommand(["mfa", "login", "--profile", "dev", "--mfa-serial", serial]);
    const pty = new PtySession([deno, ...args].map(shQuote).join(" "), env);
    await pty.waitFor(/Vault passphrase: /);
    await sleep(THINKING_MS);
    await pty.type(`${PASSPHRASE}\r`);
    await pty.waitFor(/MFA code for \S+: /);
    await sleep(THINKING_MS);
    await pty.type(`${aws.mfaCode(serial)}\r`);
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    const { raw } = pty;
    assert.doesNotMatch(whileOpen(raw, raw.indexOf("Vault passphrase: ")), /waiting for/);
    assert.doesNotMatch(whileOpen(raw, raw.indexOf("MFA code for ")), /waiting for/);
    assert.match(raw.slice(raw.indexOf("******")), /\rwaiting for AWS STS \(1s\)…/);
    assert.match(pty.text, /MFA session for \S+ cached until /);
    assert.deepEqual(aws.requests.slice(before).map((r) => r.action), ["GetSessionToken"]);
  },
});

Deno.test({
  name: "mfa provision on a terminal waits for STS and IAM on one line, never over the codes",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-provision-" });
    const { aws } = fx;
    aws.answerAfter(1600);
    const [deno, args] = cliCommand(["mfa", "provision"]);
    const pty = new PtySession(
      [deno, ...args].map(shQuote).join(" "),
      { ...fx.childEnv, TERM: "xterm" },
    );
    await pty.waitFor(/First code from the app: /);
    await sleep(THINKING_MS);
    // Both codes from one moment, so that a 30-second boundary between them cannot part them.
    const serial = aws.mfaDevices()[0].serialNumber;
    const [first, second] = [aws.mfaCode(serial, -1), aws.mfaCode(serial)];
    await pty.type(`${first}\r`);
    await pty.waitFor(/The next code \(wait for it to change\): /);
    await pty.type(`${second}\r`);
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    const { raw } = pty;
    const shown = raw.indexOf("Scan this QR code");
    const answered = raw.indexOf("******", raw.indexOf("The next code"));
    assert.ok(shown >= 0 && answered > shown, raw);
    assert.match(raw.slice(0, shown), /\rwaiting for AWS STS \(1s\)…/);
    assert.match(raw.slice(0, shown), /\rwaiting for AWS IAM \(1s\)…/);
    assert.doesNotMatch(raw.slice(shown, answered), /waiting for/);
    assert.match(raw.slice(answered), /\rwaiting for AWS IAM \(1s\)…/);
    assert.match(raw.slice(raw.lastIndexOf("waiting for AWS IAM")), /…\r +\r/);
    assert.match(pty.text, /MFA device enabled for developer/);
    assert.deepEqual(aws.requests.map((r) => r.action), [
      "GetCallerIdentity",
      "CreateVirtualMFADevice",
      "EnableMFADevice",
    ]);
  },
});

Deno.test({
  name: "console on a terminal waiting for the federation endpoint says so, then erases it",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({
      prefix: "tbi-waiting-console-",
      env: (_home, aws) => ({ TIMEBOUND_IAM_SIGNIN_URL: aws!.signinUrl }),
    });
    const { aws } = fx;
    aws.answerAfter(1600);
    const [deno, args] = cliCommand([
      "console",
      "--no-confirm",
      "-s",
      "s3:ro",
      "-t",
      "15m",
      "--print",
    ]);
    const pty = new PtySession(
      [deno, ...args].map(shQuote).join(" "),
      { ...fx.childEnv, TERM: "xterm" },
    );
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    const { raw } = pty;
    assert.match(raw, /\rwaiting for AWS sign-in \(1s\)…/);
    assert.match(raw.slice(raw.lastIndexOf("waiting for AWS sign-in")), /…\r +\r/);
    assert.match(pty.text, /warning: the URL on stdout is a bearer secret/);
    assert.equal(aws.federationRequests.length, 1);
  },
});

Deno.test({
  name: "a refused grant on a terminal says so while it looks up the caller's MFA devices",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({ prefix: "tbi-waiting-refused-" });
    const { aws } = fx;
    const { serialNumber: serial } = aws.addMfaDevice();
    aws.deny("sts:AssumeRole");
    aws.answerAfter(1600);
    const [deno, args] = cliCommand(GRANT);
    const pty = new PtySession(
      [deno, ...args].map(shQuote).join(" "),
      { ...fx.childEnv, TERM: "xterm" },
    );
    const code = await pty.close(60_000);
    assert.equal(code, 1, pty.text);
    const { raw } = pty;
    assert.match(raw, /\rwaiting for AWS IAM \(1s\)…/);
    assert.match(raw.slice(raw.lastIndexOf("waiting for AWS IAM")), /…\r +\r/);
    assert.match(
      pty.text,
      new RegExp(`hint: if its trust policy requires MFA, pass --mfa-serial ${serial} `),
    );
    assert.deepEqual(aws.requests.map((r) => r.action), [
      "GetCallerIdentity",
      "AssumeRole",
      "ListMFADevices",
    ]);
  },
});

Deno.test({
  name: "doctor --console on a terminal says it waits for the sign-in endpoint, then erases it",
  ignore: !hasScript,
  async fn() {
    await using fx = await startFixture({
      prefix: "tbi-waiting-doctor-console-",
      env: (home, aws) => ({ TMPDIR: home, TIMEBOUND_IAM_SIGNIN_URL: aws!.signinUrl }),
    });
    const { aws } = fx;
    aws.answerAfter(1600);
    const [deno, args] = cliCommand(["doctor", "--console"]);
    const pty = new PtySession(
      [deno, ...args].map(shQuote).join(" "),
      { ...fx.childEnv, TERM: "xterm" },
    );
    const code = await pty.close(60_000);
    assert.equal(code, 0, pty.text);
    const { raw } = pty;
    assert.match(raw, /\rwaiting for AWS sign-in \(1s\)…/);
    assert.match(raw.slice(raw.lastIndexOf("waiting for AWS sign-in")), /…\r +\r/);
    assert.match(pty.text, /✓ console sign-in +http:\/\/127\.0\.0\.1:\d+\/federation answers/);
    assert.deepEqual(aws.federationRequests.map((r) => r.method), ["HEAD"]);
  },
});
