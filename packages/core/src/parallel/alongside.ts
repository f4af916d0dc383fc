/**
 * This thread's share of a split computation, run while the replicas work on theirs. Every replica
 * is waited for before anything is thrown, so none is left writing into shared memory unobserved.
 */

/**
 * Runs `own` (this thread's part) while `others` (the replicas' parts, already sent) run; returns
 * [own result, ...others' results]. On any failure: `release` frees own's result, then the first
 * error (own's first) is thrown.
 */
export async function alongside<T>(own: () => T | Promise<T>, others: readonly Promise<T>[], release?: (result: T) => void): Promise<T[]> {
  let mine: T | undefined;
  let ownError: unknown;
  let failedHere = false;
  try {
    mine = await own();
  } catch (error) {
    failedHere = true;
    ownError = error;
  }
  const settled = await Promise.allSettled(others);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failedHere || failed) {
    if (!failedHere && release) release(mine as T);
    throw failedHere ? ownError : failed!.reason;
  }
  return [mine as T, ...settled.map((s) => (s as PromiseFulfilledResult<T>).value)];
}
