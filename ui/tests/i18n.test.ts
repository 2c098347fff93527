import { describe, expect, it } from 'vitest';
import { dictionaries, errorKey, languages, translate, type MessageKey } from '../src/lib/i18n';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('i18n', () => {
  const en = dictionaries.en;
  const keys = Object.keys(en).sort();

  for (const lang of languages) {
    it(`${lang} has every key, non-empty, with the same placeholders`, () => {
      const d = dictionaries[lang];
      expect(Object.keys(d).sort()).toEqual(keys);
      for (const k of keys as MessageKey[]) {
        expect(d[k].trim(), `${lang}:${k}`).not.toBe('');
        expect(placeholders(d[k]), `${lang}:${k}`).toEqual(placeholders(en[k]));
      }
    });
  }

  it('es and ru are actually translated', () => {
    for (const lang of ['es', 'ru'] as const) {
      const same = keys.filter((k) => dictionaries[lang][k as MessageKey] === en[k as MessageKey]);
      // Brand names, shortcuts and the like may stay the same; most must not.
      expect(same.length, `${lang}: ${same.join(', ')}`).toBeLessThan(12);
    }
  });

  it('fills placeholders', () => {
    expect(translate('en', 'dial.calling', { number: '+34 600' })).toBe('Calling +34 600…');
    expect(translate('es', 'missed.aria', { n: 3 })).toContain('3');
    expect(translate('ru', 'pop.open_crm', { system: 'Vtiger' })).toBe('Открыть в Vtiger');
  });

  it('maps every error code the contract names to an explanation', () => {
    for (const code of [
      'keyring_unavailable', 'unauthorized', 'forbidden', 'rate_limited', 'not_found', 'invalid',
      'conflict', 'unavailable', 'timeout', 'config', 'unsupported', 'storage', 'internal',
    ]) {
      expect(errorKey(code)).toBe(`error.${code}`);
    }
    expect(errorKey('something_new')).toBe('error.internal');
  });

  it('every key used in the source exists', () => {
    const src = join(import.meta.dirname, '..', 'src');
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(svelte|ts)$/.test(f) && !p.endsWith('i18n.ts')) files.push(p);
      }
    };
    walk(src);
    const used = new Set<string>();
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bt\(\s*'([\w.]+)'/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(50);
    for (const k of used) expect(keys, k).toContain(k);
  });
});
