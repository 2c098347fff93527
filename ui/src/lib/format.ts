// Locale-aware formatting: phone numbers, money, dates, durations.
// Pure functions (the language is an argument) so they are easy to test.

import type { Language } from './bindings';
import { intlLocale } from './i18n';

const ONE_DIGIT_CC = new Set(['1', '7']);
// Two-digit ITU country codes; every other code has three digits.
const TWO_DIGIT_CC = new Set([
  '20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46',
  '47', '48', '49', '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63',
  '64', '65', '66', '81', '82', '84', '86', '90', '91', '92', '93', '94', '95', '98',
]);

/** National grouping per country code, for the national significant number. */
function nationalGroups(cc: string, n: string): number[] {
  switch (cc) {
    case '34': // Spain: 647 46 01 97, 912 34 56 78
      if (n.length === 9) return [3, 2, 2, 2];
      break;
    case '1': // NANP: 415 555 0100
      if (n.length === 10) return [3, 3, 4];
      break;
    case '7': // Russia, Kazakhstan: 912 345 67 89
      if (n.length === 10) return [3, 3, 2, 2];
      break;
    case '33': // France: 6 12 34 56 78
      if (n.length === 9) return [1, 2, 2, 2, 2];
      break;
    case '44': // UK: 20 7946 0958, 7700 900123
      if (n.length === 10) return n.startsWith('2') ? [2, 4, 4] : [4, 6];
      break;
    case '351': // Portugal: 912 345 678
    case '48': // Poland
      if (n.length === 9) return [3, 3, 3];
      break;
    case '380': // Ukraine, Belarus, Switzerland: 44 123 45 67
    case '375':
    case '41':
      if (n.length === 9) return [2, 3, 2, 2];
      break;
    case '52': // Mexico: 55 1234 5678
      if (n.length === 10) return [2, 4, 4];
      break;
    case '49': // Germany: 30 12345678 (area codes vary; keep the first block short)
      if (n.startsWith('1') && n.length >= 10) return [3, n.length - 3];
      break;
  }
  return defaultGroups(n.length);
}

/** Threes, ending in 2-2 or 3-2 rather than a lone digit. */
function defaultGroups(len: number): number[] {
  if (len <= 4) return [len];
  const groups: number[] = [];
  let rest = len;
  while (rest > 5) {
    groups.push(3);
    rest -= 3;
  }
  if (rest === 5) groups.push(3, 2);
  else if (rest === 4) groups.push(2, 2);
  else groups.push(rest);
  return groups;
}

function split(digits: string, groups: number[]): string {
  const out: string[] = [];
  let i = 0;
  for (const g of groups) {
    if (i >= digits.length) break;
    out.push(digits.slice(i, i + g));
    i += g;
  }
  if (i < digits.length) out.push(digits.slice(i));
  return out.join(' ');
}

export function isAnonymous(number: string | null | undefined): boolean {
  const n = (number ?? '').trim().toLowerCase();
  return n === '' || n === 'anonymous';
}

/**
 * A number grouped for reading: `+34647460197` → `+34 647 46 01 97`.
 * Extensions (`203`) and anything that is not `+` and digits stay as given.
 */
export function formatPhone(number: string | null | undefined): string {
  const raw = (number ?? '').trim();
  if (!raw.startsWith('+')) return raw;
  const digits = raw.slice(1).replace(/[\s().-]/g, '');
  if (!/^\d{6,15}$/.test(digits)) return raw;
  const cc = ONE_DIGIT_CC.has(digits[0])
    ? digits[0]
    : TWO_DIGIT_CC.has(digits.slice(0, 2))
      ? digits.slice(0, 2)
      : digits.slice(0, 3);
  const national = digits.slice(cc.length);
  return `+${cc} ${split(national, nationalGroups(cc, national))}`;
}

/** `m:ss`, or `h:mm:ss` from an hour. */
export function formatDuration(seconds: number | bigint | null | undefined): string {
  const s = Math.max(0, Math.floor(Number(seconds ?? 0)));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** An amount (decimal string) in its ISO 4217 currency, e.g. `EUR 12,500.00` / `12.500,00 EUR`. */
export function formatMoney(
  amount: string | null | undefined,
  currency: string | null | undefined,
  lang: Language,
): string {
  if (amount == null || amount.trim() === '') return '';
  const value = Number(amount);
  if (!Number.isFinite(value)) return currency ? `${amount} ${currency}` : amount;
  const locale = intlLocale[lang];
  if (currency) {
    try {
      return new Intl.NumberFormat(locale, {
        style: 'currency',
        currency: currency.toUpperCase(),
        currencyDisplay: 'code',
      })
        .format(value);
    } catch {
      // Not an ISO code Intl knows: number, then the code as given.
    }
  }
  const n = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value);
  return currency ? `${n} ${currency}` : n;
}

export function formatCount(n: number | bigint, lang: Language): string {
  return new Intl.NumberFormat(intlLocale[lang]).format(Number(n));
}

/** A calendar date (`YYYY-MM-DD`, no time zone), e.g. `15 Dec 2026`. */
export function formatDate(date: string | null | undefined, lang: Language): string {
  if (!date) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(date);
  if (!m) return date;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Intl.DateTimeFormat(intlLocale[lang], { dateStyle: 'medium' }).format(d);
}

/** An instant for a list: the time today, else the day and the time. */
export function formatWhen(iso: string | null | undefined, lang: Language, now = new Date()): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const locale = intlLocale[lang];
  const time = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(d);
  if (sameDay(d, now)) return time;
  const opts: Intl.DateTimeFormatOptions =
    d.getFullYear() === now.getFullYear()
      ? { day: 'numeric', month: 'short' }
      : { day: 'numeric', month: 'short', year: 'numeric' };
  return `${new Intl.DateTimeFormat(locale, opts).format(d)}, ${time}`;
}

/** An instant in full, for a detail view. */
export function formatDateTime(iso: string | null | undefined, lang: Language): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(intlLocale[lang], {
    dateStyle: 'medium',
    timeStyle: 'medium',
  }).format(d);
}

function sameDay(a: Date, b: Date): boolean {
  return (
    a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()
  );
}

/** Seconds between two instants (ISO strings or dates), never negative. */
export function secondsBetween(from: string | null | undefined, to: Date | string): number {
  if (!from) return 0;
  const a = new Date(from).getTime();
  const b = (typeof to === 'string' ? new Date(to) : to).getTime();
  if (Number.isNaN(a) || Number.isNaN(b)) return 0;
  return Math.max(0, Math.floor((b - a) / 1000));
}

/** A record source's system as people call it. */
export function systemName(system: string): string {
  const names: Record<string, string> = {
    vtiger: 'Vtiger',
    zoho: 'Zoho CRM',
    amocrm: 'amoCRM',
    bitrix24: 'Bitrix24',
  };
  return names[system.toLowerCase()] ?? system;
}

/** The number to dial for a stored phone: E.164 when known, else as typed. */
export function dialable(phone: { e164: string | null; raw: string }): string {
  return phone.e164 ?? phone.raw;
}
