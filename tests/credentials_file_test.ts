// keys import's reading of ~/.aws/credentials: which lines hold a profile's keys, and the file
// without them. Hostile or messy files must never lose a byte that is not a key line, nor move a
// key under another profile, nor leave a copy of the keys behind.
import assert from "node:assert/strict";
import { findFileKeys, readCredentialsFile, withoutLines } from "../lib/keys/credentials_file.ts";
import { tempDir } from "./support/fixture.ts";

const ID_A = "AKIAAAAAAAAAAAAAAAAA";
const ID_B = "AKIABBBBBBBBBBBBBBBB";
const SECRET_A = "a".repeat(40);
const SECRET_B = "b".repeat(40);

Deno.test("a key pair pasted under an older one in the same profile is not half-removed", () => {
  const text = "[prod]\nregion = us-east-1\n" +
    `[dev]\naws_access_key_id = ${ID_A}\naws_secret_access_key = ${SECRET_A}\n` +
    `aws_access_key_id = ${ID_B}\naws_secret_access_key = ${SECRET_B}\n`;
  const [dev] = findFileKeys(text).filter((keys) => keys.profile === "dev");
  // The AWS SDK reads the last pair; the first would stay in the file, and with [dev] gone it
  // would become prod's keys. Two different pairs: import must refuse to guess.
  assert.equal(dev.accessKeyId, ID_B);
  assert.equal(dev.ambiguous, true);
});

Deno.test("the same keys set twice, or a profile split in two sections: every copy goes", () => {
  const text = `[dev]\naws_access_key_id = ${ID_A}\naws_secret_access_key = ${SECRET_A}\n` +
    "[other]\nregion = eu-west-1\n" +
    `[dev]\naws_access_key_id = ${ID_A}\naws_secret_access_key = ${SECRET_A}\nregion = x\n`;
  const found = findFileKeys(text);
  assert.deepEqual(found.map((keys) => keys.profile), ["dev"], "one entry per profile");
  const [dev] = found;
  assert.equal(dev.ambiguous, false);
  const after = withoutLines(text, dev.lines);
  assert.equal(after, "[other]\nregion = eu-west-1\n[dev]\nregion = x\n");
  assert.ok(!after.includes(SECRET_A));
});

Deno.test("keys split across two sections of one profile are found as the SDK reads them", () => {
  const text = `[dev]\naws_access_key_id = ${ID_A}\n[dev]\naws_secret_access_key = ${SECRET_A}\n`;
  const [dev] = findFileKeys(text);
  assert.deepEqual([dev.accessKeyId, dev.secretAccessKey, dev.ambiguous], [ID_A, SECRET_A, false]);
  assert.equal(withoutLines(text, dev.lines), "");
});

Deno.test("a session token in either section of a profile marks its keys temporary", () => {
  const text = `[dev]\naws_access_key_id = ${ID_A}\naws_secret_access_key = ${SECRET_A}\n` +
    "[dev]\naws_session_token = t\n";
  const [dev] = findFileKeys(text);
  assert.equal(dev.hasSessionToken, true);
});

Deno.test(
  "a credentials file that is a link to a device is refused at once, not read forever",
  { ignore: Deno.build.os === "windows" },
  async () => {
    await using dir = await tempDir();
    const link = `${dir.path}/credentials`;
    await Deno.symlink("/dev/zero", link);
    const started = Date.now();
    await assert.rejects(
      () => readCredentialsFile(link),
      (error: Error) =>
        /^The credentials file ".*credentials" is not a regular file$/.test(error.message),
    );
    assert.ok(Date.now() - started < 1000);
    assert.equal(await readCredentialsFile(`${dir.path}/none`), undefined);
  },
);
