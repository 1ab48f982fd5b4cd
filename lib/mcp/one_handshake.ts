/**
 * One MCP handshake per connection. The SDK's server answers every `initialize` and takes the
 * client's name and capabilities from the last one; a client could then rename itself in the
 * audit log and the session tags (also for calls in flight) or change what the approval gate
 * reads. This wrapper answers a second `initialize` with a JSON-RPC error before the server sees
 * it, so the first handshake's client info and capabilities stay.
 *
 * @module
 */

import type { Transport } from "@modelcontextprotocol/sdk/shared/transport";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** JSON-RPC's code for a request that is not valid here. */
const INVALID_REQUEST = -32600;

/**
 * The transport, with every `initialize` request after the first refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
 * import { oneHandshake } from "./one_handshake.ts";
 * const [client, server] = InMemoryTransport.createLinkedPair();
 * const guarded = oneHandshake(server);
 * const seen: unknown[] = [];
 * guarded.onmessage = (message: unknown) => seen.push(message);
 * const answers: Array<{ id?: unknown }> = [];
 * client.onmessage = (message: { id?: unknown }) => answers.push(message);
 * await guarded.start();
 * await client.start();
 * const hello = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "a", version: "1" } };
 * await client.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: hello });
 * await client.send({ jsonrpc: "2.0", id: 2, method: "initialize", params: hello });
 * assert.equal(seen.length, 1);
 * assert.equal(answers[0].id, 2);
 * ```
 */
export function oneHandshake(transport: Transport): Transport {
  let initialized = false;
  const guarded: Transport = {
    start() {
      transport.onmessage = (message, extra) => {
        if (isInitialize(message)) {
          if (initialized) {
            guarded.onerror?.(new Error("Refused a second initialize on the same connection"));
            transport.send({
              jsonrpc: "2.0",
              id: message.id,
              error: {
                code: INVALID_REQUEST,
                message: "Already initialized: one handshake per connection",
              },
            }).catch(() => {});
            return;
          }
          initialized = true;
        }
        guarded.onmessage?.(message, extra);
      };
      transport.onerror = (error) => guarded.onerror?.(error);
      transport.onclose = () => guarded.onclose?.();
      return transport.start();
    },
    send: (message, options) => transport.send(message, options),
    close: () => transport.close(),
  };
  return guarded;
}

function isInitialize(
  message: JSONRPCMessage,
): message is JSONRPCMessage & { id: string | number; method: "initialize" } {
  return "method" in message && message.method === "initialize" && "id" in message;
}
