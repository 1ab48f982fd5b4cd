/**
 * S3's `aws-chunked` streaming bodies with signed chunks (`x-amz-content-sha256:
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, and `…-PAYLOAD-TRAILER` with a signed trailing checksum).
 * Each chunk's signature chains from the one before, starting at the request's own signature, so
 * the proxy checks every chunk with the stand-in key and signs it again, in the same framing,
 * with the real session's key. The signatures are as long either way, so the body keeps its
 * length (`Content-Length`, `x-amz-decoded-content-length`). One chunk is held at a time,
 * never the whole body.
 *
 * @module
 */

import { EMPTY_SHA256, hmacHex, scopeString, sha256Hex, type SigV4Scope } from "../core/sigv4.ts";

/** The payload hash of signed chunks. */
export const SIGNED_CHUNKS = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/** The payload hash of signed chunks and a signed trailer. */
export const SIGNED_CHUNKS_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/** The payload hash of unsigned chunks with a trailing checksum: passed through as is. */
export const UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/** The largest chunk the proxy holds while checking it. */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

/** A chunk or trailer signature that does not verify, or a body that is not aws-chunked. */
export class ChunkError extends Error {
  /** The AWS error code to answer with (`SignatureDoesNotMatch` or `IncompleteBody`). */
  readonly code: string;

  /** Creates the error with its AWS code. */
  constructor(code: string, message: string) {
    super(message);
    this.name = "ChunkError";
    this.code = code;
  }
}

/** One side of the chain: its signing key, scope, date and the request's own signature. */
export interface ChunkSigner {
  /** The signing key (from the secret and the scope). */
  key: Uint8Array;
  /** The credential scope. */
  scope: SigV4Scope;
  /** The request's `X-Amz-Date`. */
  amzDate: string;
  /** The request's signature, which the first chunk's chains from. */
  seed: string;
}

function chunkSignature(signer: ChunkSigner, previous: string, data: Uint8Array): string {
  const toSign = [
    "AWS4-HMAC-SHA256-PAYLOAD",
    signer.amzDate,
    scopeString(signer.scope),
    previous,
    EMPTY_SHA256,
    sha256Hex(data),
  ].join("\n");
  return hmacHex(signer.key, toSign);
}

function trailerSignature(signer: ChunkSigner, previous: string, trailer: string): string {
  const toSign = [
    "AWS4-HMAC-SHA256-TRAILER",
    signer.amzDate,
    scopeString(signer.scope),
    previous,
    sha256Hex(trailer),
  ].join("\n");
  return hmacHex(signer.key, toSign);
}

/** Reads lines and exact byte counts from a stream, holding at most what it was asked for. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #pieces: Uint8Array[] = [];
  #length = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    const { value, done } = await this.#reader.read();
    if (done) return false;
    this.#pieces.push(value);
    this.#length += value.length;
    return true;
  }

  /** Takes the first `count` bytes held (count <= held). */
  #take(count: number): Uint8Array {
    const out = new Uint8Array(count);
    let offset = 0;
    while (offset < count) {
      const piece = this.#pieces[0];
      const used = Math.min(piece.length, count - offset);
      out.set(piece.subarray(0, used), offset);
      offset += used;
      if (used === piece.length) this.#pieces.shift();
      else this.#pieces[0] = piece.subarray(used);
    }
    this.#length -= count;
    return out;
  }

  #indexOfNewline(): number {
    let base = 0;
    for (const piece of this.#pieces) {
      const at = piece.indexOf(0x0a);
      if (at >= 0) return base + at;
      base += piece.length;
    }
    return -1;
  }

  /**
   * A line without its CRLF; `undefined` at the end of the stream. A bare LF is refused, as S3
   * refuses it: framed again with CRLF, the body would no longer match its `Content-Length`.
   */
  async line(limit = MAX_LINE_BYTES): Promise<string | undefined> {
    for (;;) {
      const at = this.#indexOfNewline();
      if (at >= 0) {
        const bytes = this.#take(at + 1);
        if (at === 0 || bytes[at - 1] !== 0x0d) {
          throw new ChunkError("IncompleteBody", "An aws-chunked line does not end with CRLF");
        }
        return new TextDecoder().decode(bytes.subarray(0, at - 1));
      }
      if (this.#length > limit) {
        throw new ChunkError("IncompleteBody", "An aws-chunked line is too long");
      }
      if (!(await this.#fill())) {
        if (this.#length === 0) return undefined;
        throw new ChunkError("IncompleteBody", "The aws-chunked body ends within a line");
      }
    }
  }

  /** Exactly `count` bytes. */
  async bytes(count: number): Promise<Uint8Array> {
    while (this.#length < count) {
      if (!(await this.#fill())) {
        throw new ChunkError("IncompleteBody", "The aws-chunked body ends within a chunk");
      }
    }
    return this.#take(count);
  }

  cancel(reason?: unknown): Promise<void> {
    return this.#reader.cancel(reason);
  }
}

const CHUNK_HEADER = /^([0-9a-fA-F]{1,8});chunk-signature=([0-9a-f]{64})$/;
const encoder = new TextEncoder();

/**
 * Checks each chunk of a signed aws-chunked body against `from` and frames it again with `to`'s
 * signatures. The stream errors with a {@linkcode ChunkError} at the first chunk that does not
 * verify or is malformed, before that chunk is passed on.
 */
export function resignChunks(
  body: ReadableStream<Uint8Array>,
  options: {
    from: ChunkSigner;
    to: ChunkSigner;
    trailer: boolean;
    /** Told each chunk's size before it is read (it refuses by throwing); returns its release. */
    hold?: (bytes: number) => () => void;
  },
): ReadableStream<Uint8Array> {
  const input = new ByteReader(body);
  let previousIn = options.from.seed;
  let previousOut = options.to.seed;
  let finished = false;
  /** Checks one chunk of `size` bytes and passes it on in the new framing. */
  const pass = async (
    controller: ReadableStreamDefaultController<Uint8Array>,
    chunk: { size: number; sizeText: string; signature: string },
  ) => {
    const data = await input.bytes(chunk.size);
    const expected = chunkSignature(options.from, previousIn, data);
    if (expected !== chunk.signature) {
      throw new ChunkError(
        "SignatureDoesNotMatch",
        "The chunk signature we calculated does not match the signature you provided",
      );
    }
    previousIn = expected;
    previousOut = chunkSignature(options.to, previousOut, data);
    const frame = `${chunk.sizeText};chunk-signature=${previousOut}\r\n`;
    if (chunk.size > 0) {
      if ((await input.line()) !== "") {
        throw new ChunkError("IncompleteBody", "An aws-chunked chunk does not end with CRLF");
      }
      controller.enqueue(concat(encoder.encode(frame), data, encoder.encode("\r\n")));
      return;
    }
    finished = true;
    controller.enqueue(
      encoder.encode(frame + await finalPart(input, options, previousIn, previousOut)),
    );
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (finished) return controller.close();
      const header = await input.line();
      const match = header === undefined ? null : CHUNK_HEADER.exec(header);
      if (match === null) {
        throw new ChunkError("IncompleteBody", "The body is not a signed aws-chunked stream");
      }
      const size = parseInt(match[1], 16);
      if (size > MAX_CHUNK_BYTES) {
        throw new ChunkError("IncompleteBody", `An aws-chunked chunk is larger than 16 MiB`);
      }
      const release = options.hold?.(size);
      try {
        await pass(controller, { size, sizeText: match[1], signature: match[2] });
      } finally {
        release?.();
      }
    },
    cancel(reason) {
      return input.cancel(reason);
    },
  });
}

/** What follows the last chunk: an empty line, or the trailer and its signature. */
async function finalPart(
  input: ByteReader,
  options: { from: ChunkSigner; to: ChunkSigner; trailer: boolean },
  previousIn: string,
  previousOut: string,
): Promise<string> {
  if (!options.trailer) {
    if ((await input.line()) !== "") {
      throw new ChunkError("IncompleteBody", "The last aws-chunked chunk does not end with CRLF");
    }
    return "\r\n";
  }
  const lines: string[] = [];
  let signature: string | undefined;
  let total = 0;
  for (;;) {
    const line = await input.line();
    if (line === undefined) {
      throw new ChunkError("IncompleteBody", "The aws-chunked trailer ends too soon");
    }
    total += line.length;
    if (total > MAX_TRAILER_BYTES) {
      throw new ChunkError("IncompleteBody", "The aws-chunked trailer is too long");
    }
    if (line === "") break;
    const match = /^x-amz-trailer-signature:([0-9a-f]{64})$/.exec(line);
    if (match) signature = match[1];
    else lines.push(line);
  }
  const trailer = lines.map((line) => `${line}\n`).join("");
  if (signature !== trailerSignature(options.from, previousIn, trailer)) {
    throw new ChunkError(
      "SignatureDoesNotMatch",
      "The trailer signature we calculated does not match the signature you provided",
    );
  }
  const resigned = trailerSignature(options.to, previousOut, trailer);
  return lines.map((line) => `${line}\r\n`).join("") +
    `x-amz-trailer-signature:${resigned}\r\n\r\n`;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
