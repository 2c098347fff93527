import { beforeEach, vi } from 'vitest';
import '@testing-library/svelte/vitest';
import { reset } from './fake-tauri';

vi.mock('@tauri-apps/api/core', async () => {
  const fake = await import('./fake-tauri');
  return { invoke: fake.invoke };
});
vi.mock('@tauri-apps/api/event', async () => {
  const fake = await import('./fake-tauri');
  return { listen: fake.listen };
});

// jsdom lacks these.
if (!Element.prototype.scrollIntoView) Element.prototype.scrollIntoView = () => {};
if (typeof CSS === 'undefined' || !CSS.escape) {
  (globalThis as { CSS?: unknown }).CSS = { escape: (s: string) => s.replace(/["\\]/g, '\\$&') };
}

beforeEach(() => {
  reset();
  document.documentElement.removeAttribute('data-theme');
  document.documentElement.lang = 'en';
});
