/**
 * The contract between the local AWS server and the STS and IAM actions it serves: a handler
 * gets the authenticated caller and the request parameters and returns the content of the
 * `<ActionResult>` element, or throws an {@linkcode AwsError}.
 *
 * @module
 */

import type { Identity, LocalAwsState } from "./state.ts";
import type { XmlValue } from "./xml.ts";

/** What a handler is called with. */
export interface ActionContext {
  /** The endpoint's state. */
  state: LocalAwsState;
  /** The identity whose signature was verified. */
  caller: Identity;
  /** The query-protocol parameters (body and query string merged). */
  params: Record<string, string>;
}

/**
 * An action: returns the children of `<ActionResult>`, or `undefined` for an action whose
 * response has no result element (IAM's `PutRolePolicy`, for instance).
 */
export type ActionHandler = (context: ActionContext) => XmlValue | Promise<XmlValue>;

/** Format a time as AWS does in XML: ISO 8601 without milliseconds. */
export function awsTimestamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The query-protocol list `Prefix.member.N.Field`, as a list of records (`Tags.member.1.Key`,
 * `Tags.member.1.Value`, … becomes `[{Key, Value}, …]`).
 */
export function memberList(
  params: Record<string, string>,
  prefix: string,
): Record<string, string>[] {
  const items = new Map<number, Record<string, string>>();
  const pattern = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.member\\.(\\d+)\\.(.+)$`);
  for (const [name, value] of Object.entries(params)) {
    const m = pattern.exec(name);
    if (m === null) continue;
    const index = Number(m[1]);
    const item = items.get(index) ?? {};
    item[m[2]] = value;
    items.set(index, item);
  }
  return [...items.entries()].sort(([a], [b]) => a - b).map(([, item]) => item);
}
