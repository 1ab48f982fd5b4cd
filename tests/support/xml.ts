/**
 * The XML bodies of the AWS query protocol: a success envelope
 * (`<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…`) and the error envelope
 * (`<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`), built from a small tree
 * of plain values so that every text is escaped in one place.
 *
 * @module
 */

/**
 * A node of a response body: text (escaped when rendered), a list rendered as `<member>`
 * elements, or an ordered object of child elements. `undefined` children are left out.
 */
export type XmlValue = string | number | boolean | undefined | XmlValue[] | {
  [name: string]: XmlValue;
};

/**
 * Escape text for use as XML character data or an attribute value.
 *
 * @example
 * ```ts
 * import { escapeXml } from "./xml.ts";
 * escapeXml(`a<b & "c"`); // "a&lt;b &amp; &quot;c&quot;"
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => XML_ENTITIES[c]);
}

const XML_ENTITIES: Record<string, string> = {
  "<": "&lt;",
  ">": "&gt;",
  "&": "&amp;",
  '"': "&quot;",
  "'": "&apos;",
};

/**
 * Render the children of an element: text escaped, arrays as `<member>` items (as the query
 * protocol lists them), objects as elements in insertion order.
 */
export function renderXml(value: XmlValue): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) {
    return value.map((item) => `<member>${renderXml(item)}</member>`).join("");
  }
  if (typeof value === "object") {
    return Object.entries(value)
      .filter(([, child]) => child !== undefined)
      .map(([name, child]) => `<${name}>${renderXml(child)}</${name}>`)
      .join("");
  }
  return escapeXml(String(value));
}

/**
 * The body of a successful query-protocol response: `<{action}Response xmlns>` holding the
 * `<{action}Result>` (left out when `result` is undefined, as for IAM's `PutRolePolicy`) and the
 * `ResponseMetadata` with the request id.
 */
export function successXml(
  namespace: string,
  action: string,
  result: XmlValue,
  requestId: string,
): string {
  const resultXml = result === undefined
    ? ""
    : `<${action}Result>${renderXml(result)}</${action}Result>`;
  return `<${action}Response xmlns="${escapeXml(namespace)}">${resultXml}` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>` +
    `</${action}Response>\n`;
}

/**
 * The body of a query-protocol error: `Type` is `Sender` for a 4xx status and `Receiver`
 * otherwise, as AWS does.
 */
export function errorXml(
  namespace: string,
  error: { status: number; code: string; message: string },
  requestId: string,
): string {
  const type = error.status < 500 ? "Sender" : "Receiver";
  return `<ErrorResponse xmlns="${escapeXml(namespace)}"><Error><Type>${type}</Type>` +
    `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message>` +
    `</Error><RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>\n`;
}
