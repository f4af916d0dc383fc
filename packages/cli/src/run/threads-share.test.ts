import { describe, expect, it } from 'vitest';
import { threadsShareEnv } from './threads-share.js';

describe('threadsShareEnv', () => {
  it('gives each of the jobs at once an equal share of the cores, at least one', () => {
    expect(threadsShareEnv(1, {}, 16)).toEqual({ GBP_THREADS: '16' });
    expect(threadsShareEnv(2, {}, 16)).toEqual({ GBP_THREADS: '8' });
    expect(threadsShareEnv(3, {}, 16)).toEqual({ GBP_THREADS: '5' });
    expect(threadsShareEnv(4, {}, 2)).toEqual({ GBP_THREADS: '1' });
  });

  it("leaves the user's GBP_THREADS as it is", () => {
    expect(threadsShareEnv(2, { GBP_THREADS: '6' }, 16)).toEqual({});
    expect(threadsShareEnv(2, { GBP_THREADS: '' }, 16)).toEqual({ GBP_THREADS: '8' });
  });
});
