/**
 * A raw TCP client's view of a loopback server (the credential endpoint, the signing proxy, the
 * console's link): what it answers on a connection before it closes it, for the tests of their
 * bounds (header deadlines, connection caps, pipelining).
 *
 * @module
 */

/**
 * What `conn` reads until the server closes the connection (a reset counts as closed), or
 * `undefined` when the server still holds it after `waitMs`.
 */
export async function readUntilClosed(
  conn: Deno.Conn,
  waitMs: number,
): Promise<string | undefined> {
  const timer = setTimeout(() => conn.close(), waitMs);
  const chunks: number[] = [];
  const buffer = new Uint8Array(65536);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      chunks.push(...buffer.subarray(0, n));
    }
  } catch (error) {
    // Anything but a reset is the timer's close: the server held the connection.
    if (!(error instanceof Deno.errors.ConnectionReset)) return undefined;
  } finally {
    clearTimeout(timer);
  }
  conn.close();
  return new TextDecoder().decode(new Uint8Array(chunks));
}
