/**
 * The stdio transport of `serve`: newline-delimited JSON-RPC messages on standard input and
 * output, as the MCP SDK's own transport reads and writes them, but with a bound on a message's
 * length that is checked as the bytes arrive. A longer line is never gathered nor parsed: its
 * bytes are counted and dropped, and when its end arrives the client gets a JSON-RPC error at
 * once (parsing two megabytes of JSON and checking it against the SDK's schema took up to
 * 1.7 s on a busy machine; refusing it takes well under 100 ms). A JSON-RPC batch, which MCP no
 * longer has, is answered with an error too.
 *
 * @module
 */

import type { Transport } from "@modelcontextprotocol/sdk/shared/transport";
// @ts-types="@modelcontextprotocol/sdk/types"
import { type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";

/**
 * The longest message accepted, in bytes: the largest that the tools' bounded inputs allow
 * (`grant_access` with 20 services of 20 resources of 2,048 characters is ~820 KB) and then some.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** JSON-RPC's code for a request that is not a valid request object. */
const INVALID_REQUEST = -32600;

/** The standard input as the transport reads it (Node's `process.stdin`). */
export interface InputStream {
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  off(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  off(event: "error", listener: (error: Error) => void): unknown;
  listenerCount(event: "data"): number;
  pause(): unknown;
}

/** The standard output as the transport writes it (Node's `process.stdout`). */
export interface OutputStream {
  write(text: string): boolean;
  once(event: "drain", listener: () => void): unknown;
}

/** Options for {@linkcode createStdioTransport}. */
export interface StdioTransportOptions {
  /** The longest message in bytes ({@linkcode MAX_MESSAGE_BYTES} when omitted). */
  maxMessageBytes?: number;
}

/**
 * A transport over `stdin` and `stdout` that refuses any message longer than the bound before
 * reading it whole: the client gets an `Invalid Request` error (with the request's id when its
 * first or last bytes show it) and the server's `onerror` hears of it; nothing else happens.
 */
export function createStdioTransport(
  stdin: InputStream,
  stdout: OutputStream,
  options: StdioTransportOptions = {},
): Transport {
  const max = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const lines = lineSplitter(max, {
    line(text) {
      let message: JSONRPCMessage;
      try {
        const parsed = JSON.parse(text);
        // MCP dropped JSON-RPC batches (2025-06-18): a client that sends one gets an answer
        // rather than waiting forever for replies to requests nobody reads.
        if (Array.isArray(parsed)) {
          transport.onerror?.(new Error(`Refused a JSON-RPC batch of ${parsed.length} messages`));
          refuse(null, "Batches are not supported: send one message per line");
          return;
        }
        message = JSONRPCMessageSchema.parse(parsed);
      } catch (error) {
        transport.onerror?.(error as Error);
        return;
      }
      transport.onmessage?.(message);
    },
    oversized(bytes, edges) {
      transport.onerror?.(
        new Error(`Refused a message of ${bytes} bytes: longer than ${max} bytes`),
      );
      refuse(requestIdOf(edges), `Message too long: over ${max} bytes`);
    },
  });
  // JSON-RPC's answer to what is no valid request: the request's id when known, else null.
  const refuse = (id: string | number | null, message: string) => {
    transport.send({
      jsonrpc: "2.0",
      id: id as string | number,
      error: { code: INVALID_REQUEST, message },
    }).catch(() => {});
  };
  const onData = (chunk: Uint8Array) => lines.push(chunk);
  const onError = (error: Error) => transport.onerror?.(error);
  let started = false;
  const transport: Transport = {
    start() {
      if (started) return Promise.reject(new Error("The stdio transport is already started"));
      started = true;
      stdin.on("data", onData);
      stdin.on("error", onError);
      return Promise.resolve();
    },
    send(message) {
      return new Promise<void>((resolve) => {
        if (stdout.write(`${JSON.stringify(message)}\n`)) resolve();
        else stdout.once("drain", () => resolve());
      });
    },
    close() {
      stdin.off("data", onData);
      stdin.off("error", onError);
      if (stdin.listenerCount("data") === 0) stdin.pause();
      lines.clear();
      transport.onclose?.();
      return Promise.resolve();
    },
  };
  return transport;
}

/** The first and last bytes of a refused line, where its `id` may be read. */
interface LineEdges {
  head: string;
  tail: string;
}

const EDGE_BYTES = 256;

interface LineHandlers {
  line(text: string): void;
  oversized(bytes: number, edges: LineEdges): void;
}

/**
 * Splits a byte stream into lines of at most `max` bytes. A longer line's bytes are counted
 * and dropped as they come (only its first and last bytes are kept); it is reported when its end
 * arrives.
 */
function lineSplitter(max: number, handlers: LineHandlers) {
  const decoder = new TextDecoder();
  let parts: Uint8Array[] = [];
  let size = 0;
  let skipped = 0;
  let head: Uint8Array = new Uint8Array();
  let tail: Uint8Array = new Uint8Array();
  const reset = () => {
    parts = [];
    size = 0;
    skipped = 0;
    head = new Uint8Array();
    tail = new Uint8Array();
  };
  const take = (piece: Uint8Array) => {
    if (skipped === 0 && size + piece.length <= max) {
      parts.push(piece);
      size += piece.length;
      return;
    }
    if (skipped === 0) {
      head = concat([...parts, piece.subarray(0, EDGE_BYTES)]).subarray(0, EDGE_BYTES);
      skipped = size;
      parts = [];
      size = 0;
    }
    skipped += piece.length;
    tail = concat([tail, piece.subarray(-EDGE_BYTES)]).slice(-EDGE_BYTES);
  };
  const end = () => {
    if (skipped > 0) {
      const edges = { head: decoder.decode(head), tail: decoder.decode(tail) };
      const bytes = skipped;
      reset();
      handlers.oversized(bytes, edges);
      return;
    }
    const text = decoder.decode(concat(parts)).replace(/\r$/, "");
    reset();
    if (text.trim() !== "") handlers.line(text);
  };
  return {
    push(chunk: Uint8Array) {
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, start);
        take(chunk.subarray(start, newline === -1 ? chunk.length : newline));
        if (newline === -1) return;
        end();
        start = newline + 1;
      }
    },
    clear: reset,
  };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// An id is a number or a short string; a top-level one ends the message (`…,"id":7}`, as the SDK
// writes it) or comes first, after "jsonrpc" at most. Inside a string a quote is escaped, and a
// nested object's id is followed by two closing braces, so neither matches.
const ID_VALUE = String.raw`(-?\d{1,15}|"[^"\\]{0,128}")`;
const ID_AT_END = new RegExp(String.raw`(?<!\\)"id"\s*:\s*${ID_VALUE}\s*\}\s*$`);
const ID_AT_START = new RegExp(
  String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID_VALUE}`,
);

/** The id of a refused request, read from its edges, or `null` when they do not show it. */
function requestIdOf({ head, tail }: LineEdges): string | number | null {
  const found = ID_AT_END.exec(tail.replace(/\r$/, "")) ?? ID_AT_START.exec(head);
  if (!found) return null;
  return found[1].startsWith('"') ? found[1].slice(1, -1) : Number(found[1]);
}
