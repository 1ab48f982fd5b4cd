/**
 * The signing proxy's refusal of credential-minting calls (the table in
 * `lib/request/minting_actions.ts`): told from what the proxy sends on, before anything is
 * signed. A request is hostile, so every way an AWS front end could read its operation counts,
 * not only the first: the signed `X-Amz-Target` or `X-Amzn-Target` (JSON services; an unsigned
 * one is never sent), every `Action` in the query string and in the form body (query services;
 * whichever AWS reads, both are looked at, split on `&` and on `;`), the operation in a Smithy RPC
 * v2 path (`…/service/S/operation/Op`, after any prefix), and a REST service's path. Names are
 * compared without regard to case, word by word (`AssumeRole%00` names `AssumeRole`). A body sent
 * with a `Content-Encoding` to a service that has minting actions cannot be read as AWS will read
 * it, and is refused too.
 *
 * @module
 */

import {
  type MintingAction,
  mintingActionsSignedAs,
  operationsOf,
} from "../request/minting_actions.ts";
import { cleanName } from "./call_record.ts";
import { ProxyRefusal } from "./proxy_refusal.ts";

/** What the guard reads of a verified call. */
export interface GuardedCall {
  /** The signing name of the credential scope (it decides the endpoint). */
  service: string;
  /** The HTTP method as received. */
  method: string;
  /** The path as received (percent-encoded). */
  path: string;
  /** The query string as sent, without its `?`. */
  query: string;
  /** The headers that go on to AWS (signed ones and `Content-Type`). */
  headers: Headers;
  /** The body, read whole (every service but S3). */
  body?: Uint8Array;
}

/**
 * A call the proxy refuses: a minting one (the table's row and the operation the request names),
 * or one to a service with minting actions whose body the proxy cannot read as AWS will (a
 * `Content-Encoding`: no SDK compresses calls to these services).
 */
export type MintingCall =
  | {
    /** The row of the table. */
    row: MintingAction;
    /** The API operation, as the table spells it (`AssumeRole`). */
    operation: string;
  }
  | {
    /** The body's `Content-Encoding`, as sent. */
    encoding: string;
    /** The service, by its signing name. */
    service: string;
  };

/**
 * The minting action a call makes, or `undefined` when it makes none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mintingCall } from "./minting_guard.ts";
 * const call = mintingCall({
 *   service: "sts",
 *   method: "POST",
 *   path: "/",
 *   query: "",
 *   headers: new Headers({ "content-type": "application/x-www-form-urlencoded" }),
 *   body: new TextEncoder().encode("Action=AssumeRole&Version=2011-06-15"),
 * });
 * assert.ok(call !== undefined && "row" in call);
 * assert.equal(call.row.action, "sts:AssumeRole");
 * ```
 */
export function mintingCall(call: GuardedCall): MintingCall | undefined {
  const rows = mintingActionsSignedAs(call.service);
  if (rows.length === 0) return undefined;
  const encoding = call.headers.get("content-encoding")?.trim() ?? "";
  if (encoding !== "" && encoding.toLowerCase() !== "identity") {
    return { encoding: encoding.slice(0, 64), service: call.service };
  }
  const named = new Set(operationNames(call).map((name) => name.toLowerCase()));
  const path = normalPath(call.path);
  for (const row of rows) {
    const operation = operationsOf(row).find((op) => named.has(op.toLowerCase()));
    if (operation !== undefined) return { row, operation };
    if (row.route?.test(path) && !(row.otherOnGet && plainRead(call))) {
      return { row, operation: operationsOf(row)[0] };
    }
  }
  return undefined;
}

/**
 * Every operation name the request carries, wherever an AWS front end may read one, split into
 * its words: a name padded, followed by a stray character or a second value (`AssumeRole%00`,
 * `X.GetAuthorizationToken, X.ListImages`) still names what a lenient parser reads in it.
 */
function operationNames(call: GuardedCall): string[] {
  const names: string[] = [];
  // X-Amzn-Target is the other spelling that AWS's front ends route on.
  for (const header of ["x-amz-target", "x-amzn-target"]) {
    names.push(call.headers.get(header) ?? "");
  }
  const actions = (text: string) => {
    // Some form parsers also split on `;`: read the text both ways.
    for (const form of [text, text.replaceAll(";", "&")]) {
      for (const [name, value] of new URLSearchParams(form)) {
        if (name.replace(/[^a-z]/gi, "").toLowerCase() === "action") names.push(value);
      }
    }
  };
  actions(call.query);
  if (call.body !== undefined && call.body.length > 0) {
    actions(new TextDecoder().decode(call.body));
  }
  // Smithy RPC v2 routes on the last four segments, after any prefix.
  const rpc = /\/service\/[^/]+\/operation\/([^/]+)$/.exec(normalPath(call.path));
  if (rpc !== null) names.push(rpc[1]);
  return names.flatMap((name) => name.split(/[^A-Za-z0-9]+/)).filter((word) => word !== "");
}

/** A GET or HEAD, spelled as HTTP spells it, that no header asks to treat as another method. */
function plainRead(call: GuardedCall): boolean {
  const overrides = ["x-http-method-override", "x-http-method", "x-method-override"];
  return ["GET", "HEAD"].includes(call.method) && !overrides.some((h) => call.headers.has(h));
}

/** The path with each segment percent-decoded and lower-cased, without empty segments. */
function normalPath(path: string): string {
  const segments = path.split("/").filter((s) => s !== "").map((segment) => {
    try {
      return decodeURIComponent(segment).toLowerCase();
    } catch {
      return segment.toLowerCase();
    }
  });
  return `/${segments.join("/")}`;
}

/**
 * The refusal of a minting call, for the client: AWS's `AccessDenied`, with what was refused,
 * why, and how a human gets such credentials.
 */
export function mintingRefusal(call: MintingCall): ProxyRefusal {
  const why = "their answer would hand out real credentials, which masked mode keeps from the " +
    "command";
  if ("encoding" in call) {
    return new ProxyRefusal(
      "encoded-body",
      `timebound-iam's masked proxy refuses a ${call.service} request body with Content-Encoding ` +
        `"${cleanName(call.encoding)}": it reads the body to refuse credential-minting actions ` +
        `(${why}); send it uncompressed`,
    );
  }
  return new ProxyRefusal(
    "mints-credentials",
    `timebound-iam's masked proxy refuses credential-minting actions such as ${call.row.action}: ` +
      `${why}. A human who needs them runs the grant without --masked ` +
      "(timebound-iam exec -s SCOPES -t TTL -- COMMAND)",
  );
}
