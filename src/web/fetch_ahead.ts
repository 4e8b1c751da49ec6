/**
 * Reading ahead: while one chunk of items is being used, the data of the next is already being
 * fetched, so a full website rebuild keeps the database and the page writer busy at once.
 * @module
 */

/**
 * Each item of `items` with its fetched result, in order; `fetch` gets chunks of `size` items
 * and returns one result per item, and the next chunk is asked for before the current one is
 * handed out.
 * @example
 * for await (const [pkg, data] of fetchAhead(pkgs, 100, (c) => db.getProjectsData(c))) write(data);
 */
export async function* fetchAhead<T, R>(
  items: readonly T[],
  size: number,
  fetch: (chunk: T[]) => Promise<R[]>,
): AsyncGenerator<[T, R]> {
  let next: Promise<R[]> | null = items.length ? fetch(items.slice(0, size)) : null;
  try {
    for (let start = 0; start < items.length; start += size) {
      const chunk = items.slice(start, start + size);
      const results = await next!;
      if (results.length !== chunk.length) {
        throw new Error(`fetched ${results.length} results for ${chunk.length} items`);
      }
      const after = start + size;
      next = after < items.length ? fetch(items.slice(after, after + size)) : null;
      for (const [i, item] of chunk.entries()) yield [item, results[i]];
    }
  } finally {
    // A consumer that stops early leaves a fetch running: its failure is of no interest now.
    next?.catch(() => {});
  }
}
