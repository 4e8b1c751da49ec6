/**
 * Lines of access logs from standard input or files (`.gz` ones decompressed on the fly).
 * @module
 */

/** The byte stream of `path` (`-` = standard input), gunzipped when it ends `.gz`. */
export async function openLog(path: string): Promise<ReadableStream<Uint8Array>> {
  if (path === "-") return Deno.stdin.readable;
  const file = await Deno.open(path);
  const stream = file.readable;
  return path.endsWith(".gz")
    ? stream.pipeThrough(new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>)
    : stream;
}

/** The lines of a byte stream, without their line ends. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  // Logs should be ASCII; anything else is decoded leniently so one odd byte spoils one line.
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let rest = "";
  for await (const chunk of stream) {
    const text = rest + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield text.slice(start, end);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest !== "") yield rest;
}
