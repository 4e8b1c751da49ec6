/**
 * Schema combinators with piwheels' (voluptuous) strictness, checking data both as received
 * (raw decoded CBOR → typed value) and as sent (typed value → CBOR-ready value).
 *
 * Strictness choices:
 * - `int` takes only CBOR ints. Unlike Python it also refuses booleans: no piwheels sender puts a
 *   bool where an int is declared, and in JavaScript doing so is always a bug. Ints must be safe
 *   integers (|n| < 2^53); larger ones are refused rather than rounded.
 * - `float` takes only CBOR floats on receive. On send any number is accepted (JavaScript
 *   cannot tell `0.0` from `0`) and is always written as float64.
 * - `str` refuses byte strings, `bytes` refuses text; sequences have exact lengths.
 * - `any` (voluptuous `Extra`) accepts everything and keeps the decoded value untouched, so
 *   floats stay wrapped in {@link Float64} and re-encoding is lossless.
 * @module
 */

import { formatDatetime, NO_DATA, type NoData, PreciseDate, TimeDelta } from "./values.ts";
import { CborTag, Float64 } from "./values.ts";

/**
 * The shape of some message data. `fromWire` checks a value as decoded from CBOR and returns its
 * typed form; `toWire` checks a value about to be sent and returns what the encoder should write.
 * Both throw {@link SchemaError}.
 */
export interface Schema<T> {
  /** Python-like description used in error messages, e.g. `[int, str]`. */
  readonly description: string;
  /** Check a decoded value and convert it to its typed form. */
  fromWire(raw: unknown): T;
  /** Check a value to send and convert it to encodable form (e.g. floats wrapped). */
  toWire(value: unknown): unknown;
  /** A representative value, for documentation and round-trip tests. */
  example(): T;
}

/** The typed value a schema describes. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Data that does not match a schema; `path` locates the offending part (e.g. `files[0].filesize`). */
export class SchemaError extends Error {
  /** Always `"SchemaError"`. */
  override name = "SchemaError";
  /** Why the value was refused. */
  readonly reason: string;
  /** Steps from the top of the data to the offending part, outermost first. */
  readonly path: string[] = [];
  /** A {@link literal} did not match: the data is some other alternative of a {@link oneOf}. */
  readonly wrongAlternative: boolean;

  /** Refuse a value for `reason`. */
  constructor(reason: string, wrongAlternative = false) {
    super(reason);
    this.reason = reason;
    this.wrongAlternative = wrongAlternative;
  }

  /** Where in the data the problem is, e.g. `files[0].filesize` (empty at the top). */
  get where(): string {
    return this.path.join("").replace(/^\./, "");
  }

  /** Record that the problem lies under `segment` (`[3]`, `.abi`, `["cp311"]`). */
  within(segment: string): this {
    this.path.unshift(segment);
    this.message = this.where ? `${this.where}: ${this.reason}` : this.reason;
    return this;
  }
}

/** A short Python-flavoured description of a value, for "expected X, got Y" messages. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "number":
      return `${Number.isInteger(value) ? "int" : "float"} ${value}`;
    case "bigint":
      return `int ${value}`;
    case "string":
      return `str ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
    case "boolean":
      return `bool ${value}`;
    case "undefined":
      return "nothing";
    case "symbol":
      return value === NO_DATA ? "no data" : String(value);
    case "function":
      return "a function";
  }
  if (value === null) return "null";
  if (value instanceof Float64) return `float ${value}`;
  if (value instanceof Uint8Array) return `bytes (${value.length} bytes)`;
  if (Array.isArray(value)) return `array of ${value.length}`;
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "invalid Date" : `datetime ${formatDatetime(value)}`;
  }
  if (value instanceof TimeDelta) return `timedelta ${value}`;
  if (value instanceof Set) return `set of ${value.size}`;
  if (value instanceof Map) return `map of ${value.size}`;
  if (value instanceof CborTag) return `unknown CBOR tag ${value.tag}`;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    return `map of ${Object.keys(value as object).length}`;
  }
  return `a ${(value as object).constructor?.name ?? "object"}`;
}

function refuse(expected: string, value: unknown): never {
  throw new SchemaError(`expected ${expected}, got ${describeValue(value)}`);
}

/** Run `fn`, attributing any SchemaError to `segment`. */
function under<T>(segment: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SchemaError) e.within(segment);
    throw e;
  }
}

/** A schema that accepts values passing `test` unchanged in both directions. */
function leaf<T>(description: string, test: (v: unknown) => v is T, example: () => T): Schema<T> {
  const check = (v: unknown): T => test(v) ? v : refuse(description, v);
  return { description, fromWire: check, toWire: check, example };
}

function isSafeInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v);
}

/** Python `int`: a CBOR int that is a safe JavaScript integer; refuses floats and booleans. */
export const int: Schema<number> = {
  description: "int",
  fromWire(raw) {
    if (isSafeInt(raw)) return raw + 0;
    if (typeof raw === "bigint") throw new SchemaError(`int ${raw} is out of the supported range`);
    return refuse("int", raw);
  },
  toWire(value) {
    if (isSafeInt(value)) return value + 0;
    if (typeof value === "number" && Number.isInteger(value)) {
      throw new SchemaError(`int ${value} is out of the supported range`);
    }
    return refuse("int", value);
  },
  example: () => 7,
};

/** Python `float`: a CBOR float on receive; any number on send, always written as float64. */
export const float: Schema<number> = {
  description: "float",
  fromWire(raw) {
    return raw instanceof Float64 ? raw.value : refuse("float", raw);
  },
  toWire(value) {
    if (typeof value === "number") return new Float64(value);
    return value instanceof Float64 ? value : refuse("float", value);
  },
  // Whole on purpose: it must still travel as a float.
  example: () => 2,
};

/**
 * Python `int | float`, for quantities computed as either (e.g. durations in milliseconds): any
 * finite number, sent as the encoder writes numbers (safe integers as ints, others as floats).
 */
export const number: Schema<number> = {
  description: "int|float",
  fromWire(raw) {
    if (isSafeInt(raw)) return raw + 0;
    if (raw instanceof Float64 && Number.isFinite(raw.value)) return raw.value;
    return refuse("int|float", raw);
  },
  toWire(value) {
    return typeof value === "number" && Number.isFinite(value) ? value : refuse("int|float", value);
  },
  example: () => 1.5,
};

/** Python `str`: a CBOR text string. */
export const str: Schema<string> = leaf("str", (v) => typeof v === "string", () => "text");

/** Python `bool`: CBOR true/false. */
export const bool: Schema<boolean> = leaf("bool", (v) => typeof v === "boolean", () => true);

/** Python `bytes`: a CBOR byte string. */
export const bytes: Schema<Uint8Array> = leaf(
  "bytes",
  (v) => v instanceof Uint8Array,
  () => Uint8Array.of(1, 2, 3),
);

/** Python `None`: only null. */
export const none: Schema<null> = leaf("None", (v) => v === null, () => null);

/** The no-data sentinel itself (tag 2002), e.g. the data of a forwarded `DIE`. */
export const noData: Schema<NoData> = leaf("NoData", (v) => v === NO_DATA, () => NO_DATA);

/** Python `datetime`: a `Date` (decoded as {@link PreciseDate}, keeping microseconds). */
export const datetime: Schema<Date> = {
  description: "datetime",
  fromWire(raw) {
    return raw instanceof Date ? raw : refuse("datetime", raw);
  },
  toWire(value) {
    if (!(value instanceof Date)) return refuse("datetime", value);
    try {
      formatDatetime(value);
    } catch (e) {
      throw new SchemaError(`expected datetime, got ${(e as Error).message}`);
    }
    return value;
  },
  example: () => new PreciseDate(Date.UTC(2024, 0, 2, 3, 4, 5, 123), 456),
};

/** Python `timedelta`: a {@link TimeDelta}. */
export const timedelta: Schema<TimeDelta> = leaf(
  "timedelta",
  (v) => v instanceof TimeDelta,
  () => new TimeDelta(0, 300, 250_000),
);

/** voluptuous `Extra`: anything, passed through untouched (floats stay {@link Float64}). */
export const any: Schema<unknown> = {
  description: "any",
  fromWire: (raw) => raw,
  toWire: (value) => {
    if (value === undefined) return refuse("any value", value);
    return value;
  },
  example: () => ["any", 1, new Float64(2.5), null],
};

/** Exactly the text `value` (used to tell the alternatives of REBUILD apart). */
export function literal<const L extends string>(value: L): Schema<L> {
  const description = JSON.stringify(value);
  const check = (v: unknown): L => {
    if (v === value) return value;
    throw new SchemaError(`expected ${description}, got ${describeValue(v)}`, true);
  };
  return { description, fromWire: check, toWire: check, example: () => value };
}

/** voluptuous `Any(x, None)`: the value or null. */
export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  const description = `${schema.description}|None`;
  const convert = (value: unknown, dir: "fromWire" | "toWire") => {
    if (value === null) return null;
    try {
      return schema[dir](value) as T;
    } catch (e) {
      // Say that null would have done too, unless the problem lies deeper inside.
      if (e instanceof SchemaError && e.path.length === 0) refuse(description, value);
      throw e;
    }
  };
  return {
    description,
    fromWire: (raw) => convert(raw, "fromWire"),
    toWire: (value) => convert(value, "toWire"),
    example: () => schema.example(),
  };
}

/** One element of a {@link tuple}: a schema, or `[label, schema]` to name it in errors. */
export type TupleItem = Schema<unknown> | readonly [string, Schema<unknown>];

type ItemType<I> = I extends readonly [string, Schema<infer T>] ? T
  : I extends Schema<infer T> ? T
  : never;

/** The typed tuple a list of {@link TupleItem}s describes. */
export type TupleOf<A extends readonly unknown[]> = { -readonly [K in keyof A]: ItemType<A[K]> };

/**
 * voluptuous `ExactSequence`: an array of exactly these items, in order.
 *
 * @example
 * ```ts
 * const build = tuple(["package", str], ["version", str]); // Schema<[string, string]>
 * ```
 */
export function tuple<const A extends readonly TupleItem[]>(...items: A): Schema<TupleOf<A>> {
  const schemas = items.map((i) => Array.isArray(i) ? i[1] : i) as Schema<unknown>[];
  const segments = items.map((i, n) => Array.isArray(i) ? `.${i[0]}` : `[${n}]`);
  const description = `[${schemas.map((s) => s.description).join(", ")}]`;
  const convert = (value: unknown, dir: "fromWire" | "toWire") => {
    if (!Array.isArray(value)) {
      return refuse(`array of ${schemas.length} items ${description}`, value);
    }
    if (value.length !== schemas.length) {
      throw new SchemaError(
        `expected exactly ${schemas.length} items ${description}, got ${value.length}`,
      );
    }
    const out = new Array(schemas.length);
    for (let i = 0; i < schemas.length; i++) {
      try {
        out[i] = schemas[i][dir](value[i]);
      } catch (e) {
        if (e instanceof SchemaError) e.within(segments[i]);
        throw e;
      }
    }
    return out as TupleOf<A>;
  };
  return {
    description,
    fromWire: (raw) => convert(raw, "fromWire"),
    toWire: (value) => convert(value, "toWire"),
    example: () => schemas.map((s) => s.example()) as TupleOf<A>,
  };
}

/** Python `[x]`: an array of any length whose items all match `schema`. */
export function list<T>(schema: Schema<T>): Schema<T[]> {
  const convert = (value: unknown, dir: "fromWire" | "toWire") => {
    if (!Array.isArray(value)) return refuse(`array of ${schema.description}`, value);
    return value.map((item, i) => under(`[${i}]`, () => schema[dir](item))) as T[];
  };
  return {
    description: `[${schema.description}…]`,
    fromWire: (raw) => convert(raw, "fromWire"),
    toWire: (value) => convert(value, "toWire"),
    example: () => [schema.example()],
  };
}

function setKey<T>(obj: Record<string, T>, key: string, value: T): void {
  // Plain assignment of "__proto__" would replace the prototype instead of adding a key.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Python `{str: x}`: a map with text keys, typed as a plain object. Sent from a plain object or
 * a `Map`; keys keep their order, except that JavaScript lists integer-like keys first.
 */
export function mapOf<T>(schema: Schema<T>): Schema<Record<string, T>> {
  const description = `{str: ${schema.description}}`;
  const entries = (value: unknown): [string, unknown][] => {
    if (isPlainObject(value)) return Object.entries(value);
    if (!(value instanceof Map)) return refuse(`map ${description}`, value);
    const pairs = [...value.entries()];
    if (pairs.some(([key]) => typeof key !== "string")) {
      return refuse(`map with str keys ${description}`, value);
    }
    return pairs;
  };
  return {
    description,
    fromWire(raw) {
      const out: Record<string, T> = {};
      for (const [key, item] of entries(raw)) {
        setKey(out, key, under(`[${JSON.stringify(key)}]`, () => schema.fromWire(item)));
      }
      return out;
    },
    toWire(value) {
      const out = new Map<string, unknown>();
      for (const [key, item] of entries(value)) {
        out.set(key, under(`[${JSON.stringify(key)}]`, () => schema.toWire(item)));
      }
      return out;
    },
    example: () => ({ key: schema.example() }),
  };
}

/** Python `set` (CBOR tag 258) whose items all match `schema`. */
export function setOf<T>(schema: Schema<T>): Schema<Set<T>> {
  const description = `{${schema.description}…}`;
  const convert = (value: unknown, dir: "fromWire" | "toWire") => {
    if (!(value instanceof Set)) return refuse(`set ${description}`, value);
    return new Set([...value].map((item) => under("{item}", () => schema[dir](item)))) as Set<T>;
  };
  return {
    description,
    fromWire: (raw) => convert(raw, "fromWire"),
    toWire: (value) => convert(value, "toWire"),
    example: () => new Set([schema.example()]),
  };
}

/** voluptuous `Any(a, b, …)`: the first alternative that matches. */
export function oneOf<const A extends readonly Schema<unknown>[]>(
  ...alternatives: A
): Schema<Infer<A[number]>> {
  const description = alternatives.map((s) => s.description).join(" | ");
  const convert = (value: unknown, dir: "fromWire" | "toWire") => {
    const errors: SchemaError[] = [];
    for (const alt of alternatives) {
      try {
        return alt[dir](value) as Infer<A[number]>;
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
        errors.push(e);
      }
    }
    // An alternative whose literal matched but which failed further in is the one meant.
    const meant = errors.filter((e) => e.path.length > 0 && !e.wrongAlternative);
    if (meant.length === 1) throw meant[0];
    return refuse(`one of ${description}`, value);
  };
  return {
    description,
    fromWire: (raw) => convert(raw, "fromWire"),
    toWire: (value) => convert(value, "toWire"),
    example: () => alternatives[0].example() as Infer<A[number]>,
  };
}

/** A field of an {@link object} that may be left out (see {@link optional}). */
export interface Optional<T> {
  /** The field's schema when it is there. */
  readonly optional: Schema<T>;
}

/** Mark a field of an {@link object} as one that may be left out. */
export function optional<T>(schema: Schema<T>): Optional<T> {
  return { optional: schema };
}

/** The fields of an {@link object}: a schema each, or an {@link Optional} one. */
export type Fields = Record<string, Schema<unknown> | Optional<unknown>>;

type RequiredKeys<F> = { [K in keyof F]: F[K] extends Optional<unknown> ? never : K }[keyof F];
type OptionalKeys<F> = { [K in keyof F]: F[K] extends Optional<unknown> ? K : never }[keyof F];

type Flat<T> = { [K in keyof T]: T[K] } & unknown;

/** The typed object a set of {@link Fields} describes. */
export type ObjectOf<F extends Fields> = Flat<
  & { -readonly [K in RequiredKeys<F>]: F[K] extends Schema<infer T> ? T : never }
  & { -readonly [K in OptionalKeys<F>]?: F[K] extends Optional<infer T> ? T : never }
>;

/**
 * A map with these text keys (voluptuous `Schema({...})`), typed as a plain object: every field
 * not marked {@link optional} must be there, and no other key may be. Fields are written in the
 * order given; an optional field that is `undefined` is left out.
 *
 * @example
 * ```ts
 * const abiStatus = object({ status: str, buildId: optional(nullable(int)) });
 * // Schema<{ status: string; buildId?: number | null }>
 * ```
 */
export function object<const F extends Fields>(fields: F): Schema<ObjectOf<F>> {
  const names = Object.keys(fields);
  const schemas = names.map((name) => {
    const field = fields[name];
    return "optional" in field ? field.optional : field;
  });
  const required = names.map((name) => !("optional" in fields[name]));
  const known = new Set(names);
  const description = `{${names.map((n, i) => required[i] ? n : `${n}?`).join(", ")}}`;
  const convert = (value: unknown, dir: "fromWire" | "toWire") => {
    if (!isPlainObject(value)) return refuse(`map ${description}`, value);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const item = Object.hasOwn(value, name) ? value[name] : undefined;
      if (item === undefined) {
        if (required[i]) throw new SchemaError(`missing field ${name} of ${description}`);
        continue;
      }
      out[name] = under(`.${name}`, () => schemas[i][dir](item));
    }
    for (const key of Object.keys(value)) {
      if (!known.has(key)) {
        throw new SchemaError(`unexpected field ${JSON.stringify(key)} in ${description}`);
      }
    }
    return out as ObjectOf<F>;
  };
  return {
    description,
    fromWire: (raw) => convert(raw, "fromWire"),
    toWire: (value) => convert(value, "toWire"),
    example: () =>
      Object.fromEntries(names.map((n, i) => [n, schemas[i].example()])) as ObjectOf<F>,
  };
}

/**
 * An item of a batch that is handled one by one: when it does not match `schema` it is received
 * as its {@link SchemaError} instead of failing the whole message, so one bad item costs only
 * itself. Sent as `schema` sends it.
 */
export function orError<T>(schema: Schema<T>): Schema<T | SchemaError> {
  return {
    description: schema.description,
    fromWire(raw) {
      try {
        return schema.fromWire(raw);
      } catch (e) {
        if (e instanceof SchemaError) return e;
        throw e;
      }
    },
    toWire: (value) => schema.toWire(value),
    example: () => schema.example(),
  };
}
