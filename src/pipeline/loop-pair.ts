// A pipeline side runs two loops at once: one reads and submits chunks, the other writes results in order. The first
// failure of either halts the other (so neither waits forever on a peer that is gone), and the error that stopped the
// pipeline first is the one reported.

export async function runLoopPair(
  reader: () => Promise<void>,
  writer: () => Promise<void>,
  halt: (err: Error) => void,
  firstError: () => Error | null,
): Promise<void> {
  const guarded = (loop: () => Promise<void>) =>
    loop().catch((err: Error) => {
      halt(err);
      throw err;
    });
  const results = await Promise.allSettled([guarded(reader), guarded(writer)]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw firstError() ?? failed.reason;
}
