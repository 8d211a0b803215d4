/**
 * Many AWS calls at once, within the services' quotas: at most `limit` in flight, and, for APIs with a
 * per-second quota per account (KVS GetDataEndpoint: 300 TPS), at most so many started a second.
 */

/** Runs `task` for every item, at most `limit` at once; results in the items' order. */
export async function mapWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** At most `perSecond` starts in any second (a sliding window), shared by every caller of `take`. */
export class RateLimit {
  private readonly starts: number[] = [];

  constructor(
    readonly perSecond: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async take(): Promise<void> {
    for (;;) {
      const now = this.clock();
      while (this.starts.length > 0 && now - this.starts[0] >= 1000) this.starts.shift();
      if (this.starts.length < this.perSecond) {
        this.starts.push(now);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 - (now - this.starts[0]) + 1));
    }
  }
}
