import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { handleError, toApiError, Events } from '$lib/api';
import { setLanguage } from '$lib/i18n';
import en from '$lib/i18n/en.json';
import zh from '$lib/i18n/zh-CN.json';

describe('handleError', () => {
  it.each([
    [{ code: 'bad_credentials', message: 'x' }, 'Wrong username or password.'],
    [{ code: 'username_taken', message: 'x' }, 'That username is already taken.'],
    [{ code: 'no_such_code', message: 'disk full' }, 'Something went wrong: disk full'],
    ['plain text from Wails', 'Something went wrong: plain text from Wails'],
    ['{"code":"forbidden","message":"m"}', 'Only an administrator can do this.'],
    [new Error('boom'), 'Something went wrong: boom'],
  ])('%j → %s', (err, want) => {
    expect(handleError(err)).toBe(want);
  });

  it('translates to Chinese', () => {
    setLanguage('zh-CN');
    expect(handleError({ code: 'weak_password', message: '' })).toBe('密码至少需要 8 个字符。');
  });

  it('normalises shapes', () => {
    expect(toApiError({ code: 'x' })).toEqual({ code: 'x', message: '' });
    expect(toApiError(42)).toEqual({ code: 'internal', message: '42' });
  });
});

function keys(obj: object, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('message files', () => {
  it('have the same keys in English and Chinese', () => {
    expect(keys(zh).sort()).toEqual(keys(en).sort());
  });

  it('translate every backend error code', () => {
    const src = readFileSync(resolve(process.cwd(), '../backend/services/errors.go'), 'utf8');
    const codes = [...src.matchAll(/Code\w+\s*=\s*"([a-z_]+)"/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(5);
    for (const c of codes) expect(keys(en)).toContain(`errors.${c}`);
  });
});

describe('events', () => {
  it('mirror every name in backend/events/events.go', () => {
    const src = readFileSync(resolve(process.cwd(), '../backend/events/events.go'), 'utf8');
    const names = [...src.matchAll(/^\s*\w+\s*=\s*"([a-z]+:[a-z:]+)"/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(5);
    const ours = Object.values(Events) as string[];
    for (const n of names) expect(ours).toContain(n);
  });
});
