import { describe, expect, it } from 'vitest';
import {
  formatDate,
  formatDuration,
  formatMoney,
  formatPhone,
  formatWhen,
  secondsBetween,
} from '../src/lib/format';
import { norm } from './fixtures';

describe('formatPhone', () => {
  it.each([
    ['+34647460197', '+34 647 46 01 97'],
    ['+34911234567', '+34 911 23 45 67'],
    ['+14155550100', '+1 415 555 0100'],
    ['+79123456789', '+7 912 345 67 89'],
    ['+442079460958', '+44 20 7946 0958'],
    ['+447700900123', '+44 7700 900123'],
    ['+33612345678', '+33 6 12 34 56 78'],
    ['+351912345678', '+351 912 345 678'],
    ['+380441234567', '+380 44 123 45 67'],
    ['+5215512345678', '+52 155 123 456 78'],
    ['+3612345678', '+36 123 456 78'],
  ])('%s → %s', (input, out) => {
    expect(formatPhone(input)).toBe(out);
  });

  it('leaves extensions, raw and anonymous numbers alone', () => {
    expect(formatPhone('203')).toBe('203');
    expect(formatPhone('anonymous')).toBe('anonymous');
    expect(formatPhone('91 123 45 67')).toBe('91 123 45 67');
    expect(formatPhone('+12')).toBe('+12');
    expect(formatPhone(null)).toBe('');
  });
});

describe('formatMoney', () => {
  it('formats the amount in the deal currency per locale', () => {
    expect(norm(formatMoney('12500.00', 'EUR', 'en'))).toBe('EUR 12,500.00');
    expect(norm(formatMoney('12500.00', 'EUR', 'es'))).toBe('12.500,00 EUR');
    expect(norm(formatMoney('12500.00', 'EUR', 'ru'))).toBe('12 500,00 EUR');
    expect(norm(formatMoney('4800', 'USD', 'en'))).toBe('USD 4,800.00');
    expect(norm(formatMoney('150000', 'JPY', 'en'))).toBe('JPY 150,000');
  });

  it('copes with missing or odd currencies', () => {
    expect(norm(formatMoney('900.5', null, 'en'))).toBe('900.5');
    expect(norm(formatMoney('900', 'XX1', 'en'))).toBe('900 XX1');
    expect(formatMoney(null, 'EUR', 'en')).toBe('');
    expect(formatMoney('n/a', 'EUR', 'en')).toBe('n/a EUR');
  });
});

describe('dates and durations', () => {
  it('formats calendar dates per locale', () => {
    expect(norm(formatDate('2026-12-15', 'en'))).toBe('15 Dec 2026');
    expect(norm(formatDate('2026-12-15', 'es'))).toBe('15 dic 2026');
    expect(norm(formatDate('2026-12-15', 'ru'))).toMatch(/^15 дек\.? 2026/);
  });

  it('shows only the time for today', () => {
    const now = new Date(2026, 10, 20, 18, 0, 0);
    const today = new Date(2026, 10, 20, 9, 5, 0).toISOString();
    expect(formatWhen(today, 'en', now)).toBe('09:05');
    const earlier = new Date(2026, 10, 2, 9, 5, 0).toISOString();
    expect(norm(formatWhen(earlier, 'es', now))).toBe('2 nov, 09:05');
  });

  it('durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(BigInt(61))).toBe('1:01');
    expect(secondsBetween('2026-01-01T00:00:00Z', new Date('2026-01-01T00:01:30Z'))).toBe(90);
  });
});
