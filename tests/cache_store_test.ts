/**
 * The cache store: entries that expire, private files in private directories, nothing followed.
 */

import assert from "node:assert/strict";
import { cacheDirectory, openCacheStore } from "../lib/core/cache_store.ts";
import { RuntimeError } from "../lib/core/errors.ts";

const posix = Deno.build.os !== "windows";

async function tempCache(): Promise<string> {
  const base = await Deno.makeTempDir({ prefix: "cache-store-test-" });
  return `${base}/cache/timebound-iam`;
}

function clockAt(start: Date): { now: () => Date; advance: (ms: number) => void } {
  let time = start.getTime();
  return { now: () => new Date(time), advance: (ms) => (time += ms) };
}

Deno.test("cacheDirectory() follows XDG_CACHE_HOME, then the platform's cache directory", async (t) => {
  const cases: Array<[string, Record<string, string>, string, string]> = [
    ["XDG_CACHE_HOME", { XDG_CACHE_HOME: "/c", HOME: "/h" }, "linux", "/c/timebound-iam"],
    [
      "a relative XDG_CACHE_HOME is ignored",
      { XDG_CACHE_HOME: "c", HOME: "/h" },
      "linux",
      "/h/.cache/timebound-iam",
    ],
    ["~/.cache on Linux", { HOME: "/h" }, "linux", "/h/.cache/timebound-iam"],
    [
      "~/Library/Caches on macOS",
      { HOME: "/Users/me" },
      "darwin",
      "/Users/me/Library/Caches/timebound-iam",
    ],
    [
      "%LOCALAPPDATA% on Windows",
      { LOCALAPPDATA: "C:\\Users\\me\\AppData\\Local", USERPROFILE: "C:\\Users\\me" },
      "windows",
      "C:\\Users\\me\\AppData\\Local\\timebound-iam",
    ],
  ];
  for (const [name, env, os, expected] of cases) {
    await t.step(name, () => assert.deepEqual(cacheDirectory(env, { os }), expected));
  }
  await t.step("no HOME is one clear error", () => {
    assert.throws(
      () => cacheDirectory({}, { os: "linux" }),
      new RuntimeError("Cannot find the cache directory: neither HOME nor XDG_CACHE_HOME is set", {
        hint: "set XDG_CACHE_HOME to an absolute path",
      }),
    );
  });
});

Deno.test("a cache store puts, gets, lists and deletes entries", async () => {
  const dir = await tempCache();
  const clock = clockAt(new Date("2030-01-01T00:00:00Z"));
  const store = openCacheStore<{ token: string }>("test-entries", { env: {}, dir, now: clock.now });
  assert.deepEqual(await store.get("profile default"), undefined);
  assert.deepEqual(await store.list(), []);
  const expiresAt = new Date("2030-01-01T12:00:00Z");
  await store.put("profile default", { token: "secret-1" }, expiresAt);
  await store.put("profile prod", { token: "secret-2" }, new Date("2030-01-01T01:00:00Z"));
  assert.deepEqual(await store.get("profile default"), { value: { token: "secret-1" }, expiresAt });
  assert.deepEqual((await store.list()).map((l) => l.key), ["profile default", "profile prod"]);
  assert.deepEqual(
    JSON.stringify(await store.list()).includes("secret"),
    false,
    "list() never shows values",
  );
  await store.put("profile default", { token: "secret-3" }, expiresAt);
  assert.deepEqual((await store.get("profile default"))?.value.token, "secret-3");
  assert.deepEqual(await store.delete("profile default"), true);
  assert.deepEqual(await store.delete("profile default"), false);
  assert.deepEqual(await store.get("profile default"), undefined);
  assert.deepEqual((await store.list()).map((l) => l.key), ["profile prod"]);
});

Deno.test("an entry's file is named by the SHA-256 of its key in UTF-8, as earlier versions named it", async () => {
  const dir = await tempCache();
  const store = openCacheStore<number>("test-names", { env: {}, dir });
  const key = "profile prod-é ✓ arn:aws:iam::123456789012:mfa/zoë";
  await store.put(key, 1, new Date(Date.now() + 60_000));
  // The oracle: Web Crypto over the key's UTF-8 bytes (what the file names were before).
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  const hex = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
  const names = [];
  for await (const entry of Deno.readDir(`${dir}/test-names`)) names.push(entry.name);
  assert.deepEqual(names, [`${hex}.json`]);
  assert.equal((await store.get(key))?.value, 1);
});

Deno.test("a cache store's lock is held until released; a waiter gets it then, or gives up after its wait", async () => {
  const dir = await tempCache();
  const store = openCacheStore<number>("test-lock", { env: {}, dir });
  const events: string[] = [];
  const releaseFirst = await store.lock("k", 10_000);
  const second = store.lock("k", 10_000).then((release) => {
    events.push("second locked");
    return release;
  });
  // Another key's lock is another file: not blocked.
  (await store.lock("other", 0))();
  // A waiter that will not wait long goes on without the lock, while the first still holds it.
  const releaseImpatient = await store.lock("k", 50);
  events.push("impatient gave up");
  await new Promise((resolve) => setTimeout(resolve, 100));
  events.push("first releases");
  releaseFirst();
  const releaseSecond = await second;
  assert.deepEqual(events, ["impatient gave up", "first releases", "second locked"]);
  // The lock is the second's now: the first cannot take it back.
  let third = false;
  const thirdRelease = store.lock("k", 10_000).then((release) => {
    third = true;
    return release;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(third, false);
  releaseSecond();
  (await thirdRelease)();
  releaseImpatient();
  assert.deepEqual(await store.list(), [], "lock files are not entries");
  if (posix) {
    for await (const entry of Deno.readDir(`${dir}/test-lock`)) {
      assert.match(entry.name, /^\.[0-9a-f]{64}\.lock$/);
      assert.equal((await Deno.stat(`${dir}/test-lock/${entry.name}`)).mode! & 0o777, 0o600);
    }
  }
});

Deno.test("a cache store forgets an entry once it expires, and removes its file", async () => {
  const dir = await tempCache();
  const clock = clockAt(new Date("2030-01-01T00:00:00Z"));
  const store = openCacheStore<number>("test-expiry", { env: {}, dir, now: clock.now });
  await store.put("a", 1, new Date("2030-01-01T00:10:00Z"));
  await store.put("b", 2, new Date("2030-01-01T00:20:00Z"));
  clock.advance(10 * 60_000);
  assert.deepEqual(await store.get("a"), undefined);
  assert.deepEqual((await store.list()).map((l) => l.key), ["b"]);
  assert.deepEqual([...Deno.readDirSync(`${dir}/test-expiry`)].length, 1);
});

Deno.test("a cache store treats a value that fails its check as missing", async () => {
  const dir = await tempCache();
  const loose = openCacheStore<unknown>("test-check", { env: {}, dir });
  await loose.put("k", { wrong: true }, new Date(Date.now() + 60_000));
  const strict = openCacheStore<{ token: string }>("test-check", {
    env: {},
    dir,
    isValue: (v): v is { token: string } => typeof (v as { token?: unknown })?.token === "string",
  });
  assert.deepEqual(await strict.get("k"), undefined);
  assert.deepEqual(await strict.list(), []);
});

Deno.test({
  name:
    "a cache store keeps its files 0600 in 0700 directories, and refuses a directory others can write",
  ignore: !posix,
  async fn() {
    const dir = await tempCache();
    const store = openCacheStore<string>("test-modes", { env: {}, dir });
    await store.put("k", "v", new Date(Date.now() + 60_000));
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${dir}/test-modes`)).mode! & 0o777, 0o700);
    const files = [...Deno.readDirSync(`${dir}/test-modes`)];
    assert.equal(files.length, 1);
    assert.equal((await Deno.stat(`${dir}/test-modes/${files[0].name}`)).mode! & 0o777, 0o600);
    await Deno.chmod(`${dir}/test-modes`, 0o777);
    await assert.rejects(
      () => store.get("k"),
      (error: Error) =>
        error instanceof RuntimeError &&
        error.message === `Directory "${dir}/test-modes" is writable by other users (mode 0777)`,
    );
  },
});

Deno.test({
  name: "a cache store refuses a symlinked directory and a symlink in place of an entry",
  ignore: !posix,
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "cache-store-test-" });
    const elsewhere = `${base}/elsewhere`;
    await Deno.mkdir(elsewhere, { mode: 0o700 });
    await Deno.symlink(elsewhere, `${base}/timebound-iam`);
    const linked = openCacheStore<string>("test-links", { env: {}, dir: `${base}/timebound-iam` });
    await assert.rejects(
      () => linked.put("k", "v", new Date(Date.now() + 60_000)),
      (error: Error) =>
        error instanceof RuntimeError &&
        error.message ===
          `"${base}/timebound-iam" is a symbolic link, not a directory: refusing to follow it`,
    );
    assert.deepEqual([...Deno.readDirSync(elsewhere)], []);

    const dir = await tempCache();
    const store = openCacheStore<string>("test-links", { env: {}, dir });
    await store.put("k", "v", new Date(Date.now() + 60_000));
    const [file] = [...Deno.readDirSync(`${dir}/test-links`)];
    const path = `${dir}/test-links/${file.name}`;
    const target = `${base}/target.json`;
    await Deno.writeTextFile(target, await Deno.readTextFile(path), { mode: 0o600 });
    await Deno.remove(path);
    await Deno.symlink(target, path);
    await assert.rejects(() => store.get("k"), RuntimeError);
    assert.ok((await Deno.stat(target)).isFile, "the symlink's target is left alone");
  },
});
