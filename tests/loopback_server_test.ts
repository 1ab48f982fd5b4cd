// The loopback HTTP server under the credential endpoint, the signing proxy and the console's
// one-time link: what a local client that does not play by HTTP's rules can make it hold.
import assert from "node:assert/strict";
import { serveLoopback } from "../lib/delivery/loopback_server.ts";
import { readUntilClosed } from "./support/raw_conn.ts";

Deno.test(
  "a connection that sends requests ahead of their answers (pipelining) is closed past 16 " +
    "unanswered: a client that never reads cannot make the server hold every request",
  async () => {
    let calls = 0;
    const server = await serveLoopback(async (request) => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return new Response(`${new URL(request.url).pathname}\n`);
    });
    try {
      const request = (i: number) => `GET /${i} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`;
      // 2,000 requests in one write (about 80 KB), before any answer is read.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const burst = new TextEncoder().encode(
        Array.from({ length: 2000 }, (_, i) => request(i)).join(""),
      );
      for (let sent = 0; sent < burst.length;) sent += await conn.write(burst.subarray(sent));
      const text = await readUntilClosed(conn, 5000);
      assert.notEqual(text, undefined, "the connection is closed");
      assert.ok(calls <= 16, `the handler ran ${calls} times`);
      assert.ok((text!.match(/^HTTP\/1\.1 200 /gm) ?? []).length <= 16);
      // One request at a time on one connection is served however many there are.
      const ka = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      let answered = 0;
      const buffer = new Uint8Array(4096);
      for (let i = 0; i < 40; i++) {
        await ka.write(new TextEncoder().encode(request(i)));
        let got = "";
        while (!got.endsWith(`/${i}\n`)) {
          const n = await ka.read(buffer);
          if (n === null) break;
          got += new TextDecoder().decode(buffer.subarray(0, n));
        }
        if (got.startsWith("HTTP/1.1 200 ")) answered++;
      }
      ka.close();
      assert.equal(answered, 40);
    } finally {
      await server.shutdown();
    }
  },
);
