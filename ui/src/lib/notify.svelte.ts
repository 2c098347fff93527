// Short messages at the bottom of the main window (dial started, errors).

import { normalizeError } from './ipc';
import { errorKey } from './i18n';
import { t } from './locale.svelte';

export type Toast = { id: number; text: string; kind: 'info' | 'ok' | 'error' };

let next = 1;
export const toasts = $state<Toast[]>([]);

export function notify(text: string, kind: Toast['kind'] = 'info', ms = 4000): void {
  const id = next++;
  toasts.push({ id, text, kind });
  if (toasts.length > 4) toasts.splice(0, toasts.length - 4);
  setTimeout(() => dismissToast(id), kind === 'error' ? ms * 2 : ms);
}

export function dismissToast(id: number): void {
  const i = toasts.findIndex((x) => x.id === id);
  if (i >= 0) toasts.splice(i, 1);
}

/** The explanation for an error, chosen by its code, with the detail after it. */
export function errorText(e: unknown): string {
  const err = normalizeError(e);
  const head = t(errorKey(err.code));
  const detail = err.message && err.message !== err.code ? err.message.trim() : '';
  return detail && detail !== head ? `${head} ${detail}` : head;
}

export function notifyError(e: unknown): void {
  notify(errorText(e), 'error');
}
