import assert from "node:assert/strict";
import {
  encodeFault,
  encodeMethodCall,
  encodeMethodResponse,
  parseMethodCall,
  parseMethodResponse,
  XmlRpcFault,
  XmlRpcParseError,
  type XmlRpcValue,
} from "../../src/pypi/xmlrpc.ts";

Deno.test("encodes a changelog_since_serial call that parses back", () => {
  const xml = encodeMethodCall("changelog_since_serial", [628000]);
  assert.match(xml, /<methodName>changelog_since_serial<\/methodName>/);
  assert.match(xml, /<param><value><int>628000<\/int><\/value><\/param>/);
  assert.deepEqual(parseMethodCall(xml), { method: "changelog_since_serial", params: [628000] });
});

Deno.test("parses a PyPI-style answer with strings, ints and nil versions", () => {
  const xml = `<?xml version='1.0'?>
<methodResponse>
<params>
<param>
<value><array><data>
<value><array><data>
<value><string>foo</string></value>
<value><string>1.0</string></value>
<value><int>1700000000</int></value>
<value><string>add source file foo-1.0.tar.gz</string></value>
<value><int>22406780</int></value>
</data></array></value>
<value><array><data>
<value><string>Bar_Baz</string></value>
<value><nil/></value>
<value><i4>1700000001</i4></value>
<value>create</value>
<value><i8>22406781</i8></value>
</data></array></value>
</data></array></value>
</param>
</params>
</methodResponse>
`;
  assert.deepEqual(parseMethodResponse(xml), [
    ["foo", "1.0", 1700000000, "add source file foo-1.0.tar.gz", 22406780],
    ["Bar_Baz", null, 1700000001, "create", 22406781],
  ]);
});

Deno.test("parses a fault into XmlRpcFault with its code and string", () => {
  const xml = `<?xml version="1.0"?>
<methodResponse><fault><value><struct>
  <member><name>faultCode</name><value><int>-32500</int></value></member>
  <member><name>faultString</name><value><string>HTTPTooManyRequests: slow down</string></value></member>
</struct></value></fault></methodResponse>`;
  assert.throws(
    () => parseMethodResponse(xml),
    (error: unknown) =>
      error instanceof XmlRpcFault && error.faultCode === -32500 &&
      error.faultString === "HTTPTooManyRequests: slow down",
  );
});

Deno.test("encodeFault round-trips through the parser", () => {
  assert.throws(
    () => parseMethodResponse(encodeFault(-32601, 'method "x" <not> found & gone')),
    (error: unknown) =>
      error instanceof XmlRpcFault && error.faultCode === -32601 &&
      error.faultString === 'method "x" <not> found & gone',
  );
});

Deno.test("hostile strings survive an encode/parse round trip", () => {
  const hostile = [
    "<script>alert(1)</script>",
    "&amp; &lt; &#x41; &bogus;",
    "]]> <![CDATA[ x ]]>",
    "</string></value></data></array>",
    "line\r\nbreaks\rand\ttabs\n",
    "emoji 🐍 and RTL \u202e and BOM \ufeff",
    "  leading and trailing spaces  ",
    "",
    "a".repeat(10_000),
  ];
  const value: XmlRpcValue = [hostile, { "__proto__": "member", "<&>": hostile[0] }];
  const parsed = parseMethodResponse(encodeMethodResponse(value));
  assert.deepEqual(parsed, value);
  assert.equal(Object.getPrototypeOf((parsed as XmlRpcValue[])[1]), Object.prototype);
});

Deno.test("encodes every value type and parses it back", () => {
  const value: XmlRpcValue = [
    0,
    -1,
    2 ** 31 - 1,
    2 ** 40,
    1.5,
    true,
    false,
    null,
    new Uint8Array([0, 1, 254, 255]),
    [],
    {},
    { nested: [{ deep: [null] }] },
  ];
  assert.deepEqual(parseMethodResponse(encodeMethodResponse(value)), value);
  assert.match(encodeMethodResponse(2 ** 40), /<i8>1099511627776<\/i8>/);
});

Deno.test("refuses to encode characters XML cannot carry", () => {
  assert.throws(() => encodeMethodResponse("nul\u0000byte"), RangeError);
  assert.throws(() => encodeMethodResponse("bell\u0007"), RangeError);
  assert.throws(() => encodeMethodResponse(NaN), RangeError);
});

Deno.test("decodes entities, character references, CDATA and comments", () => {
  const xml = `<?xml version="1.0"?><!-- hi --><methodResponse><params><param>
    <value><array><data>
      <value><string>&lt;a&gt; &amp; &quot;b&quot; &apos;c&apos; &#65;&#x42;&#x1F40D;</string></value>
      <value><string><![CDATA[<raw & text>]]> tail</string></value>
      <value>untyped <!-- comment --> text</value>
      <value/>
      <value><string/></value>
      <value><array><data/></array></value>
      <value><struct></struct></value>
      <value><boolean>1</boolean></value>
      <value><double>-2.5e3</double></value>
      <value><ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/></value>
    </data></array></value>
  </param></params></methodResponse>`;
  assert.deepEqual(parseMethodResponse(xml), [
    `<a> & "b" 'c' AB🐍`,
    "<raw & text> tail",
    "untyped  text",
    "",
    "",
    [],
    {},
    true,
    -2500,
    null,
  ]);
});

Deno.test("rejects malformed documents with XmlRpcParseError", () => {
  const wrap = (inner: string) =>
    `<?xml version="1.0"?><methodResponse><params><param>${inner}</param></params></methodResponse>`;
  const bad = [
    "",
    "<html><body>502 Bad Gateway</body></html>",
    wrap("<value><string>unterminated"),
    wrap("<value><int>12x</int></value>"),
    wrap("<value><int>99999999999999999999</int></value>"),
    wrap("<value><boolean>yes</boolean></value>"),
    wrap("<value><float>1</float></value>"),
    wrap("<value><string>bare & ampersand</string></value>"),
    wrap("<value><string>&unknown;</string></value>"),
    wrap("<value><string>a</int></value>"),
    wrap("<value>text<string>mixed</string></value>"),
    wrap("<value><array><value>1</value></array></value>"),
    wrap("<value><string>ok</string></value>") + "trailing",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><methodResponse/>',
    '<?xml version="1.0"?><methodResponse><fault><value><string>no struct</string></value>' +
    "</fault></methodResponse>",
  ];
  for (const xml of bad) {
    assert.throws(() => parseMethodResponse(xml), XmlRpcParseError, `accepted: ${xml}`);
  }
});

Deno.test("parses a method call without params", () => {
  assert.deepEqual(
    parseMethodCall("<methodCall><methodName>changelog_last_serial</methodName></methodCall>"),
    { method: "changelog_last_serial", params: [] },
  );
});
