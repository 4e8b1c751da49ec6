/**
 * Lines of access logs from standard input or files (`.gz` ones decompressed on the fly).
 * @module
 */

/**
 * The byte stream of `path` (`-` = standard input), gunzipped when it ends `.gz`. A plain
 * file's chunks share one buffer: each is only valid until the next is read.
 */
export async function openLog(path: string): Promise<ReadableStream<Uint8Array>> {
  const source = path === "-" ? Deno.stdin : await Deno.open(path);
  return path.endsWith(".gz")
    ? readerStream(source, false).pipeThrough(
      new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
    )
    : readerStream(source, true);
}

/** Read size: `readable`'s default chunks are small enough to dominate the cost of a log. */
const CHUNK = 1 << 20;

/**
 * Chunks read from `source`; with `reuse`, all in one buffer (a fresh megabyte per read costs
 * the kernel a page fault per 4 kB: as much as splitting the lines), read only when asked for.
 */
function readerStream(
  source: Deno.FsFile | typeof Deno.stdin,
  reuse: boolean,
): ReadableStream<Uint8Array> {
  const shared = reuse ? new Uint8Array(CHUNK) : null;
  return new ReadableStream({
    async pull(controller) {
      const buffer = shared ?? new Uint8Array(CHUNK);
      const n = await source.read(buffer);
      if (n === null) {
        if (source !== Deno.stdin) (source as Deno.FsFile).close();
        controller.close();
      } else {
        controller.enqueue(buffer.subarray(0, n));
      }
    },
    cancel() {
      if (source !== Deno.stdin) (source as Deno.FsFile).close();
    },
  }, { highWaterMark: reuse ? 0 : 1 });
}

/** The lines of a byte stream, without their line ends, a chunk's worth at a time. */
export async function* readLineBatches(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string[]> {
  // Logs should be ASCII; anything else is decoded leniently so one odd byte spoils one line.
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let rest = "";
  for await (const chunk of stream) {
    // Scanning the freshly decoded (flat) chunk is several times faster than splitting
    // `rest + chunk`, which V8 must first flatten.
    const text = decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      lines.push(trimCR(text.slice(start, nl)));
      start = nl + 1;
    }
    if (lines.length === 0) {
      rest += text;
      continue;
    }
    lines[0] = trimCR(rest + text.slice(0, text.indexOf("\n")));
    rest = text.slice(start);
    yield lines;
  }
  rest += decoder.decode();
  if (rest !== "") yield [trimCR(rest)];
}

function trimCR(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** The lines of a byte stream, without their line ends. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  for await (const batch of readLineBatches(stream)) yield* batch;
}
