/**
 * The few DynamoDB operations the local endpoint serves, over DynamoDB's JSON 1.0 protocol
 * (`X-Amz-Target: DynamoDB_20120810.<Operation>`): CreateTable, DescribeTable, ListTables,
 * PutItem, GetItem, DeleteItem. Tables live per account and region; keys and their types are
 * checked as DynamoDB checks them, with its error types and messages.
 *
 * @module
 */

import { AwsError } from "./aws_error.ts";

/** The prefix of every `X-Amz-Target` DynamoDB takes. */
export const DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810.";
const ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#";

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

interface KeyElement {
  AttributeName: string;
  KeyType: "HASH" | "RANGE";
}

interface Table {
  name: string;
  arn: string;
  keySchema: KeyElement[];
  attributeTypes: Map<string, string>;
  definitions: unknown[];
  billingMode: string;
  created: Date;
  items: Map<string, Item>;
}

/** A DynamoDB error: its type (`ResourceNotFoundException`), message and 400. */
export function dynamoError(type: string, message: string): AwsError {
  return new AwsError(type, message, 400);
}

/** The JSON body of a DynamoDB error (`__type` names the service's or coral's shape). */
export function dynamoErrorBody(code: string, message: string): string {
  const coral = [
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "AccessDeniedException",
  ];
  const prefix = coral.includes(code) ? "com.amazon.coral.service#" : ERROR_PREFIX;
  return JSON.stringify({ __type: `${prefix}${code}`, message });
}

function validation(message: string): AwsError {
  return dynamoError("ValidationException", message);
}

/** The tables of the local endpoint and the item calls on them. */
export class LocalDynamoDb {
  readonly #tables = new Map<string, Table>();

  /** Answers one authenticated call; returns the JSON result. */
  handle(
    operation: string,
    input: Record<string, unknown>,
    context: { accountId: string; region: string; now: Date },
  ): Record<string, unknown> {
    const where = `${context.accountId}/${context.region}`;
    switch (operation) {
      case "CreateTable":
        return this.#createTable(input, where, context);
      case "ListTables":
        return {
          TableNames: [...this.#tables.keys()].filter((k) => k.startsWith(`${where}/`))
            .map((k) => k.slice(where.length + 1)).sort(),
        };
      case "DescribeTable":
        return { Table: describe(this.#table(input, where)) };
      case "PutItem":
        return this.#putItem(input, where);
      case "GetItem": {
        const table = this.#table(input, where);
        const item = table.items.get(keyOf(table, input.Key, "Key"));
        return item === undefined ? {} : { Item: item };
      }
      case "DeleteItem": {
        const table = this.#table(input, where);
        table.items.delete(keyOf(table, input.Key, "Key"));
        return {};
      }
      default:
        throw dynamoError("UnknownOperationException", "");
    }
  }

  #table(input: Record<string, unknown>, where: string): Table {
    const name = input.TableName;
    if (typeof name !== "string" || !/^[a-zA-Z0-9_.-]{3,255}$/.test(name)) {
      throw validation(
        `1 validation error detected: Value '${name}' at 'tableName' failed to satisfy constraint: ` +
          "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
      );
    }
    const table = this.#tables.get(`${where}/${name}`);
    if (table === undefined) {
      throw dynamoError("ResourceNotFoundException", "Requested resource not found");
    }
    return table;
  }

  #createTable(
    input: Record<string, unknown>,
    where: string,
    context: { accountId: string; region: string; now: Date },
  ): Record<string, unknown> {
    const name = String(input.TableName ?? "");
    if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(name)) {
      throw validation(
        `TableName must be at least 3 characters long and at most 255 characters long`,
      );
    }
    if (this.#tables.has(`${where}/${name}`)) {
      throw dynamoError("ResourceInUseException", `Table already exists: ${name}`);
    }
    const keySchema = (input.KeySchema ?? []) as KeyElement[];
    const definitions = (input.AttributeDefinitions ?? []) as Array<
      { AttributeName: string; AttributeType: string }
    >;
    const hashes = keySchema.filter((k) => k.KeyType === "HASH");
    if (hashes.length !== 1 || keySchema.length > 2 || keySchema[0]?.KeyType !== "HASH") {
      throw validation(
        "1 validation error detected: Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
      );
    }
    const types = new Map(definitions.map((d) => [d.AttributeName, d.AttributeType]));
    for (const key of keySchema) {
      if (!types.has(key.AttributeName)) {
        throw validation(
          "One or more parameter values were invalid: Some index key attributes are not defined in " +
            `AttributeDefinitions. Keys: [${key.AttributeName}], AttributeDefinitions: [${
              [...types.keys()].join(", ")
            }]`,
        );
      }
    }
    const billingMode = String(input.BillingMode ?? "PROVISIONED");
    if (billingMode === "PROVISIONED" && input.ProvisionedThroughput === undefined) {
      throw validation(
        "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
      );
    }
    const table: Table = {
      name,
      arn: `arn:aws:dynamodb:${context.region}:${context.accountId}:table/${name}`,
      keySchema,
      attributeTypes: types,
      definitions,
      billingMode,
      created: context.now,
      items: new Map(),
    };
    this.#tables.set(`${where}/${name}`, table);
    return { TableDescription: describe(table) };
  }

  #putItem(input: Record<string, unknown>, where: string): Record<string, unknown> {
    const table = this.#table(input, where);
    const item = input.Item as Item | undefined;
    if (typeof item !== "object" || item === null) {
      throw validation(
        "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null",
      );
    }
    const key = keyOf(table, item, "Item");
    const old = table.items.get(key);
    table.items.set(key, item);
    return input.ReturnValues === "ALL_OLD" && old !== undefined ? { Attributes: old } : {};
  }
}

/** The item's key attributes as one string, checked against the table's key schema. */
function keyOf(table: Table, value: unknown, field: "Key" | "Item"): string {
  const attributes = (value ?? {}) as Item;
  if (field === "Key" && Object.keys(attributes).length !== table.keySchema.length) {
    throw validation("The provided key element does not match the schema");
  }
  return JSON.stringify(table.keySchema.map(({ AttributeName }) => {
    const attribute = attributes[AttributeName];
    const type = table.attributeTypes.get(AttributeName)!;
    if (attribute === undefined) {
      throw validation(
        field === "Item"
          ? `One or more parameter values were invalid: Missing the key ${AttributeName} in the item`
          : "The provided key element does not match the schema",
      );
    }
    if (!(type in attribute)) {
      throw validation(
        `One or more parameter values were invalid: Type mismatch for key ${AttributeName} ` +
          `expected: ${type} actual: ${Object.keys(attribute)[0]}`,
      );
    }
    return attribute[type];
  }));
}

function describe(table: Table): Record<string, unknown> {
  return {
    TableName: table.name,
    TableArn: table.arn,
    TableStatus: "ACTIVE",
    KeySchema: table.keySchema,
    AttributeDefinitions: table.definitions,
    CreationDateTime: table.created.getTime() / 1000,
    ItemCount: table.items.size,
    TableSizeBytes: 0,
    BillingModeSummary: { BillingMode: table.billingMode },
  };
}
