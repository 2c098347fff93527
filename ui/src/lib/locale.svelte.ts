// The current language as reactive state: `t()` called in markup re-renders
// when the language changes.

import type { Language } from './bindings';
import { isLanguage, translate, type MessageKey, type Params } from './i18n';

let current = $state<Language>('en');

export const locale = {
  get lang(): Language {
    return current;
  },
};

export function setLanguage(lang: Language | string | null | undefined): void {
  current = isLanguage(lang) ? lang : 'en';
  if (typeof document !== 'undefined') document.documentElement.lang = current;
}

export function t(key: MessageKey, params?: Params): string {
  return translate(current, key, params);
}
