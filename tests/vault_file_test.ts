import assert from "node:assert/strict";
import { deriveSealKey, openSealed, sealText } from "../lib/vault/sealed_box.ts";
import { openEncryptedFile } from "../lib/vault/encrypted_file.ts";
import { RuntimeError } from "../lib/core/errors.ts";
import { openVaultCache } from "../lib/vault/vault_cache.ts";
import { passphraseSource } from "../lib/vault/vault.ts";
import { chooseBackend } from "../lib/vault/backend.ts";
import { tempDir } from "./support/fixture.ts";

const CHEAP = { logN: 10, r: 8, p: 1 };
const answer = (text: string) => () => Promise.resolve(text);

Deno.test("openSealed() refuses every single flipped byte before asking the passphrase", async () => {
  const sealed = sealText('{"secret":"s3cret"}', deriveSealKey("correct horse", { cost: CHEAP }));
  const chars = sealed.trim();
  let asked = 0;
  // Every position: a different base64 letter there changes the bytes; the checksum catches it.
  for (let i = 0; i < chars.length; i += 7) {
    const other = chars[i] === "A" ? "B" : "A";
    const flipped = chars.slice(0, i) + other + chars.slice(i + 1);
    const result = await openSealed(flipped, () => {
      asked++;
      return Promise.resolve("correct horse");
    });
    assert.equal(result.ok, false, `byte ${i}`);
  }
  assert.equal(asked, 0, "the passphrase is never used on a damaged file");
});

Deno.test("openSealed() tells a wrong passphrase from a file altered behind its checksum", async () => {
  const { createHash } = await import("node:crypto");
  const key = deriveSealKey("correct horse", { cost: CHEAP });
  const sealed = sealText("payload", key);
  assert.deepEqual(await openSealed(sealed, answer("wrong")), {
    ok: false,
    failure: "wrong-passphrase",
  });
  // An attacker who flips a ciphertext byte and recomputes the plain checksum.
  const bytes = new Uint8Array(atob(sealed.trim()).split("").map((c) => c.charCodeAt(0)));
  const body = bytes.slice(0, bytes.length - 32);
  body[body.length - 20] ^= 1;
  const sum = createHash("sha256").update(body).digest();
  const forged = btoa(String.fromCharCode(...body, ...sum));
  assert.deepEqual(await openSealed(forged, answer("correct horse")), {
    ok: false,
    failure: "altered",
  });
  const opened = await openSealed(sealed, answer("correct horse"));
  assert.ok(opened.ok);
  assert.equal(opened.text, "payload");
});

Deno.test("openSealed() refuses scrypt parameters beyond its bounds as damaged, at once", async () => {
  const { createHash } = await import("node:crypto");
  const sealed = sealText("payload", deriveSealKey("correct horse", { cost: CHEAP }));
  // logN, r, p as a crafted file may set them, checksum recomputed: each would need 1 GiB or more.
  for (const [logN, r, p] of [[20, 32, 4], [20, 8, 1], [18, 32, 1]]) {
    const bytes = new Uint8Array(atob(sealed.trim()).split("").map((c) => c.charCodeAt(0)));
    const body = bytes.slice(0, bytes.length - 32);
    body.set([logN, r, p], 8);
    const sum = createHash("sha256").update(body).digest();
    const forged = btoa(String.fromCharCode(...body, ...sum));
    let asked = false;
    const result = await openSealed(forged, () => {
      asked = true;
      return Promise.resolve("correct horse");
    });
    assert.deepEqual(result, { ok: false, failure: "damaged" }, `${logN} ${r} ${p}`);
    assert.equal(asked, false);
  }
});

Deno.test("the encrypted file: 0600 in a 0700 directory, items kept, secrets not in clear", async () => {
  await using tmp = await tempDir("tbi-vault-");
  const dir = tmp.path;
  let asked: string[] = [];
  const askPassphrase = (purpose: "open" | "create") => {
    asked.push(purpose);
    return Promise.resolve("a long passphrase");
  };
  const file = openEncryptedFile({ env: {}, dir: `${dir}/v`, askPassphrase });
  assert.equal(await file.get("keys/dev"), undefined);
  assert.deepEqual(asked, [], "nothing asked while there is no file");
  await file.set("keys/dev", "SECRET-VALUE-1");
  await file.set("keys/prod", "SECRET-VALUE-2");
  assert.deepEqual(asked, ["create"]);
  assert.equal((await Deno.stat(`${dir}/v`)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(`${dir}/v/vault`)).mode! & 0o777, 0o600);
  const raw = await Deno.readTextFile(`${dir}/v/vault`);
  assert.ok(!raw.includes("SECRET-VALUE") && !raw.includes("keys/dev"));

  asked = [];
  const again = openEncryptedFile({ env: {}, dir: `${dir}/v`, askPassphrase });
  assert.deepEqual(await again.list("keys/"), ["keys/dev", "keys/prod"]);
  assert.equal(await again.get("keys/prod"), "SECRET-VALUE-2");
  assert.equal(await again.delete("keys/prod"), true);
  assert.equal(await again.delete("keys/prod"), false);
  assert.deepEqual(asked, ["open"], "asked once per process");
});

Deno.test("the encrypted file: a wrong passphrase or a flipped byte is refused, the file unchanged", async () => {
  await using tmp = await tempDir("tbi-vault-");
  const dir = tmp.path;
  const right = () => Promise.resolve("a long passphrase");
  await openEncryptedFile({ env: {}, dir, askPassphrase: right }).set("keys/dev", "v");
  const before = await Deno.readFile(`${dir}/vault`);

  const wrong = openEncryptedFile({ env: {}, dir, askPassphrase: answer("not the one") });
  await assert.rejects(() => wrong.get("keys/dev"), (error: unknown) => {
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /^Wrong passphrase for the vault file ".*vault"$/);
    return true;
  });
  await assert.rejects(() => wrong.set("keys/x", "y"), /Wrong passphrase/);
  assert.deepEqual(await Deno.readFile(`${dir}/vault`), before);

  const tampered = before.slice();
  tampered[40] = tampered[40] === 65 ? 66 : 65;
  await Deno.writeFile(`${dir}/vault`, tampered);
  let asked = false;
  const file = openEncryptedFile({
    env: {},
    dir,
    askPassphrase: () => {
      asked = true;
      return right();
    },
  });
  await assert.rejects(
    () => file.get("keys/dev"),
    /is damaged or was altered: refusing to read it/,
  );
  assert.equal(asked, false);
});

Deno.test("the vault cache store keeps entries as vault items and forgets expired ones", async () => {
  const items = new Map<string, string>();
  const backend = {
    kind: "file" as const,
    location: "memory",
    get: (name: string) => Promise.resolve(items.get(name)),
    set: (name: string, value: string) => Promise.resolve(void items.set(name, value)),
    delete: (name: string) => Promise.resolve(items.delete(name)),
    list: (prefix: string) =>
      Promise.resolve([...items.keys()].filter((name) => name.startsWith(prefix)).sort()),
  };
  let now = new Date("2026-01-01T00:00:00Z");
  const store = openVaultCache<{ token: string }>(backend, "mfa-sessions", {
    locks: { lock: () => Promise.resolve(() => {}) },
    now: () => now,
  });
  await store.put("dev\nserial", { token: "T" }, new Date("2026-01-01T01:00:00Z"));
  assert.deepEqual((await store.get("dev\nserial"))?.value, { token: "T" });
  assert.deepEqual((await store.list()).map((l) => l.key), ["dev\nserial"]);
  assert.match([...items.keys()][0], /^cache\/mfa-sessions\/[0-9a-f]{64}$/);
  now = new Date("2026-01-01T02:00:00Z");
  assert.equal(await store.get("dev\nserial"), undefined);
  assert.equal(items.size, 0);
});

Deno.test("the backend: flag, then TIMEBOUND_IAM_VAULT_BACKEND, then the config file", () => {
  const env = { TIMEBOUND_IAM_VAULT_BACKEND: "file" };
  assert.deepEqual(chooseBackend({ env, flag: "keychain" }), {
    kind: "keychain",
    by: "--vault-backend",
  });
  assert.deepEqual(chooseBackend({ env, config: "keychain" }), {
    kind: "file",
    by: "TIMEBOUND_IAM_VAULT_BACKEND",
  });
  assert.deepEqual(chooseBackend({ env: {}, config: "keychain" }), {
    kind: "keychain",
    by: "the config file",
  });
  assert.deepEqual(chooseBackend({ env: {} }), { by: "default" });
  assert.throws(
    () => chooseBackend({ env: {}, flag: "kwallet" }),
    /^UsageError: Invalid --vault-backend "kwallet": use keychain or file$/,
  );
});

Deno.test("the passphrase: from the variable, else the terminal twice for a new file", async () => {
  const fromEnv = passphraseSource({ env: { TIMEBOUND_IAM_VAULT_PASSPHRASE: "from the env" } });
  assert.equal(await fromEnv("open"), "from the env");
  const short = passphraseSource({ env: { TIMEBOUND_IAM_VAULT_PASSPHRASE: "short" } });
  await assert.rejects(() => short("create"), /too short: use at least 8 characters/);
  const none = passphraseSource({ env: {} });
  await assert.rejects(() => none("open"), /there is no terminal to ask it on/);
  const typed = ["first passphrase", "second passphrase"];
  const differ = passphraseSource({ env: {}, readSecret: () => Promise.resolve(typed.shift()!) });
  await assert.rejects(() => differ("create"), /The two passphrases differ: nothing was stored/);
});
