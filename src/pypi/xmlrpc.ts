/**
 * A minimal XML-RPC codec: enough to call PyPI's `changelog_since_serial` and read its answer
 * (arrays of strings, integers and nil) or a fault, plus the encoders a test stand-in needs.
 *
 * Written here rather than taken from npm because the subset is small and the parser must be
 * fast (a 50,000-event answer is about 5 MB of XML) and strict about what it accepts.
 * @module
 */

/** A value that XML-RPC can carry; `null` is the `<nil/>` extension PyPI uses. */
export type XmlRpcValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | XmlRpcValue[]
  | { [member: string]: XmlRpcValue };

/** A `<fault>` answer from an XML-RPC server. */
export class XmlRpcFault extends Error {
  override name = "XmlRpcFault";
  /** Create a fault with the server's code and message. */
  constructor(readonly faultCode: number, readonly faultString: string) {
    super(`XML-RPC fault ${faultCode}: ${faultString}`);
  }
}

/** The document is not well-formed XML-RPC; the message says where. */
export class XmlRpcParseError extends Error {
  override name = "XmlRpcParseError";
}

/** A method call decoded by `parseMethodCall`. */
export interface XmlRpcCall {
  /** The `<methodName>`. */
  method: string;
  /** The decoded `<param>` values, in order. */
  params: XmlRpcValue[];
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Encode a `<methodCall>` document. */
export function encodeMethodCall(method: string, params: readonly XmlRpcValue[]): string {
  let xml = '<?xml version="1.0"?>\n<methodCall><methodName>' + escapeText(method) +
    "</methodName><params>";
  for (const param of params) xml += "<param>" + encodeValue(param) + "</param>";
  return xml + "</params></methodCall>\n";
}

/** Encode a `<methodResponse>` carrying one return value. */
export function encodeMethodResponse(value: XmlRpcValue): string {
  return '<?xml version="1.0"?>\n<methodResponse><params><param>' + encodeValue(value) +
    "</param></params></methodResponse>\n";
}

/** Encode a `<methodResponse>` carrying a fault. */
export function encodeFault(faultCode: number, faultString: string): string {
  return '<?xml version="1.0"?>\n<methodResponse><fault>' +
    encodeValue({ faultCode, faultString }) + "</fault></methodResponse>\n";
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

// String concatenation, not an array join: V8 builds ropes, several times faster for the
// hundreds of thousands of small pieces in a 50,000-event answer.
function encodeValue(value: XmlRpcValue): string {
  if (value === null) return "<value><nil/></value>";
  if (typeof value === "string") return "<value><string>" + escapeText(value) + "</string></value>";
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) {
      return "<value><int>" + value + "</int></value>";
    }
    if (Number.isSafeInteger(value)) return "<value><i8>" + value + "</i8></value>";
    if (Number.isFinite(value)) return "<value><double>" + value + "</double></value>";
    throw new RangeError(`XML-RPC cannot carry the number ${value}`);
  }
  if (typeof value === "boolean") {
    return "<value><boolean>" + (value ? "1" : "0") + "</boolean></value>";
  }
  if (value instanceof Uint8Array) return "<value><base64>" + toBase64(value) + "</base64></value>";
  if (Array.isArray(value)) {
    let xml = "<value><array><data>";
    for (const item of value) xml += encodeValue(item);
    return xml + "</data></array></value>";
  }
  let xml = "<value><struct>";
  for (const [name, member] of Object.entries(value)) {
    xml += "<member><name>" + escapeText(name) + "</name>" + encodeValue(member) + "</member>";
  }
  return xml + "</struct></value>";
}

// XML 1.0 cannot carry most C0 controls even as character references, so refuse them rather
// than emit a document the other side must reject.
// deno-lint-ignore no-control-regex
const FORBIDDEN_XML_CHARS = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;

function escapeText(text: string): string {
  if (FORBIDDEN_XML_CHARS.test(text)) {
    throw new RangeError(`XML cannot carry the control characters in ${JSON.stringify(text)}`);
  }
  if (!/[&<>\r]/.test(text)) return text;
  // \r is escaped because XML parsers turn a literal one into \n.
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/\r/g, "&#13;");
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Parse a `<methodResponse>`: its value, or throw `XmlRpcFault` / `XmlRpcParseError`. */
export function parseMethodResponse(xml: string): XmlRpcValue {
  const r = new Reader(xml);
  r.prolog();
  r.expect("methodResponse", OPEN);
  const tag = r.tag();
  let result: XmlRpcValue;
  if (tag.name === "params" && tag.kind === OPEN) {
    r.expect("param", OPEN);
    result = r.valueElement();
    r.expect("param", CLOSE);
    r.expect("params", CLOSE);
  } else if (tag.name === "fault" && tag.kind === OPEN) {
    const fault = r.valueElement();
    r.expect("fault", CLOSE);
    r.expect("methodResponse", CLOSE);
    r.end();
    throw faultFrom(fault);
  } else {
    throw r.error(`expected <params> or <fault>, found ${describe(tag)}`);
  }
  r.expect("methodResponse", CLOSE);
  r.end();
  return result;
}

/** Parse a `<methodCall>` (used by the PyPI stand-in in tests). */
export function parseMethodCall(xml: string): XmlRpcCall {
  const r = new Reader(xml);
  r.prolog();
  r.expect("methodCall", OPEN);
  r.expect("methodName", OPEN);
  const method = r.text().trim();
  r.expect("methodName", CLOSE);
  const params: XmlRpcValue[] = [];
  let tag = r.tag();
  if (tag.name === "params" && tag.kind === OPEN) {
    for (tag = r.tag(); tag.name === "param" && tag.kind === OPEN; tag = r.tag()) {
      params.push(r.valueElement());
      r.expect("param", CLOSE);
    }
    if (tag.name !== "params" || tag.kind !== CLOSE) {
      throw r.error(`expected <param> or </params>, found ${describe(tag)}`);
    }
    tag = r.tag();
  } else if (tag.name === "params" && tag.kind === EMPTY) {
    tag = r.tag();
  }
  if (tag.name !== "methodCall" || tag.kind !== CLOSE) {
    throw r.error(`expected </methodCall>, found ${describe(tag)}`);
  }
  r.end();
  return { method, params };
}

function faultFrom(value: XmlRpcValue): XmlRpcFault {
  if (
    value !== null && typeof value === "object" && !Array.isArray(value) &&
    !(value instanceof Uint8Array) && typeof value.faultCode === "number" &&
    typeof value.faultString === "string"
  ) {
    return new XmlRpcFault(value.faultCode, value.faultString);
  }
  throw new XmlRpcParseError("fault is not a struct with faultCode (int) and faultString");
}

const OPEN = 0;
const CLOSE = 1;
const EMPTY = 2;
type TagKind = typeof OPEN | typeof CLOSE | typeof EMPTY;

interface Tag {
  name: string;
  kind: TagKind;
}

function describe(tag: Tag): string {
  return tag.kind === CLOSE
    ? `</${tag.name}>`
    : tag.kind === EMPTY
    ? `<${tag.name}/>`
    : `<${tag.name}>`;
}

const OPEN_LITERALS: Record<string, string> = {};
const CLOSE_LITERALS: Record<string, string> = {};
const NOT_FAST = Symbol("not fast");

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** A cursor over the document; only the constructs XML-RPC uses are accepted. */
class Reader {
  pos = 0;
  constructor(readonly xml: string) {}

  error(message: string): XmlRpcParseError {
    return new XmlRpcParseError(`${message} at offset ${this.pos}`);
  }

  /** Skip the XML declaration, comments and whitespace before the root element. */
  prolog(): void {
    if (this.xml.charCodeAt(0) === 0xFEFF) this.pos = 1;
    this.skipMisc();
  }

  /** Only whitespace, comments and processing instructions may follow the root element. */
  end(): void {
    this.skipMisc();
    if (this.pos < this.xml.length) throw this.error("unexpected content after the root element");
  }

  skipMisc(): void {
    const xml = this.xml;
    for (;;) {
      while (this.pos < xml.length && isSpace(xml.charCodeAt(this.pos))) this.pos++;
      if (xml.startsWith("<?", this.pos)) {
        this.skipPast("?>");
      } else if (xml.startsWith("<!--", this.pos)) {
        this.skipPast("-->");
      } else if (xml.startsWith("<!", this.pos)) {
        // DOCTYPE and friends could declare entities; XML-RPC never needs them.
        throw this.error("declarations are not allowed");
      } else {
        return;
      }
    }
  }

  skipPast(terminator: string): void {
    const end = this.xml.indexOf(terminator, this.pos);
    if (end < 0) throw this.error(`unterminated markup (no ${terminator})`);
    this.pos = end + terminator.length;
  }

  /** The next tag; only whitespace or comments may come before it. */
  tag(): Tag {
    this.skipMisc();
    const xml = this.xml;
    if (xml.charCodeAt(this.pos) !== 0x3C) {
      throw this.error(this.pos >= xml.length ? "unexpected end of document" : "expected a tag");
    }
    const end = xml.indexOf(">", this.pos);
    if (end < 0) throw this.error("unterminated tag");
    let start = this.pos + 1;
    let stop = end;
    let kind: TagKind = OPEN;
    if (xml.charCodeAt(start) === 0x2F) {
      kind = CLOSE;
      start++;
    } else if (xml.charCodeAt(stop - 1) === 0x2F) {
      kind = EMPTY;
      stop--;
    }
    let nameEnd = start;
    while (nameEnd < stop && !isSpace(xml.charCodeAt(nameEnd))) nameEnd++;
    let name = xml.slice(start, nameEnd);
    // Some servers namespace the extension types (`<ex:nil/>`, `<ex:i8>`).
    const colon = name.indexOf(":");
    if (colon >= 0) name = name.slice(colon + 1);
    if (!name) throw this.error("tag without a name");
    this.pos = end + 1;
    return { name, kind };
  }

  expect(name: string, kind: TagKind): void {
    // Fast path: the tag exactly as encoders write it, after optional whitespace.
    const xml = this.xml;
    let p = this.pos;
    while (isSpace(xml.charCodeAt(p))) p++;
    const literal = kind === CLOSE
      ? (CLOSE_LITERALS[name] ??= `</${name}>`)
      : kind === OPEN
      ? (OPEN_LITERALS[name] ??= `<${name}>`)
      : `<${name}/>`;
    if (xml.startsWith(literal, p)) {
      this.pos = p + literal.length;
      return;
    }
    const at = this.pos;
    const tag = this.tag();
    if (tag.name !== name || tag.kind !== kind) {
      this.pos = at;
      throw this.error(`expected ${describe({ name, kind })}, found ${describe(tag)}`);
    }
  }

  /** Character data up to the next tag, with references decoded and CDATA sections kept. */
  text(): string {
    const xml = this.xml;
    let result = "";
    for (;;) {
      const lt = xml.indexOf("<", this.pos);
      if (lt < 0) throw this.error("unexpected end of document in text");
      result += this.decode(xml.slice(this.pos, lt));
      this.pos = lt;
      if (xml.startsWith("<![CDATA[", lt)) {
        const end = xml.indexOf("]]>", lt + 9);
        if (end < 0) throw this.error("unterminated CDATA section");
        result += xml.slice(lt + 9, end).replace(/\r\n?/g, "\n");
        this.pos = end + 3;
      } else if (xml.startsWith("<!--", lt)) {
        this.skipPast("-->");
      } else {
        return result;
      }
    }
  }

  decode(raw: string): string {
    if (raw.indexOf("&") < 0 && raw.indexOf("\r") < 0) return raw;
    return raw.replace(/\r\n?/g, "\n").replace(/&([^;&<]*);|&/g, (match, ref?: string) => {
      if (ref === undefined) throw this.error("bare & in text");
      if (ref.startsWith("#")) {
        const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        if (!/^#(x[0-9a-fA-F]+|[0-9]+)$/.test(ref) || !(code >= 0 && code <= 0x10FFFF)) {
          throw this.error(`bad character reference ${match}`);
        }
        return String.fromCodePoint(code);
      }
      const entity = ENTITIES[ref];
      if (entity === undefined) throw this.error(`unknown entity ${match}`);
      return entity;
    });
  }

  /** A whole `<value>…</value>` element. */
  valueElement(): XmlRpcValue {
    const tag = this.tag();
    if (tag.name !== "value" || tag.kind === CLOSE) {
      throw this.error(`expected <value>, found ${describe(tag)}`);
    }
    return tag.kind === EMPTY ? "" : this.valueBody();
  }

  /** The contents of a `<value>` whose open tag has been read, and its close tag. */
  valueBody(): XmlRpcValue {
    const text = this.text();
    const fast = text === "" || !text.trim() ? this.fastScalar() : NOT_FAST;
    if (fast !== NOT_FAST) return fast;
    if (this.xml.startsWith("</", this.pos)) {
      this.expect("value", CLOSE);
      return text; // an untyped value is a string
    }
    if (text.trim()) throw this.error("text mixed with a typed value");
    const type = this.tag();
    if (type.kind === CLOSE) throw this.error(`unexpected ${describe(type)} in <value>`);
    let value: XmlRpcValue;
    switch (type.name) {
      case "array":
        value = type.kind === EMPTY ? [] : this.arrayBody();
        break;
      case "struct":
        value = type.kind === EMPTY ? {} : this.structBody();
        break;
      case "nil":
        if (type.kind !== EMPTY) this.expect("nil", CLOSE);
        value = null;
        break;
      default:
        value = this.scalar(type.name, type.kind === EMPTY ? "" : this.closedText(type.name));
    }
    this.expect("value", CLOSE);
    return value;
  }

  /** The common `<string>`, `<int>` and `<nil/>` values, or NOT_FAST to take the long way. */
  fastScalar(): XmlRpcValue | typeof NOT_FAST {
    const xml = this.xml;
    const p = this.pos;
    if (xml.charCodeAt(p) !== 0x3C) return NOT_FAST;
    let value: XmlRpcValue;
    if (xml.startsWith("<string>", p)) {
      this.pos = p + 8;
      value = this.closedText("string");
    } else if (xml.startsWith("<int>", p)) {
      this.pos = p + 5;
      value = this.scalar("int", this.closedText("int"));
    } else if (xml.startsWith("<nil/>", p)) {
      this.pos = p + 6;
      value = null;
    } else {
      return NOT_FAST;
    }
    this.expect("value", CLOSE);
    return value;
  }

  closedText(name: string): string {
    const text = this.text();
    this.expect(name, CLOSE);
    return text;
  }

  scalar(type: string, text: string): XmlRpcValue {
    switch (type) {
      case "string":
        return text;
      case "int":
      case "i4":
      case "i8": {
        const trimmed = text.trim();
        const n = Number(trimmed);
        if (!/^[+-]?[0-9]+$/.test(trimmed) || !Number.isSafeInteger(n)) {
          throw this.error(`bad <${type}> ${JSON.stringify(text)}`);
        }
        return n;
      }
      case "boolean": {
        const trimmed = text.trim();
        if (trimmed !== "0" && trimmed !== "1") throw this.error(`bad <boolean> ${text}`);
        return trimmed === "1";
      }
      case "double": {
        const trimmed = text.trim();
        const n = Number(trimmed);
        if (!trimmed || !Number.isFinite(n)) throw this.error(`bad <double> ${text}`);
        return n;
      }
      case "base64":
        try {
          return Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
        } catch {
          throw this.error("bad <base64>");
        }
      case "dateTime.iso8601":
        return text.trim(); // not needed by PyPI; handed over unparsed
      default:
        throw this.error(`unknown value type <${type}>`);
    }
  }

  arrayBody(): XmlRpcValue[] {
    const data = this.tag();
    const items: XmlRpcValue[] = [];
    if (data.name !== "data" || data.kind === CLOSE) {
      throw this.error(`expected <data>, found ${describe(data)}`);
    }
    if (data.kind === OPEN) {
      const xml = this.xml;
      for (;;) {
        while (isSpace(xml.charCodeAt(this.pos))) this.pos++;
        if (xml.startsWith("<value>", this.pos)) {
          this.pos += 7;
          items.push(this.valueBody());
          continue;
        }
        const tag = this.tag();
        if (tag.name === "data" && tag.kind === CLOSE) break;
        if (tag.name !== "value" || tag.kind === CLOSE) {
          throw this.error(`expected <value> or </data>, found ${describe(tag)}`);
        }
        items.push(tag.kind === EMPTY ? "" : this.valueBody());
      }
    }
    this.expect("array", CLOSE);
    return items;
  }

  structBody(): { [member: string]: XmlRpcValue } {
    const members: { [member: string]: XmlRpcValue } = {};
    for (;;) {
      const tag = this.tag();
      if (tag.name === "struct" && tag.kind === CLOSE) return members;
      if (tag.name !== "member" || tag.kind !== OPEN) {
        throw this.error(`expected <member> or </struct>, found ${describe(tag)}`);
      }
      this.expect("name", OPEN);
      const name = this.closedText("name");
      // defineProperty so a member called __proto__ cannot change the object's prototype.
      Object.defineProperty(members, name, {
        value: this.valueElement(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.expect("member", CLOSE);
    }
  }
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0A || code === 0x09 || code === 0x0D;
}
