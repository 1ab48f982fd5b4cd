// The vault end to end: the real CLI against the local endpoint, the encrypted file and a real
// Secret Service (GNOME Keyring in a private D-Bus session), and the real `aws` CLI as the child.
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { answerPrompts, baseEnv, cliCommand, runCli, spawnUnderTerminal } from "./support/cli.ts";
import { BROKER_ROLE_NAME, LocalAws } from "./support/local_aws.ts";
import { startFixture } from "./support/fixture.ts";
import { secretServiceTool, startSecretService } from "./support/secret_service.ts";
import { findTool, ignoredBecause } from "./support/system_tool.ts";
import { openVault } from "../lib/vault/vault.ts";

const PASSPHRASE = "correct horse battery staple";
const awsCli = await findTool("aws", "awscli");
const secretService = await secretServiceTool();
const scriptTool = Deno.build.os === "linux"
  ? await findTool("script", "util-linux")
  : { found: false, reason: "a pseudo-terminal through script(1) is Linux only" };

/** A private HOME, the endpoint, and every output collected to check for secrets at the end. */
interface World extends AsyncDisposable {
  aws: LocalAws;
  home: string;
  /** The environment of every run: endpoint and HOME, no keys, the file backend. */
  env: Record<string, string>;
  /** Runs the CLI in the world and collects what it printed. */
  run(args: string[], extra?: Record<string, string>): ReturnType<typeof runCli>;
  outputs: string[];
}

async function world(options: { env?: Record<string, string> } = {}): Promise<World> {
  const fx = await startFixture({ prefix: "tbi-keys-" });
  // The human's keys are nowhere but where a test puts them: not in the environment.
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...endpoint } = fx.env;
  const env = {
    ...endpoint,
    TIMEBOUND_IAM_VAULT_BACKEND: "file",
    TIMEBOUND_IAM_VAULT_PASSPHRASE: PASSPHRASE,
    ...options.env,
  };
  const outputs: string[] = [];
  return {
    aws: fx.aws,
    home: fx.home,
    env,
    outputs,
    async run(args, extra = {}) {
      const result = await runCli(args, { env: { ...env, ...extra } });
      outputs.push(result.stdout, result.stderr);
      return result;
    },
    [Symbol.asyncDispose]: () => fx[Symbol.asyncDispose](),
  };
}

/** No secret the endpoint knows, and no full access key id, in any output of the world. */
function assertNoSecrets(w: World, extra: string[] = []): void {
  const ids = w.aws.requests.map((r) => r.accessKeyId).filter((id): id is string => !!id);
  for (const secret of [...w.aws.issuedSecrets(), ...ids, ...extra]) {
    for (const output of w.outputs) {
      assert.ok(!output.includes(secret), `a secret or key id reached an output: ${output}`);
    }
  }
}

/** Every file under `dir` (recursively) that contains any of `secrets`. */
async function filesHolding(dir: string, secrets: string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await filesHolding(path, secrets));
    else if (entry.isFile) {
      const text = await Deno.readTextFile(path).catch(() => "");
      if (secrets.some((secret) => text.includes(secret))) found.push(path);
    }
  }
  return found;
}

Deno.test("keys add --from-env checks the keys, stores them encrypted, and never shows them", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const added = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: user.accessKeyId,
    AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
  });
  assert.equal(added.code, 0, added.stderr);
  assert.match(
    added.stderr,
    new RegExp(
      `^Stored AKIA…${user.accessKeyId.slice(-4)} for profile "dev" in .*vault: ` +
        `account 123456789012, arn:aws:iam::123456789012:user/developer\n$`,
    ),
  );
  assert.deepEqual(
    w.aws.requests.map((r) => [r.action, r.accessKeyId]),
    [["GetCallerIdentity", user.accessKeyId]],
  );
  const file = `${w.home}/.local/share/timebound-iam/vault`;
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.deepEqual(await filesHolding(w.home, [user.secretAccessKey, user.accessKeyId]), []);

  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  const [header, row] = list.stdout.trimEnd().split("\n");
  assert.match(header, /^PROFILE +BACKEND +KEY +ACCOUNT +USER +AGE +MFA SESSION$/);
  assert.match(
    row,
    new RegExp(
      `^dev +file +AKIA…${user.accessKeyId.slice(-4)} +123456789012 +user/developer +now +no$`,
    ),
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("keys add asks before it replaces another pair the profile holds (--yes does not)", async () => {
  await using w = await world();
  const first = w.aws.defaultUser;
  const second = w.aws.addUser({ userName: "second-user" });
  const add = (keys: { accessKeyId: string; secretAccessKey: string }, ...flags: string[]) =>
    w.run(["keys", "add", "dev", "--from-env", ...flags], {
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    });
  assert.equal((await add(first)).code, 0);
  // The same pair again changes nothing and asks nothing.
  assert.equal((await add(first)).code, 0);
  const refused = await add(second);
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr.replace(/ in \S*vault;/, " in VAULT;"),
    `Profile "dev" holds AKIA…${first.accessKeyId.slice(-4)} in VAULT; the new pair replaces it, ` +
      "and its secret is not kept.\n" +
      "error: Not replacing the stored keys: standard input is not a terminal to ask on\n" +
      "hint: pass --yes to go ahead without asking\n",
  );
  const kept = await w.run(["keys", "list"]);
  assert.match(kept.stdout, new RegExp(`^dev +file +AKIA…${first.accessKeyId.slice(-4)} `, "m"));
  const replaced = await add(second, "--yes");
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stderr, new RegExp(`\\(replacing AKIA…${first.accessKeyId.slice(-4)}\\)`));
  const now = await w.run(["keys", "list"]);
  assert.match(now.stdout, new RegExp(`^dev +file +AKIA…${second.accessKeyId.slice(-4)} `, "m"));
  assertNoSecrets(w, [first.secretAccessKey, second.secretAccessKey]);
});

Deno.test("keys add refuses a session token, keys on the command line, and bad keys at AWS", async () => {
  await using w = await world();
  const token = await w.run(["keys", "add", "--from-env"], {
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_SESSION_TOKEN: "token",
  });
  assert.equal(token.code, 2);
  assert.match(token.stderr, /^error: AWS_SESSION_TOKEN is set: these are temporary credentials/);
  const argv = await w.run(["keys", "add", "dev", "AKIAIOSFODNN7EXAMPLE"]);
  assert.equal(argv.code, 2);
  const unknown = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^error: AWS does not recognise the access key of profile "dev"\n/);
  const noTerminal = await w.run(["keys", "add", "dev"]);
  assert.equal(noTerminal.code, 2);
  assert.match(
    noTerminal.stderr,
    /^error: Cannot ask for the keys: standard input is not a terminal\n/,
  );
  const list = await w.run(["keys", "list"]);
  assert.match(list.stderr, /^No keys in the vault/);
  assertNoSecrets(w, ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAIOSFODNN7EXAMPLE"]);
});

Deno.test("the encrypted file: a wrong passphrase is one line and exit 1, the file untouched", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const keys = { AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey };
  assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
  const file = `${w.home}/.local/share/timebound-iam/vault`;
  const before = await Deno.readFile(file);
  const wrong = await w.run(["keys", "list"], {
    TIMEBOUND_IAM_VAULT_PASSPHRASE: "not the passphrase",
  });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^error: Wrong passphrase for the vault file ".*\/vault"\nhint: /);
  assert.equal(wrong.stderr.split("\n").filter(Boolean).length, 2);
  const add = await w.run(["keys", "add", "other", "--from-env"], {
    ...keys,
    TIMEBOUND_IAM_VAULT_PASSPHRASE: "not the passphrase",
  });
  assert.equal(add.code, 1);
  assert.deepEqual(await Deno.readFile(file), before);

  const flipped = before.slice();
  flipped[10] = flipped[10] === 0x41 ? 0x42 : 0x41;
  await Deno.writeFile(file, flipped);
  const tampered = await w.run(["keys", "list"]);
  assert.equal(tampered.code, 1);
  assert.match(
    tampered.stderr,
    /^error: Vault file ".*" is damaged or was altered: refusing to read it\n/,
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test(
  `a grant from vault keys, no key in the environment nor credentials file, to the aws CLI${
    ignoredBecause(awsCli)
  }`,
  { ignore: !awsCli.found },
  async () => {
    await using w = await world();
    const user = w.aws.defaultUser;
    const keys = {
      AWS_ACCESS_KEY_ID: user.accessKeyId,
      AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
    };
    assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
    await Deno.remove(`${w.home}/.aws/credentials`);
    const result = await w.run([
      "exec",
      "--profile",
      "dev",
      "--no-confirm",
      "-s",
      "s3:ro",
      "-t",
      "15m",
      "--",
      "aws",
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      w.aws.url,
      "--output",
      "json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      JSON.parse(result.stdout).Arn,
      /^arn:aws:sts::123456789012:assumed-role\/timebound-iam-broker\/timebound-iam-/,
    );
    const assume = w.aws.requests.find((r) => r.action === "AssumeRole");
    assert.equal(assume?.accessKeyId, user.accessKeyId, "AssumeRole signed with the vault's key");
    assertNoSecrets(w, [user.secretAccessKey]);
  },
);

Deno.test("keys import moves one profile's keys and leaves the rest of the file byte for byte", async () => {
  await using w = await world();
  const dev = w.aws.addUser({ userName: "dev-user" });
  const other = w.aws.addUser({ userName: "other-user" });
  const credentials = `${w.home}/.aws/credentials`;
  const first = "# my keys\n[default]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\n" +
    "aws_secret_access_key = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n";
  const middle = `; dev: the one to move\n[dev]\naws_access_key_id = ${dev.accessKeyId}\r\n` +
    `aws_secret_access_key=${dev.secretAccessKey}\nregion = eu-west-1\n\n`;
  const last = `[other]  # kept\naws_access_key_id = ${other.accessKeyId}\n` +
    `aws_secret_access_key = ${other.secretAccessKey}\n`;
  await Deno.writeTextFile(credentials, first + middle + last);
  await Deno.chmod(credentials, 0o640);

  const result = await w.run(["keys", "import", "--profile", "dev", "--yes"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /\n {2}line 8: aws_access_key_id = AKIA…\S{4}\n {2}line 9: aws_secret_access_key = \(secret\)\n/,
  );
  assert.match(result.stderr, /Removed 2 lines from ".*credentials"/);
  const after = await Deno.readTextFile(credentials);
  assert.equal(after, first + "; dev: the one to move\n[dev]\nregion = eu-west-1\n\n" + last);
  assert.equal((await Deno.stat(credentials)).mode! & 0o777, 0o640);
  const entries = [...Deno.readDirSync(`${w.home}/.aws`)].map((e) => e.name).sort();
  assert.deepEqual(entries, ["config", "credentials"], "no backup or temporary left");
  assert.deepEqual(await filesHolding(w.home, [dev.secretAccessKey]), []);

  const list = await w.run(["keys", "list"]);
  assert.match(list.stdout, /\ndev +file +AKIA…\S{4} +123456789012 +user\/dev-user/);
  // The imported profile still grants, from the vault.
  // (env prints the session's keys, as it must: its output is not collected.)
  const grant = await runCli(
    ["env", "--profile", "dev", "--no-confirm", "-s", "s3:ro", "-t", "15m"],
    { env: w.env },
  );
  assert.equal(grant.code, 0, grant.stderr);
  assert.equal(
    w.aws.requests.filter((r) => r.action === "AssumeRole")[0].accessKeyId,
    dev.accessKeyId,
  );
  assertNoSecrets(w, [dev.secretAccessKey, other.secretAccessKey]);
});

Deno.test("keys import without --yes and without a terminal changes nothing", async () => {
  await using w = await world();
  const credentials = `${w.home}/.aws/credentials`;
  const text = `[default]\naws_access_key_id = ${w.aws.defaultUser.accessKeyId}\n` +
    `aws_secret_access_key = ${w.aws.defaultUser.secretAccessKey}\n`;
  await Deno.writeTextFile(credentials, text);
  const result = await w.run(["keys", "import"]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /error: Not importing: standard input is not a terminal to ask on\nhint: pass --yes/,
  );
  assert.equal(await Deno.readTextFile(credentials), text);
});

Deno.test("keys rotate: a new key that works after a delay, the old one deleted at AWS", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const keys = { AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey };
  assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
  w.aws.newAccessKeyDelayMs = 1500;
  const result = await w.run(["keys", "rotate", "dev", "--yes"]);
  assert.equal(result.code, 0, result.stderr);
  const [current] = w.aws.accessKeyIds("developer");
  assert.deepEqual(w.aws.accessKeyIds("developer"), [current]);
  assert.notEqual(current, user.accessKeyId);
  assert.match(
    result.stderr,
    new RegExp(
      `Deleted the old key AKIA…${user.accessKeyId.slice(-4)}: profile "dev" now uses AKIA…${
        current.slice(-4)
      }`,
    ),
  );
  const refused = w.aws.requests.filter((r) =>
    r.action === "GetCallerIdentity" && r.accessKeyId === current
  );
  assert.ok(refused.length >= 2, "the new key was checked again after AWS first refused it");
  const list = await w.run(["keys", "list"]);
  assert.match(list.stdout, new RegExp(`AKIA…${current.slice(-4)}`));
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("keys rotate: a user with two keys already is told which to delete, nothing changes", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const keys = { AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey };
  assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
  const second = w.aws.addUser({ userName: "developer" });
  const result = await w.run(["keys", "rotate", "dev", "--yes"]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(
      `error: Cannot create a new key: your IAM user already has two \\(AKIA…${
        user.accessKeyId.slice(-4)
      }, AKIA…${second.accessKeyId.slice(-4)}\\); nothing was changed`,
    ),
  );
  assert.deepEqual(
    w.aws.accessKeyIds("developer").sort(),
    [user.accessKeyId, second.accessKeyId].sort(),
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test(
  `the keychain: Secret Service for real, nothing on disk but the index${
    ignoredBecause(secretService)
  }`,
  { ignore: !secretService.found },
  async () => {
    await using w = await world({ env: { TIMEBOUND_IAM_VAULT_BACKEND: "" } });
    await using service = await startSecretService(w.home);
    const user = w.aws.defaultUser;
    const added = await w.run(["keys", "add", "dev", "--from-env"], {
      ...service.env,
      AWS_ACCESS_KEY_ID: user.accessKeyId,
      AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
    });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr, /in the Secret Service \(OS keychain\): account 123456789012/);
    const stored = await service.search("timebound-iam");
    assert.match(stored, /attribute\.username = keys\/dev/);
    assert.ok(stored.includes(user.secretAccessKey), "the secret is in the keyring");
    const index = await Deno.readTextFile(`${w.home}/.local/share/timebound-iam/keychain-profiles`);
    assert.equal(index, '["dev"]\n');

    const list = await w.run(["keys", "list"], service.env);
    assert.match(list.stdout, /\ndev +keychain +AKIA…/);
    await Deno.remove(`${w.home}/.aws/credentials`);
    const grant = await runCli(
      ["env", "--profile", "dev", "--no-confirm", "-s", "s3:ro", "-t", "15m"],
      { env: { ...w.env, ...service.env } },
    );
    assert.equal(grant.code, 0, grant.stderr);
    const removed = await w.run(["keys", "remove", "dev", "--yes"], service.env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.doesNotMatch(await service.search("timebound-iam"), /keys\/dev/);
    // On disk: the keyring's own encrypted file only; nothing of ours holds the secret.
    const plain = await filesHolding(w.home, [user.secretAccessKey]);
    assert.deepEqual(plain, []);
    assertNoSecrets(w, [user.secretAccessKey]);
  },
);

/** Adds the default user's keys to the vault as profile `dev`, then removes every plain copy. */
async function addDevKeys(w: World): Promise<void> {
  const user = w.aws.defaultUser;
  const added = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: user.accessKeyId,
    AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
  });
  assert.equal(added.code, 0, added.stderr);
  await Deno.remove(`${w.home}/.aws/credentials`);
}

Deno.test("an MFA session made from vault keys is cached in the vault, not the cache directory", async () => {
  await using w = await world();
  w.aws.addRole({
    roleName: BROKER_ROLE_NAME,
    trustPolicy: {
      Version: "2012-10-17",
      Statement: [{
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${w.aws.accountId}:root` },
        Action: ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
        Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } },
      }],
    },
  });
  const { serialNumber: serial } = w.aws.addMfaDevice();
  await addDevKeys(w);
  await Deno.writeTextFile(`${w.home}/.aws/config`, `[profile dev]\nmfa_serial = ${serial}\n`);
  const login = await w.run([
    "mfa",
    "login",
    "--profile",
    "dev",
    "--mfa-code",
    w.aws.mfaCode(serial),
  ]);
  assert.equal(login.code, 0, login.stderr);
  for (let i = 0; i < 2; i++) {
    const grant = await w.run([
      "exec",
      "--profile",
      "dev",
      "--no-confirm",
      "-s",
      "s3:ro",
      "-t",
      "15m",
      "--",
      "true",
    ]);
    assert.equal(grant.code, 0, grant.stderr);
  }
  const tokens = w.aws.requests.filter((r) => r.action === "GetSessionToken");
  assert.equal(tokens.length, 1);
  assert.equal(tokens[0].accessKeyId, w.aws.defaultUser.accessKeyId, "signed with the vault's key");
  const cache = `${w.home}/.cache/timebound-iam`;
  assert.deepEqual(await filesHolding(cache, w.aws.issuedSecrets()), []);
  assert.deepEqual(await filesHolding(w.home, w.aws.issuedSecrets()), []);
  const status = await w.run(["mfa", "status"]);
  assert.match(status.stdout, new RegExp(`^dev\\s+${serial}\\s+until `));
  const list = await w.run(["keys", "list"]);
  assert.match(
    list.stdout,
    /\ndev +file +AKIA…\S{4} +123456789012 +user\/developer +now +until \S+ \S+ UTC\n$/,
  );
  assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey]);
});

Deno.test("keys list shows a profile's own MFA session, not one of a profile its name begins", async () => {
  await using w = await world();
  const { serialNumber: serial } = w.aws.addMfaDevice();
  for (const profile of ["dev", "dev 2", "dev-2"]) {
    const added = await w.run(["keys", "add", profile, "--from-env"], {
      AWS_ACCESS_KEY_ID: w.aws.defaultUser.accessKeyId,
      AWS_SECRET_ACCESS_KEY: w.aws.defaultUser.secretAccessKey,
    });
    assert.equal(added.code, 0, added.stderr);
  }
  await Deno.remove(`${w.home}/.aws/credentials`);
  for (const profile of ["dev 2", "dev-2"]) {
    const code = w.aws.mfaCode(serial);
    const login = await w.run(
      ["mfa", "login", "--profile", profile, "--mfa-serial", serial, "--mfa-code", code],
    );
    assert.equal(login.code, 0, login.stderr);
  }
  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  const rows = list.stdout.trim().split("\n").slice(1);
  assert.equal(rows.length, 3, list.stdout);
  assert.match(rows.find((row) => row.startsWith("dev "))!, / no$/);
  assert.match(rows.find((row) => row.startsWith("dev 2 "))!, / until \S+ \S+ UTC$/);
  assert.match(rows.find((row) => row.startsWith("dev-2 "))!, / until \S+ \S+ UTC$/);
});

Deno.test("keys add replacing a pair, and keys rotate, forget the profile's cached MFA sessions and say so", async () => {
  await using w = await world();
  const { serialNumber: serial } = w.aws.addMfaDevice();
  await addDevKeys(w);
  await Deno.writeTextFile(`${w.home}/.aws/config`, `[profile dev]\nmfa_serial = ${serial}\n`);
  const login = async () => {
    const code = w.aws.mfaCode(serial);
    const result = await w.run(["mfa", "login", "--profile", "dev", "--mfa-code", code]);
    assert.equal(result.code, 0, result.stderr);
    const status = await w.run(["mfa", "status"]);
    assert.match(status.stdout, new RegExp(`^dev\\s+${serial}\\s+until `));
  };
  const forgot = `Forgot the MFA session of profile "dev" (${serial})\n`;
  await login();
  // The same pair again replaces nothing: the session stays.
  const same = await w.run(["keys", "add", "dev", "--from-env"], {
    AWS_ACCESS_KEY_ID: w.aws.defaultUser.accessKeyId,
    AWS_SECRET_ACCESS_KEY: w.aws.defaultUser.secretAccessKey,
  });
  assert.equal(same.code, 0, same.stderr);
  assert.ok(!same.stderr.includes("Forgot"), same.stderr);
  const rotated = await w.run(["keys", "rotate", "dev", "--yes"]);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.ok(
    rotated.stderr.includes(`stored and working\n${forgot}Deleted the old key`),
    rotated.stderr,
  );
  assert.equal((await w.run(["mfa", "status"])).stderr, "No cached MFA sessions\n");

  await login();
  const other = w.aws.addUser({ userName: "developer-2" });
  const replaced = await w.run(["keys", "add", "dev", "--from-env", "--yes"], {
    AWS_ACCESS_KEY_ID: other.accessKeyId,
    AWS_SECRET_ACCESS_KEY: other.secretAccessKey,
  });
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.ok(replaced.stderr.endsWith(forgot), replaced.stderr);
  const list = await w.run(["keys", "list"]);
  assert.match(list.stdout, /\ndev +file +AKIA…\S{4} .* no\n$/);
  assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey, other.secretAccessKey]);
});

Deno.test("keys add and keys rotate send the profile's keys to its endpoint_url, never [default]'s", async () => {
  await using w = await world();
  await using elsewhere = await LocalAws.start();
  const { AWS_ENDPOINT_URL_STS: _sts, AWS_ENDPOINT_URL_IAM: _iam, ...env } = w.env;
  await Deno.writeTextFile(
    `${w.home}/.aws/config`,
    `[default]\nendpoint_url = ${elsewhere.url}\n\n[profile dev]\nendpoint_url = ${w.aws.url}\n`,
  );
  const user = w.aws.defaultUser;
  const added = await runCli(["keys", "add", "dev", "--from-env"], {
    env: {
      ...env,
      AWS_ACCESS_KEY_ID: user.accessKeyId,
      AWS_SECRET_ACCESS_KEY: user.secretAccessKey,
    },
  });
  assert.equal(added.code, 0, added.stderr);
  const rotated = await runCli(["keys", "rotate", "dev", "--yes"], { env });
  assert.equal(rotated.code, 0, rotated.stderr);
  w.outputs.push(added.stderr, rotated.stderr);
  assert.deepEqual(elsewhere.requests.map((r) => r.action), []);
  assert.deepEqual(
    w.aws.requests.map((r) => r.action).filter((action) => action !== "GetCallerIdentity"),
    ["CreateAccessKey", "DeleteAccessKey"],
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("serve grants from vault keys, and no process's arguments hold a key", async () => {
  await using w = await world();
  await addDevKeys(w);
  const env = { ...await baseEnv(w.home), ...w.env, XDG_STATE_HOME: `${w.home}/state` };
  await Deno.remove(`${w.home}/.aws/credentials`);
  const [command, args] = cliCommand(["serve", "--profile", "dev", "--allow", "s3:ro"]);
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const client = new Client({ name: "vault-test", version: "1" }, { capabilities: {} });
  await client.connect(transport);
  try {
    const result = await client.callTool({
      name: "grant_access",
      arguments: { services: ["s3"], level: "read_only", ttl: "15m" },
    });
    const text = (result.content as Array<{ text: string }>).map((c) => c.text).join("\n");
    w.outputs.push(text);
    assert.notEqual(result.isError, true, text);
    assert.match(JSON.parse(text).credential_file, /\.env$/);
    const assume = w.aws.requests.find((r) => r.action === "AssumeRole");
    assert.equal(assume?.accessKeyId, w.aws.defaultUser.accessKeyId);
    if (Deno.build.os === "linux") {
      // Every process's argument list while serve runs (Deno may not read /proc itself).
      const all = await new Deno.Command("sh", {
        args: ["-c", "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '"],
        stdout: "piped",
      }).output();
      const cmdlines = new TextDecoder().decode(all.stdout);
      assert.match(cmdlines, /main\.ts serve --profile dev/, "serve's own arguments were read");
      for (const secret of [w.aws.defaultUser.secretAccessKey, w.aws.defaultUser.accessKeyId]) {
        assert.ok(!cmdlines.includes(secret), "a key in a process's arguments");
      }
    }
    // The human rotates the keys while serve runs: its next grant signs with the new key.
    const rotated = await w.run(["keys", "rotate", "dev", "--yes"]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const [current] = w.aws.accessKeyIds("developer");
    const again = await client.callTool({
      name: "grant_access",
      arguments: { services: ["s3"], level: "read_only", ttl: "15m" },
    });
    const againText = (again.content as Array<{ text: string }>).map((c) => c.text).join("\n");
    w.outputs.push(againText);
    assert.notEqual(again.isError, true, againText);
    const assumes = w.aws.requests.filter((r) => r.action === "AssumeRole");
    assert.equal(assumes.at(-1)?.accessKeyId, current, "the rotated key signs");
  } finally {
    await client.close();
  }
  w.outputs.push(
    stderr,
    await Deno.readTextFile(`${w.home}/state/timebound-iam/audit.jsonl`).catch(() => ""),
  );
  assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey]);
});

Deno.test("doctor warns on plaintext keys with the import command, then names the vault", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[dev]\naws_access_key_id = ${user.accessKeyId}\naws_secret_access_key = ${user.secretAccessKey}\n`,
  );
  const doctor = async () => {
    const result = await w.run(["doctor", "--profile", "dev"]);
    const line = (label: string) => {
      const index = result.stdout.split("\n").findIndex((l) => l.slice(2).startsWith(label));
      return result.stdout.split("\n").slice(index, index + 2).join("\n");
    };
    return { result, line };
  };
  const before = await doctor();
  assert.match(
    before.line("plaintext keys"),
    /^! plaintext keys +long-lived keys in .*credentials \("dev"\): any process of yours can read and use them, unscoped\n +fix: timebound-iam keys import --profile dev$/,
  );
  assert.match(
    before.line("vault"),
    /^– vault +not in use; it would be .*vault \(from TIMEBOUND_IAM_VAULT_BACKEND\)/,
  );
  assert.match(
    before.line("base credentials"),
    /profile "dev" \(keys in the shared credentials file\)/,
  );

  assert.equal((await w.run(["keys", "import", "--profile", "dev", "--yes"])).code, 0);
  const after = await doctor();
  assert.match(
    after.line("plaintext keys"),
    /^✓ plaintext keys +none in ~\/\.aws\/credentials or the environment/,
  );
  assert.match(
    after.line("vault"),
    /^✓ vault +.*vault \(from TIMEBOUND_IAM_VAULT_BACKEND\); it holds the keys of profile "dev", which grants use/,
  );
  assert.match(
    after.line("base credentials"),
    /^✓ base credentials +profile "dev" \(keys in the timebound-iam vault\)/,
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("setup aws ends with a note naming keys import while the keys are in plain sight", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[default]\naws_access_key_id = ${user.accessKeyId}\naws_secret_access_key = ${user.secretAccessKey}\n`,
  );
  const result = await w.run(["setup", "aws", "--services", "s3"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /\nNote: the long-lived keys of profile "default" are still in .*credentials, readable by any process of yours; move them into the vault with: timebound-iam keys import --profile default\n$/,
  );
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("the config file's vaultBackend chooses the backend when the variable does not", async () => {
  await using w = await world({ env: { TIMEBOUND_IAM_VAULT_BACKEND: "" } });
  const config = `${w.home}/.config/timebound-iam`;
  await Deno.mkdir(config, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(`${config}/config.json`, '{"vaultBackend": "keychain"}');
  await Deno.chmod(`${config}/config.json`, 0o600);
  // No session bus here: the keychain the config file asks for cannot answer.
  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 1);
  assert.match(list.stderr, /^error: The OS keychain refused to list its items: /);
  const file = await w.run(["keys", "list", "--vault-backend", "file"]);
  assert.equal(file.code, 0, file.stderr);
  assert.match(file.stderr, /^No keys in the vault \(.*\/vault\)/);
});

Deno.test(
  `keys add on a terminal: nothing typed is echoed, then the passphrase is asked for a grant${
    ignoredBecause(scriptTool)
  }`,
  { ignore: !scriptTool.found },
  async () => {
    await using w = await world();
    const user = w.aws.defaultUser;
    const { TIMEBOUND_IAM_VAULT_PASSPHRASE: _, ...rest } = w.env;
    const env = { ...rest, HOME: w.home };
    const add = await answerPrompts(
      await spawnUnderTerminal(["keys", "add", "dev"], env),
      [
        { prompt: "AWS access key id: ", answer: user.accessKeyId },
        { prompt: "AWS secret access key: ", answer: user.secretAccessKey },
        { prompt: "New vault passphrase: ", answer: PASSPHRASE },
        { prompt: "Type it again: ", answer: PASSPHRASE },
      ],
    );
    assert.equal(add.code, 0, add.text);
    assert.match(add.text, /Stored AKIA…\S{4} for profile "dev"/);
    for (const typed of [user.accessKeyId, user.secretAccessKey, PASSPHRASE]) {
      assert.ok(!add.text.includes(typed), "something typed was echoed");
    }
    await Deno.remove(`${w.home}/.aws/credentials`);
    const grant = await answerPrompts(
      await spawnUnderTerminal(
        ["exec", "--profile", "dev", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
        env,
      ),
      [{ prompt: "Vault passphrase: ", answer: PASSPHRASE }],
    );
    assert.equal(grant.code, 0, grant.text);
    assert.ok(!grant.text.includes(PASSPHRASE));
    assert.equal(
      w.aws.requests.find((r) => r.action === "AssumeRole")?.accessKeyId,
      user.accessKeyId,
    );
  },
);

Deno.test(
  `Ctrl-D while the vault's passphrase is typed cancels, and nothing is asked of AWS${
    ignoredBecause(scriptTool)
  }`,
  { ignore: !scriptTool.found },
  async () => {
    await using w = await world();
    await addDevKeys(w);
    const { TIMEBOUND_IAM_VAULT_PASSPHRASE: _, ...rest } = w.env;
    const before = w.aws.requests.length;
    const grant = await answerPrompts(
      await spawnUnderTerminal(
        ["exec", "--profile", "dev", "--no-confirm", "-s", "s3:ro", "-t", "15m", "--", "true"],
        { ...rest, HOME: w.home },
      ),
      [{ prompt: "Vault passphrase: ", answer: `${PASSPHRASE.slice(0, 7)}\x04` }],
    );
    assert.equal(grant.code, 1, grant.text);
    assert.match(grant.text, /error: Cancelled: nothing was entered/);
    assert.equal(w.aws.requests.length, before);
  },
);

Deno.test("credential-process from vault keys caches its entry in the vault, not the cache directory", async () => {
  await using w = await world();
  await addDevKeys(w);
  const run = () =>
    runCli(["credential-process", "--profile", "dev", "-s", "s3:ro", "-t", "15m"], { env: w.env });
  const first = await run();
  assert.equal(first.code, 0, first.stderr);
  const second = await run();
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse(first.stdout).AccessKeyId, JSON.parse(second.stdout).AccessKeyId);
  assert.equal(w.aws.requests.filter((r) => r.action === "AssumeRole").length, 1, "cached");
  const cache = `${w.home}/.cache/timebound-iam`;
  assert.deepEqual(await filesHolding(cache, w.aws.issuedSecrets()), []);
  assert.deepEqual(await filesHolding(w.home, w.aws.issuedSecrets()), []);
});

Deno.test("the vault's passphrase never reaches a child that exec runs", async () => {
  await using w = await world();
  await addDevKeys(w);
  const seen = `${w.home}/child-env`;
  const grant = await w.run([
    "exec",
    "--profile",
    "dev",
    "--no-confirm",
    "-s",
    "s3:ro",
    "-t",
    "15m",
    "--",
    "sh",
    "-c",
    `env > '${seen}'`,
  ]);
  assert.equal(grant.code, 0, grant.stderr);
  const childEnv = await Deno.readTextFile(seen);
  assert.match(childEnv, /^AWS_SESSION_TOKEN=/m, "the child ran with the grant");
  assert.ok(!childEnv.includes(PASSPHRASE), "the passphrase reached the child's environment");
});

Deno.test("keys import refuses a profile with two key pairs, rather than give the older to another profile", async () => {
  await using w = await world();
  const dev = w.aws.addUser({ userName: "dev-user" });
  const credentials = `${w.home}/.aws/credentials`;
  // New keys pasted under old ones: the SDK reads the last pair.
  const text = "[prod]\nregion = us-east-1\n" +
    "[dev]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\n" +
    "aws_secret_access_key = oooooooooooooooooooooooooooooooooooooooo\n" +
    `aws_access_key_id = ${dev.accessKeyId}\naws_secret_access_key = ${dev.secretAccessKey}\n`;
  await Deno.writeTextFile(credentials, text);
  const result = await w.run(["keys", "import", "--profile", "dev", "--yes"]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^error: Profile "dev" sets more than one key pair in ".*credentials": the file was not changed\nhint: /m,
  );
  assert.equal(await Deno.readTextFile(credentials), text);
  assertNoSecrets(w, [dev.secretAccessKey]);
});

Deno.test("keys rotate: a rollback that cannot give the vault its old key keeps the new one working", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const keys = { AWS_ACCESS_KEY_ID: user.accessKeyId, AWS_SECRET_ACCESS_KEY: user.secretAccessKey };
  assert.equal((await w.run(["keys", "add", "dev", "--from-env"], keys)).code, 0);
  const vaultDir = `${w.home}/.local/share/timebound-iam`;
  const before = await Deno.readTextFile(`${vaultDir}/vault`);
  // The new key's check fails (not for its credentials), so rotate rolls back; meanwhile another
  // process holds the vault's lock, so the old key cannot be put back.
  w.aws.deny("GetCallerIdentity");
  const rotating = w.run(["keys", "rotate", "dev", "--yes"]);
  while (w.aws.accessKeyIds("developer").length < 2) await delay(20);
  w.aws.answerAfter(2000);
  while (await Deno.readTextFile(`${vaultDir}/vault`) === before) await delay(20);
  const lock = await Deno.open(`${vaultDir}/.vault.lock`, { read: true, write: true });
  await lock.lock(true);
  const result = await rotating;
  lock.close();
  w.aws.answerAfter(0);
  assert.equal(result.code, 1, result.stderr);
  const [, newKey] = w.aws.accessKeyIds("developer");
  assert.ok(newKey !== undefined, "the new key, which the vault holds, was not deleted");
  assert.match(
    result.stderr,
    new RegExp(`keeps the new key AKIA…${newKey.slice(-4)}, which was not deleted`),
  );
  const list = await w.run(["keys", "list"]);
  assert.match(list.stdout, new RegExp(`AKIA…${newKey.slice(-4)}`), "the vault holds a live key");
  assertNoSecrets(w, [user.secretAccessKey]);
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("keys add, import and list neutralise escape codes in STS's answer and the file", async () => {
  await using w = await world();
  // An endpoint (a proxy, AWS_ENDPOINT_URL_STS) that answers with escape codes in the ARN.
  const evil = w.aws.addUser({ userName: "dev\x1b]0;owned\x07\x1b[2J" });
  const keys = { AWS_ACCESS_KEY_ID: evil.accessKeyId, AWS_SECRET_ACCESS_KEY: evil.secretAccessKey };
  const added = await w.run(["keys", "add", "dev", "--from-env"], keys);
  assert.equal(added.code, 0, added.stderr);
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[other\x1b[2J]\naws_access_key_id = ${evil.accessKeyId}\n` +
      `aws_secret_access_key = ${evil.secretAccessKey}\n`,
  );
  const refused = await w.run(["keys", "import", "--all", "--yes"]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /^error: Invalid profile name "other\\u\{1b\}\[2J" in ".*credentials": nothing was changed\n/,
  );
  await Deno.writeTextFile(
    `${w.home}/.aws/credentials`,
    `[other] # \x1b]0;owned\x07\naws_access_key_id = ${evil.accessKeyId}\n` +
      `aws_secret_access_key = ${evil.secretAccessKey}\n`,
  );
  const imported = await w.run(["keys", "import", "--all", "--yes"]);
  assert.equal(imported.code, 0, imported.stderr);
  const list = await w.run(["keys", "list"]);
  assert.equal(list.code, 0, list.stderr);
  for (const output of [added.stderr, refused.stderr, imported.stderr, list.stdout, list.stderr]) {
    assert.ok(
      !output.includes("\x1b"),
      `an escape code reached the terminal: ${JSON.stringify(output)}`,
    );
  }
  assert.match(list.stdout, /user\/dev\\u\{1b\}\]0;owned/);
});

Deno.test("keys import refuses a credentials file with another hard link, which would keep the keys", async () => {
  await using w = await world();
  const credentials = `${w.home}/.aws/credentials`;
  const text = `[default]\naws_access_key_id = ${w.aws.defaultUser.accessKeyId}\n` +
    `aws_secret_access_key = ${w.aws.defaultUser.secretAccessKey}\n`;
  await Deno.writeTextFile(credentials, text);
  await Deno.link(credentials, `${w.home}/credentials.bak`);
  const result = await w.run(["keys", "import", "--yes"]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^error: ".*credentials" has 2 hard links: its keys would stay /m);
  assert.equal(await Deno.readTextFile(credentials), text);
  assertNoSecrets(w, [w.aws.defaultUser.secretAccessKey]);
});

Deno.test("doctor's fix for plaintext keys quotes a hostile profile name and shows no escape code", async () => {
  await using w = await world();
  const user = w.aws.defaultUser;
  const pair =
    `aws_access_key_id = ${user.accessKeyId}\naws_secret_access_key = ${user.secretAccessKey}\n`;
  const credentials = `${w.home}/.aws/credentials`;
  await Deno.writeTextFile(credentials, `[dev; touch pwned]\n${pair}`);
  const one = await w.run(["doctor"]);
  assert.match(one.stdout, /\n +fix: timebound-iam keys import --profile 'dev; touch pwned'\n/);
  await Deno.writeTextFile(credentials, `[dev\x1b[2J]\n${pair}[it's]\n${pair}`);
  const two = await w.run(["doctor"]);
  assert.ok(!two.stdout.includes("\x1b"), JSON.stringify(two.stdout));
  assert.match(two.stdout, /\("dev\\u\{1b\}\[2J", "it's"\)/);
  await Deno.writeTextFile(credentials, `[it's]\n${pair}`);
  const quoted = await w.run(["doctor"]);
  assert.match(quoted.stdout, /\n +fix: timebound-iam keys import --profile 'it'\\''s'\n/);
  assertNoSecrets(w, [user.secretAccessKey]);
});

Deno.test("keys add asks before it replaces an unreadable item, whose error's hint names keys add", async () => {
  await using w = await world();
  const keys = w.aws.defaultUser;
  const vault = await openVault({ env: { ...await baseEnv(w.home), ...w.env } });
  await vault.backend.set("keys/dev", "{}");
  const add = (...flags: string[]) =>
    w.run(["keys", "add", "dev", "--from-env", ...flags], {
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    });
  const listed = await w.run(["keys", "list"]);
  assert.match(listed.stderr + listed.stdout, /not readable|hint: store the keys again/);
  const refused = await add();
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^Profile "dev" holds an unreadable item in \S*vault; the new pair/);
  assert.match(refused.stderr, /error: Not replacing the stored keys: standard input is not a/);
  const replaced = await add("--yes");
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stderr, /\(replacing an unreadable item\): account /);
  const now = await w.run(["keys", "list"]);
  assert.match(now.stdout, new RegExp(`^dev +file +AKIA…${keys.accessKeyId.slice(-4)} `, "m"));
  assertNoSecrets(w, [keys.secretAccessKey]);
});
