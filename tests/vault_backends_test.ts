// The vault's backends end to end: the encrypted file and its passphrase, a real Secret Service
// (GNOME Keyring in a private D-Bus session), and the config file's choice between them
// (tests/support/vault_world.ts).
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { secretServiceTool, startSecretService } from "./support/secret_service.ts";
import { ignoredBecause } from "./support/system_tool.ts";
import { assertNoSecrets, filesHolding, world } from "./support/vault_world.ts";

const secretService = await secretServiceTool();

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
