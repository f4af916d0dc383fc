import { describe, expect, it } from 'vitest';
import { PluginError } from '../hooks/registry.js';
import { AbortError } from '../train/index.js';
import { classifyFailure } from './failure.js';

describe('classifyFailure', () => {
  it('tells an abort (ours or any AbortError) from a failure', () => {
    expect(classifyFailure(new AbortError())).toMatchObject({ aborted: true });
    const foreign = Object.assign(new Error('stop'), { name: 'AbortError' });
    expect(classifyFailure(foreign)).toEqual({ aborted: true, error: foreign });
  });

  it('describes a failure with its code, and a pruner’s with plugin and hook', () => {
    const plugin = classifyFailure(new PluginError('movement', 'afterStep', new Error('boom')));
    expect(plugin).toMatchObject({ aborted: false, info: { message: 'pruner movement, hook afterStep: boom', code: 'PLUGIN_ERROR', plugin: 'movement', hook: 'afterStep' } });
    const coded = classifyFailure(Object.assign(new Error('no such file'), { code: 'ENOENT' }));
    expect(coded).toMatchObject({ aborted: false, info: { message: 'no such file', code: 'ENOENT' } });
    expect(classifyFailure('a string')).toMatchObject({ aborted: false, info: { message: 'a string' } });
  });
});
