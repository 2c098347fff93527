import type { Theme } from './bindings';

/** Apply a theme at once: `system` follows `prefers-color-scheme` (CSS). */
export function applyTheme(theme: Theme | string | null | undefined): void {
  const value = theme === 'light' || theme === 'dark' ? theme : 'system';
  document.documentElement.dataset.theme = value;
}
