import type { Theme } from './bindings';

const darkQuery = '(prefers-color-scheme: dark)';
let preference: 'light' | 'dark' | 'system' = 'system';
let following = false;

function systemIsDark(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia(darkQuery).matches;
}

function paint(): void {
  const dark = preference === 'dark' || (preference === 'system' && systemIsDark());
  // One palette per scheme in CSS (`:root[data-theme=…]`): the choice is made here.
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

/** Apply a theme at once; `system` follows `prefers-color-scheme`, live. */
export function applyTheme(theme: Theme | string | null | undefined): void {
  preference = theme === 'light' || theme === 'dark' ? theme : 'system';
  if (!following && typeof window.matchMedia === 'function') {
    following = true;
    window.matchMedia(darkQuery).addEventListener('change', () => {
      if (preference === 'system') paint();
    });
  }
  paint();
}
