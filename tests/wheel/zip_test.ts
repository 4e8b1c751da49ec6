import assert from "node:assert/strict";
import { crc32, ZipError, ZipReader } from "../../src/wheel/mod.ts";

interface Member {
  name: string;
  text: string;
  deflate?: boolean;
}

// Zips written by Python's zipfile, so the reader is checked against an independent writer.
async function pythonZip(members: Member[], options: { zip64?: boolean; comment?: string } = {}) {
  const script = `
import json, sys, zipfile, io
spec = json.load(sys.stdin)
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    for m in spec["members"]:
        method = zipfile.ZIP_DEFLATED if m.get("deflate") else zipfile.ZIP_STORED
        info = zipfile.ZipInfo(m["name"])
        info.compress_type = method
        with z.open(info, "w", force_zip64=spec["zip64"]) as f:
            f.write(m["text"].encode())
    z.comment = spec["comment"].encode()
sys.stdout.buffer.write(buf.getvalue())
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(
    new TextEncoder().encode(
      JSON.stringify({ members, zip64: options.zip64 ?? false, comment: options.comment ?? "" }),
    ),
  );
  await w.close();
  const out = await child.output();
  assert.ok(out.success);
  return out.stdout;
}

const MEMBERS: Member[] = [
  { name: "pkg/__init__.py", text: "x = 1\n" },
  { name: "pkg/big.txt", text: "hello wheel ".repeat(5000), deflate: true },
  { name: "pkg-1.0.dist-info/METADATA", text: "Name: pkg\nVersion: 1.0\n", deflate: true },
  { name: "pkg/empty", text: "" },
];

Deno.test("computes CRC-32 like zlib", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array()), 0);
});

Deno.test("reads stored and deflated members with a trailing comment", async () => {
  const zip = await ZipReader.fromBytes(await pythonZip(MEMBERS, { comment: "a comment" }));
  assert.deepEqual(zip.names(), MEMBERS.map((m) => m.name));
  for (const m of MEMBERS) {
    assert.equal(new TextDecoder().decode(await zip.read(m.name)), m.text, m.name);
    assert.equal(zip.get(m.name)!.method, m.deflate ? 8 : 0);
  }
  zip.close();
});

Deno.test("reads ZIP64 archives", async () => {
  const zip = await ZipReader.fromBytes(await pythonZip(MEMBERS, { zip64: true }));
  assert.equal(new TextDecoder().decode(await zip.read("pkg/big.txt")), MEMBERS[1].text);
});

Deno.test("reads from a file without loading it whole", async () => {
  const path = await Deno.makeTempFile({ suffix: ".zip" });
  try {
    await Deno.writeFile(path, await pythonZip(MEMBERS));
    const zip = await ZipReader.open(path);
    assert.equal(new TextDecoder().decode(await zip.read("pkg/__init__.py")), "x = 1\n");
    zip.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("detects corrupt, truncated and non-zip data", async () => {
  const good = await pythonZip(MEMBERS);
  await assert.rejects(ZipReader.fromBytes(new TextEncoder().encode("not a zip")), ZipError);
  await assert.rejects(ZipReader.fromBytes(good.slice(0, good.length - 30)), ZipError);
  // Flip a byte inside the stored member's data: the CRC-32 check must catch it.
  const bad = good.slice();
  const at = new TextDecoder("latin1").decode(bad).indexOf("x = 1");
  bad[at] ^= 0xff;
  const zip = await ZipReader.fromBytes(bad);
  await assert.rejects(zip.read("pkg/__init__.py"), /CRC-32/);
  await assert.rejects(zip.read("missing"), ZipError);
});

Deno.test("refuses members that inflate beyond the size limit", async () => {
  const zip = await ZipReader.fromBytes(await pythonZip(MEMBERS));
  await assert.rejects(zip.read("pkg/big.txt", { maxSize: 1000 }), /larger than 1000/);
});
