// The vault file's sealed format as a reader of the file (or an attacker who can write it) meets
// it: its documented layout, a fresh salt and IV each time, the passphrase asked only for an
// undamaged file with bounded scrypt parameters, and a key the process already holds reused.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import {
  DEFAULT_COST,
  deriveSealKey,
  openSealed,
  type ScryptCost,
  sealText,
} from "../lib/vault/sealed_box.ts";

const CHEAP: ScryptCost = { logN: 10, r: 8, p: 1 };
const answer = (text: string) => () => Promise.resolve(text);
const never = () => Promise.reject(new Error("the passphrase was asked"));

/** The file's bytes, with the layout the module documents. */
function layout(sealed: string) {
  const bytes = Buffer.from(sealed.trim(), "base64");
  const body = bytes.subarray(0, bytes.length - 32);
  return {
    bytes,
    magic: bytes.subarray(0, 8).toString("latin1"),
    cost: { logN: bytes[8], r: bytes[9], p: bytes[10] },
    salt: bytes.subarray(11, 27),
    check: bytes.subarray(27, 43),
    iv: bytes.subarray(43, 55),
    ciphertext: bytes.subarray(55, body.length - 16),
    sum: bytes.subarray(bytes.length - 32),
    body,
  };
}

/** `sealed` with its header bytes changed and its checksum made right again. */
function forge(sealed: string, change: (body: Uint8Array) => void): string {
  const { body } = layout(sealed);
  const copy = new Uint8Array(body);
  change(copy);
  const sum = createHash("sha256").update(copy).digest();
  return `${Buffer.concat([copy, sum]).toString("base64")}\n`;
}

Deno.test("a sealed text is one line of base64 in the documented layout", () => {
  const key = deriveSealKey("correct horse", { cost: CHEAP });
  const text = "päss: 🔑";
  const sealed = sealText(text, key);
  assert.match(sealed, /^[A-Za-z0-9+/]+={0,2}\n$/);
  const file = layout(sealed);
  assert.equal(file.magic, "TBIVLT01");
  assert.deepEqual(file.cost, CHEAP);
  assert.deepEqual(new Uint8Array(file.salt), key.salt);
  assert.deepEqual(new Uint8Array(file.check), key.check);
  assert.equal(file.ciphertext.length, new TextEncoder().encode(text).length);
  assert.ok(!file.bytes.includes(Buffer.from("päss")), "the text is not in clear");
  assert.deepEqual(file.sum, createHash("sha256").update(file.body).digest());
});

Deno.test("each key has a fresh 16-byte salt, each seal a fresh IV", () => {
  const a = deriveSealKey("pass", { cost: CHEAP });
  const b = deriveSealKey("pass", { cost: CHEAP });
  assert.equal(a.salt.length, 16);
  assert.equal(a.check.length, 16);
  assert.equal(a.aes.length, 32);
  assert.notDeepEqual(a.salt, b.salt);
  assert.notDeepEqual(a.aes, b.aes);
  const again = deriveSealKey("pass", { salt: a.salt, cost: CHEAP });
  assert.deepEqual(again.aes, a.aes);
  assert.deepEqual(again.check, a.check);
  assert.notDeepEqual(deriveSealKey("pasS", { salt: a.salt, cost: CHEAP }).check, a.check);
  assert.notDeepEqual(layout(sealText("x", a)).iv, layout(sealText("x", a)).iv);
});

Deno.test("a new key costs scrypt N = 2^15, r = 8, p = 1", () => {
  assert.deepEqual(DEFAULT_COST, { logN: 15, r: 8, p: 1 });
  const key = deriveSealKey("pass");
  assert.deepEqual(key.cost, { logN: 15, r: 8, p: 1 });
  assert.deepEqual(layout(sealText("x", key)).cost, { logN: 15, r: 8, p: 1 });
});

Deno.test("a passphrase opens whatever Unicode form it is typed in", async () => {
  const sealed = sealText("secret", deriveSealKey("caf\u00e9", { cost: CHEAP }));
  const opened = await openSealed(sealed, answer("cafe\u0301"));
  assert.ok(opened.ok);
  assert.equal(opened.text, "secret");
});

Deno.test("the text and the key come back; surrounding whitespace is no damage", async () => {
  const key = deriveSealKey("pass", { cost: CHEAP });
  const text = '{"items":{"a":"ü"}}';
  const opened = await openSealed(`  ${sealText(text, key)}\n\n`, answer("pass"));
  assert.ok(opened.ok);
  assert.equal(opened.text, text);
  assert.deepEqual(opened.key.aes, key.aes);
  assert.deepEqual(opened.key.salt, key.salt);
  assert.deepEqual(opened.key.cost, CHEAP);
  assert.deepEqual(await openSealed(sealText("", key), answer("pass")), {
    ok: true,
    text: "",
    key: opened.key,
  });
});

Deno.test("a key the process holds opens its own file without asking; another file asks", async () => {
  const key = deriveSealKey("pass", { cost: CHEAP });
  const mine = await openSealed(sealText("mine", key), never, key);
  assert.ok(mine.ok);
  assert.equal(mine.text, "mine");
  assert.equal(mine.key, key);
  const other = sealText("other", deriveSealKey("pass", { cost: CHEAP }));
  let asked = 0;
  const opened = await openSealed(other, () => {
    asked++;
    return Promise.resolve("pass");
  }, key);
  assert.ok(opened.ok);
  assert.equal(asked, 1);
  assert.notEqual(opened.key, key);
  // The same salt under another cost is another key too.
  const recost = { ...CHEAP, r: 9 };
  const sameSalt = sealText("x", deriveSealKey("pass", { salt: key.salt, cost: recost }));
  await assert.rejects(openSealed(sameSalt, never, key), /the passphrase was asked/);
  for (const cost of [{ ...CHEAP, logN: 11 }, { ...CHEAP, p: 2 }]) {
    const sealed = sealText("x", deriveSealKey("pass", { salt: key.salt, cost }));
    await assert.rejects(openSealed(sealed, never, key), /the passphrase was asked/);
  }
});

Deno.test("what is not the format is damaged, and the passphrase is not asked", async (t) => {
  const sealed = sealText("x", deriveSealKey("pass", { cost: CHEAP }));
  const cases: Array<[string, string]> = [
    ["empty", ""],
    ["not base64", "not base64!"],
    ["base64 with a line break inside", sealed.slice(0, 20) + "\n" + sealed.slice(20)],
    ["too much padding", sealed.trim() + "==="],
    ["trailing bits set (not canonical)", `${sealed.trim().slice(0, -2)}B=`],
    [
      "too short for the header, tag and checksum",
      Buffer.alloc(8 + 3 + 16 + 16 + 12 + 16 + 31).toString("base64"),
    ],
    ["another magic", forge(sealed, (body) => body[7] = 0x32)],
    ["cut short", sealed.trim().slice(0, -8)],
  ];
  for (const [name, text] of cases) {
    await t.step(name, async () => {
      assert.deepEqual(await openSealed(text, never), { ok: false, failure: "damaged" });
    });
  }
  await t.step("the shortest well-formed file (no text) opens", async () => {
    const empty = sealText("", deriveSealKey("pass", { cost: CHEAP }));
    assert.equal(layout(empty).bytes.length, 8 + 3 + 16 + 16 + 12 + 16 + 32);
    assert.ok((await openSealed(empty, answer("pass"))).ok);
  });
});

Deno.test("scrypt parameters outside the bounds are damage; at the bounds the passphrase is asked", async (t) => {
  const sealed = sealText("x", deriveSealKey("pass", { cost: CHEAP }));
  const withCost = (cost: ScryptCost) =>
    forge(sealed, (body) => body.set([cost.logN, cost.r, cost.p], 8));
  const refused: ScryptCost[] = [
    { logN: 9, r: 8, p: 1 },
    { logN: 21, r: 1, p: 1 },
    { logN: 10, r: 0, p: 1 },
    { logN: 10, r: 33, p: 1 },
    { logN: 10, r: 8, p: 0 },
    { logN: 10, r: 8, p: 5 },
    { logN: 18, r: 8, p: 1 }, // 256 MiB
    { logN: 20, r: 2, p: 1 }, // 256 MiB
  ];
  for (const cost of refused) {
    await t.step(`refused: ${JSON.stringify(cost)}`, async () => {
      assert.deepEqual(await openSealed(withCost(cost), never), { ok: false, failure: "damaged" });
    });
  }
  const allowed: ScryptCost[] = [
    { logN: 10, r: 1, p: 1 },
    { logN: 10, r: 32, p: 4 },
    { logN: 17, r: 8, p: 1 }, // 128 MiB exactly
    { logN: 20, r: 1, p: 4 }, // 128 MiB exactly
  ];
  for (const cost of allowed) {
    await t.step(`asked: ${JSON.stringify(cost)}`, async () => {
      await assert.rejects(openSealed(withCost(cost), never), /the passphrase was asked/);
    });
  }
});

Deno.test("a wrong passphrase is told apart before any decryption; a forged body is altered", async () => {
  const key = deriveSealKey("pass", { cost: CHEAP });
  const sealed = sealText("payload", key);
  assert.deepEqual(await openSealed(sealed, answer("Pass")), {
    ok: false,
    failure: "wrong-passphrase",
  });
  // A changed IV or tag is caught by the authenticated decryption, a changed check as a wrong passphrase.
  const iv = forge(sealed, (body) => body[43] ^= 1);
  assert.deepEqual(await openSealed(iv, answer("pass")), { ok: false, failure: "altered" });
  const tag = forge(sealed, (body) => body[body.length - 1] ^= 1);
  assert.deepEqual(await openSealed(tag, answer("pass")), { ok: false, failure: "altered" });
  const check = forge(sealed, (body) => body[27] ^= 1);
  assert.deepEqual(await openSealed(check, answer("pass")), {
    ok: false,
    failure: "wrong-passphrase",
  });
});

Deno.test("a file written by this version opens in later ones (the format is pinned)", async () => {
  // Sealed once with salt 00…0f, N = 2^10, r = 8, p = 1: what a user's vault file holds.
  const file =
    "VEJJVkxUMDEKCAEAAQIDBAUGBwgJCgsMDQ4PkZITRiB8/8nOlySbTflefD5Pj3+XgTiQt+2dPDFu1S6ZV5WHL8cshC+" +
    "ql2rK7WOViivcY6+H7QTeIQqyotuZSYYMvQ1QuTW85Ozq/UW0jGCRRLjOFROKo3W0pw==\n";
  const opened = await openSealed(file, answer("correct horse"));
  assert.ok(opened.ok);
  assert.equal(opened.text, '{"profiles":{}}');
  assert.deepEqual(opened.key.salt, new Uint8Array(16).map((_, i) => i));
  assert.deepEqual(await openSealed(file, answer("correct horsE")), {
    ok: false,
    failure: "wrong-passphrase",
  });
});

Deno.test("a file shorter than the format, or not in canonical base64, is damaged", async (t) => {
  await t.step("magic and parameters with a right checksum, but nothing more", async () => {
    const body = Buffer.concat([
      Buffer.from("TBIVLT01"),
      Buffer.from([10, 8, 1]),
      Buffer.alloc(40),
    ]);
    const sum = createHash("sha256").update(body).digest();
    const short = Buffer.concat([body, sum]).toString("base64");
    assert.deepEqual(await openSealed(short, never), { ok: false, failure: "damaged" });
  });
  await t.step("the same bytes with the unused bits of the last character set", async () => {
    const sealed = sealText("xyz", deriveSealKey("pass", { cost: CHEAP })).trim();
    assert.match(sealed, /==$/);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const last = alphabet.indexOf(sealed[sealed.length - 3]);
    const other = `${sealed.slice(0, -3)}${alphabet[last ^ 1]}==`;
    assert.deepEqual(Buffer.from(other, "base64"), Buffer.from(sealed, "base64"));
    assert.deepEqual(await openSealed(other, never), { ok: false, failure: "damaged" });
    assert.ok((await openSealed(sealed, answer("pass"))).ok);
  });
});
