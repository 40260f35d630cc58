import { describe, expect, it } from 'vitest';
import { closest, distance } from '../../../lib/cli/suggest.ts';

describe('did you mean', () => {
  it('measures edits, a swap of neighbours counting one', () => {
    expect(distance('regster', 'register')).toBe(1);
    expect(distance('reigster', 'register')).toBe(1);
    expect(distance('list', 'list')).toBe(0);
  });

  it('suggests the nearest name when it is near enough, and nothing for a word far from all', () => {
    expect(closest('start', ['start-time', 'end-time', 'output-folder'])).toBe('start-time');
    expect(closest('ouput-folder', ['start-time', 'output-folder'])).toBe('output-folder');
    expect(closest('frobnicate', ['register', 'list', 'delete', 'test'])).toBeUndefined();
  });
});
