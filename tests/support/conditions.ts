/**
 * The `Condition` block of a policy statement, evaluated as IAM does against a request context:
 * every operator must be met, and within an operator every key; a key with several values in
 * the policy is met when any of them matches. A key missing from the request fails every
 * operator except `Null`, the `…IfExists` forms, `ForAllValues:` and the negated operators
 * (`StringNotEquals`, `StringNotLike`, `ArnNotLike`, …), which it meets, as IAM documents. Supported: `Bool`, `StringEquals`,
 * `StringNotEquals`, `StringLike`, `StringNotLike` (and their `IgnoreCase` forms), `Numeric…`,
 * `Date…`, `ArnEquals`/`ArnLike`, `Null`, the `IfExists` suffix and the `ForAnyValue:`/
 * `ForAllValues:` prefixes for multi-valued keys (`aws:TagKeys`). An operator it does not know
 * counts as not met, so a test never passes by accident.
 *
 * @module
 */

/** The request's context keys (`aws:MultiFactorAuthPresent`, `aws:SourceIdentity`, …). */
export type RequestContext = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A statement's `Condition`: operator → key → value or values. */
export type ConditionBlock = Record<string, Record<string, unknown>>;

/**
 * Whether `condition` (a statement's `Condition`, possibly undefined) is met by `context`.
 * Context keys compare case-insensitively, as IAM's do.
 *
 * @example
 * ```ts
 * import { conditionsMet } from "./conditions.ts";
 * const mfa = { Bool: { "aws:MultiFactorAuthPresent": "true" } };
 * console.assert(conditionsMet(mfa, { "aws:MultiFactorAuthPresent": "true" }));
 * console.assert(!conditionsMet(mfa, {}));
 * ```
 */
export function conditionsMet(condition: unknown, context: RequestContext): boolean {
  if (condition === undefined) return true;
  if (typeof condition !== "object" || condition === null) return false;
  const lower = new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  return Object.entries(condition as ConditionBlock).every(([operator, keys]) =>
    typeof keys === "object" && keys !== null &&
    Object.entries(keys).every(([key, expected]) =>
      operatorMet(operator, lower.get(key.toLowerCase()), [expected].flat().map(String))
    )
  );
}

function operatorMet(
  operator: string,
  actual: string | readonly string[] | undefined,
  expected: string[],
): boolean {
  let name = operator;
  let set: "any" | "all" | undefined;
  if (name.startsWith("ForAnyValue:")) [set, name] = ["any", name.slice(12)];
  else if (name.startsWith("ForAllValues:")) [set, name] = ["all", name.slice(13)];
  if (name === "Null") {
    const missing = actual === undefined || (Array.isArray(actual) && actual.length === 0);
    return expected.some((value) => (value.toLowerCase() === "true") === missing);
  }
  const ifExists = name.endsWith("IfExists");
  if (ifExists) name = name.slice(0, -8);
  const test = TESTS[name];
  if (test === undefined) return false;
  const negated = /Not/.test(name);
  // A key missing from the request: IAM meets the …IfExists forms, ForAllValues (vacuously) and
  // the negated operators (StringNotEquals, StringNotLike, ArnNotLike, …), never ForAnyValue.
  if (actual === undefined) return set !== "any" && (ifExists || set === "all" || negated);
  const values = [actual].flat() as string[];
  const matches = (value: string) =>
    negated ? expected.every((e) => test(value, e)) : expected.some((e) => test(value, e));
  if (set === "all") return values.every(matches);
  return values.some(matches);
}

function like(pattern: string, value: string, flags = ""): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${regex}$`, `s${flags}`).test(value);
}

function numeric(compare: (a: number, b: number) => boolean) {
  return (actual: string, expected: string) => {
    const [a, b] = [Number(actual), Number(expected)];
    return !Number.isNaN(a) && !Number.isNaN(b) && compare(a, b);
  };
}

function date(compare: (a: number, b: number) => boolean) {
  const time = (text: string) => (/^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text));
  return (actual: string, expected: string) => {
    const [a, b] = [time(actual), time(expected)];
    return !Number.isNaN(a) && !Number.isNaN(b) && compare(a, b);
  };
}

const TESTS: Record<string, (actual: string, expected: string) => boolean> = {
  Bool: (a, e) => a.toLowerCase() === e.toLowerCase(),
  StringEquals: (a, e) => a === e,
  StringNotEquals: (a, e) => a !== e,
  StringEqualsIgnoreCase: (a, e) => a.toLowerCase() === e.toLowerCase(),
  StringNotEqualsIgnoreCase: (a, e) => a.toLowerCase() !== e.toLowerCase(),
  StringLike: (a, e) => like(e, a),
  StringNotLike: (a, e) => !like(e, a),
  ArnEquals: (a, e) => like(e, a),
  ArnLike: (a, e) => like(e, a),
  ArnNotEquals: (a, e) => !like(e, a),
  ArnNotLike: (a, e) => !like(e, a),
  NumericEquals: numeric((a, b) => a === b),
  NumericNotEquals: numeric((a, b) => a !== b),
  NumericLessThan: numeric((a, b) => a < b),
  NumericLessThanEquals: numeric((a, b) => a <= b),
  NumericGreaterThan: numeric((a, b) => a > b),
  NumericGreaterThanEquals: numeric((a, b) => a >= b),
  DateEquals: date((a, b) => a === b),
  DateNotEquals: date((a, b) => a !== b),
  DateLessThan: date((a, b) => a < b),
  DateLessThanEquals: date((a, b) => a <= b),
  DateGreaterThan: date((a, b) => a > b),
  DateGreaterThanEquals: date((a, b) => a >= b),
};
