/**
 * The encrypted file's format: sealing a text under a passphrase and opening it again, with
 * nothing but `node:crypto` (scrypt, AES-256-GCM, HMAC, SHA-256). Pure: no file, no prompt.
 *
 * The file is one line of base64 of:
 *
 * ```
 * magic "TBIVLT01" | logN r p (1 byte each) | salt (16) | check (16) | iv (12) | ciphertext | tag (16) | sha256 (32)
 * ```
 *
 * - scrypt(passphrase, salt, N = 2^logN, r, p) gives 64 bytes: the AES key, and a key whose HMAC
 *   of a fixed text is `check`, so a wrong passphrase is told apart from an altered file;
 * - AES-256-GCM authenticates the ciphertext and, as additional data, everything before it
 *   (magic, parameters, salt, check, iv): a byte changed anywhere is refused;
 * - the trailing SHA-256 of all the rest catches any damage (a flipped byte, a truncated copy)
 *   before the passphrase is even used, so a damaged file is never decrypted nor parsed.
 *
 * The scrypt parameters read from a file are bounded (at most 128 MiB and p = 4), so a crafted
 * file cannot make the derivation take minutes or gigabytes, nor fail inside `node:crypto`.
 *
 * @module
 */

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  scryptSync,
  timingSafeEqual,
} from "node:crypto";
import { Buffer } from "node:buffer";

const MAGIC = new TextEncoder().encode("TBIVLT01");
const SALT = 16;
const CHECK = 16;
const IV = 12;
const TAG = 16;
const SUM = 32;
const HEADER = MAGIC.length + 3 + SALT + CHECK + IV;
const CHECK_TEXT = "timebound-iam vault passphrase check";

/** The scrypt cost of a new file: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1–0.3 s). */
export const DEFAULT_COST: Readonly<ScryptCost> = { logN: 15, r: 8, p: 1 };

/** scrypt's cost parameters. */
export interface ScryptCost {
  /** log2 of N. */
  logN: number;
  /** The block size. */
  r: number;
  /** The parallelism. */
  p: number;
}

/** A key derived from the passphrase and a file's salt, kept for the process's later writes. */
export interface SealKey {
  /** The salt it was derived with. */
  salt: Uint8Array;
  /** The cost it was derived with. */
  cost: ScryptCost;
  /** The AES-256 key. */
  aes: Uint8Array;
  /** The passphrase check value. */
  check: Uint8Array;
}

/** Why a sealed text could not be opened. */
export type OpenFailure = "damaged" | "wrong-passphrase" | "altered";

/** What {@linkcode openSealed} gives back: the text and the key, or why not. */
export type OpenResult =
  | { ok: true; text: string; key: SealKey }
  | { ok: false; failure: OpenFailure };

/**
 * Derives the keys from a passphrase (a fresh salt unless given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveSealKey } from "./sealed_box.ts";
 * const key = deriveSealKey("pass", { cost: { logN: 10, r: 8, p: 1 } });
 * assert.equal(key.aes.length, 32);
 * ```
 */
export function deriveSealKey(
  passphrase: string,
  options: { salt?: Uint8Array; cost?: ScryptCost } = {},
): SealKey {
  const cost = options.cost ?? DEFAULT_COST;
  const salt = options.salt ?? new Uint8Array(randomBytes(SALT));
  const derived = scryptSync(passphrase.normalize("NFC"), salt, 64, {
    N: 2 ** cost.logN,
    r: cost.r,
    p: cost.p,
    maxmem: 2 * MAX_SCRYPT_MEMORY,
  });
  const aes = new Uint8Array(derived.subarray(0, 32));
  const check = new Uint8Array(
    createHmac("sha256", derived.subarray(32)).update(CHECK_TEXT).digest().subarray(0, CHECK),
  );
  derived.fill(0);
  return { salt, cost, aes, check };
}

/**
 * Seals `text` under `key`: the one line of base64 to write to the file (with a new IV each
 * time).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveSealKey, openSealed, sealText } from "./sealed_box.ts";
 * const cost = { logN: 10, r: 8, p: 1 };
 * const sealed = sealText("secret", deriveSealKey("pass", { cost }));
 * const opened = await openSealed(sealed, () => Promise.resolve("pass"));
 * assert.ok(opened.ok && opened.text === "secret");
 * const wrong = await openSealed(sealed, () => Promise.resolve("nope"));
 * assert.deepEqual(wrong, { ok: false, failure: "wrong-passphrase" });
 * ```
 */
export function sealText(text: string, key: SealKey): string {
  const iv = randomBytes(IV);
  const header = Buffer.concat([
    MAGIC,
    Uint8Array.of(key.cost.logN, key.cost.r, key.cost.p),
    key.salt,
    key.check,
    iv,
  ]);
  const cipher = createCipheriv("aes-256-gcm", key.aes, iv);
  cipher.setAAD(header);
  const body = Buffer.concat([
    header,
    cipher.update(text, "utf8"),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  const sum = createHash("sha256").update(body).digest();
  return `${Buffer.concat([body, sum]).toString("base64")}\n`;
}

/**
 * Opens what {@linkcode sealText} wrote. The checksum is verified first (`damaged` otherwise,
 * and nothing is derived nor decrypted), then the passphrase (`wrong-passphrase`), then the
 * authenticated decryption (`altered`). `passphrase` is asked only for an undamaged file; a
 * `known` key with the file's salt and cost is used instead of deriving again.
 */
export async function openSealed(
  sealed: string,
  passphrase: () => Promise<string>,
  known?: SealKey,
): Promise<OpenResult> {
  const trimmed = sealed.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return { ok: false, failure: "damaged" };
  const bytes = Buffer.from(trimmed, "base64");
  if (bytes.length < HEADER + TAG + SUM || bytes.toString("base64") !== trimmed) {
    return { ok: false, failure: "damaged" };
  }
  const body = bytes.subarray(0, bytes.length - SUM);
  const sum = createHash("sha256").update(body).digest();
  if (!timingSafeEqual(sum, bytes.subarray(bytes.length - SUM))) {
    return { ok: false, failure: "damaged" };
  }
  if (!timingSafeEqual(body.subarray(0, MAGIC.length), MAGIC)) {
    return { ok: false, failure: "damaged" };
  }
  let at = MAGIC.length;
  const cost = { logN: body[at], r: body[at + 1], p: body[at + 2] };
  if (!costAllowed(cost)) return { ok: false, failure: "damaged" };
  at += 3;
  const salt = new Uint8Array(body.subarray(at, at += SALT));
  const check = body.subarray(at, at += CHECK);
  const iv = body.subarray(at, at += IV);
  const header = body.subarray(0, HEADER);
  const sameKey = known !== undefined && sameCost(known.cost, cost) &&
    timingSafeEqual(known.salt, salt);
  const key = sameKey ? known : deriveSealKey(await passphrase(), { salt, cost });
  if (!timingSafeEqual(key.check, check)) return { ok: false, failure: "wrong-passphrase" };
  try {
    const decipher = createDecipheriv("aes-256-gcm", key.aes, iv);
    decipher.setAAD(header);
    decipher.setAuthTag(body.subarray(body.length - TAG));
    const plain = Buffer.concat([
      decipher.update(body.subarray(HEADER, body.length - TAG)),
      decipher.final(),
    ]);
    return { ok: true, text: plain.toString("utf8"), key };
  } catch {
    return { ok: false, failure: "altered" };
  }
}

/** The most memory scrypt may use (it needs 128·N·r bytes), and {@linkcode deriveSealKey}'s cap. */
const MAX_SCRYPT_MEMORY = 128 * 1024 * 1024;

/**
 * Whether a file's scrypt parameters are within bounds: N from 2^10, memory at most 128 MiB
 * (4× the default), p at most 4. Beyond them the derivation would fail (node:crypto's memory cap)
 * or take seconds per try.
 */
function costAllowed(cost: ScryptCost): boolean {
  if (cost.logN < 10 || cost.logN > 20 || cost.r < 1 || cost.r > 32 || cost.p < 1) return false;
  return 128 * cost.r * 2 ** cost.logN <= MAX_SCRYPT_MEMORY && cost.p <= 4;
}

function sameCost(a: ScryptCost, b: ScryptCost): boolean {
  return a.logN === b.logN && a.r === b.r && a.p === b.p;
}
