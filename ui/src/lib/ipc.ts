// Typed wrappers for every command and event of docs/desktop-contract.md.
// Nothing else in the UI calls `invoke` or `listen` directly.

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  AppSnapshot,
  Call,
  CallDetail,
  CallId,
  CallPage,
  CallQuery,
  CallUpdate,
  CommandError,
  ConnStatus,
  Contact,
  CrmLink,
  CrmRetried,
  CrmState,
  Extension,
  Navigate,
  NewContact,
  NumberInfo,
  PopState,
  SecretName,
  SecretsOverview,
  Settings,
  TestResult,
  TestTarget,
} from './bindings';

/** Every failed command rejects with one of these; branch on `code` only. */
export class IpcError extends Error implements CommandError {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'IpcError';
    this.code = code;
  }
}

/** Turn whatever a rejected `invoke` gave into `{ code, message }`. */
export function normalizeError(e: unknown): IpcError {
  if (e instanceof IpcError) return e;
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    if (typeof o.code === 'string') {
      return new IpcError(o.code, typeof o.message === 'string' ? o.message : o.code);
    }
    // A serialised Rust error enum: `{ "KeyringUnavailable": "..." }`.
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o[keys[0]] === 'string' && !(e instanceof Error)) {
      return new IpcError(snake(keys[0]), o[keys[0]] as string);
    }
    if (e instanceof Error) return new IpcError('internal', e.message);
  }
  if (typeof e === 'string') return new IpcError('internal', e);
  return new IpcError('internal', String(e));
}

function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw normalizeError(e);
  }
}

// ---- commands --------------------------------------------------------------

export const appState = () => call<AppSnapshot>('app_state');
export const searchContacts = (query: string, limit = 50) =>
  call<Contact[]>('search_contacts', { query, limit });
export const createContact = (contact: NewContact) => call<Contact>('create_contact', { contact });
export const listCalls = (query: CallQuery) => call<CallPage>('list_calls', { query });
export const callDetail = (callId: CallId) => call<CallDetail>('call_detail', { callId });
export const lookup = (number: string) => call<NumberInfo>('lookup', { number });
export const dial = (number: string) => call<Call>('dial', { number });
export const hangUp = (callId: CallId) => call<void>('hang_up', { callId });
export const transfer = (callId: CallId, destination: string) =>
  call<void>('transfer', { callId, destination });
export const saveNotes = (callId: CallId, notes: string | null, disposition: string | null) =>
  call<Call>('save_notes', { callId, notes, disposition });
export const extensions = () => call<Extension[]>('extensions');
export const chooseContact = (callId: CallId, index: number) =>
  call<PopState>('choose_contact', { callId, index });
export const dismissPop = () => call<void>('dismiss_pop');
export const getSettings = () => call<Settings>('get_settings');
export const saveSettings = (settings: Settings) => call<Settings>('save_settings', { settings });
export const secretStatus = () => call<SecretsOverview>('secret_status');
export const setSecret = (name: SecretName, value: string) =>
  call<void>('set_secret', { name, value });
export const testConnection = (target: TestTarget) =>
  call<TestResult>('test_connection', { target });
export const crmStates = () => call<CrmState[]>('crm_states');
/** Retry one parked operation of `crmId`, or (`opId` null) all of them. */
export const crmRetry = (crmId: string, opId: number | null) =>
  call<CrmRetried>('crm_retry', { crmId, opId });
export const crmLinks = (number: string) => call<CrmLink[]>('crm_links', { number });
/** Connect Zoho: consent in the browser; resolves when the browser came back (or not). */
export const zohoConnect = () => call<TestResult>('zoho_connect');
/** Revoke and forget Zoho's refresh token. */
export const zohoDisconnect = () => call<void>('zoho_disconnect');
export const openExternal = (url: string) => {
  if (!/^https?:\/\//i.test(url)) {
    return Promise.reject(new IpcError('invalid', `not an http(s) link: ${url}`));
  }
  return call<void>('open_external', { url });
};

type QueryInput = {
  [K in keyof CallQuery]?: CallQuery[K] | null | '';
};

/** A query with only the fields that are set (unset ones are left out). */
export function callQuery(q: QueryInput = {}): CallQuery {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(q)) if (v != null && v !== '') out[k] = v;
  return out as CallQuery;
}

// ---- events ----------------------------------------------------------------

export type EventMap = {
  'call-update': CallUpdate;
  pop: PopState | null;
  status: ConnStatus;
  missed: number;
  navigate: Navigate;
};

/** Subscribe to one contract event; resolves to the unsubscribe function. */
export function on<K extends keyof EventMap>(
  event: K,
  handler: (payload: EventMap[K]) => void,
): Promise<UnlistenFn> {
  return listen<EventMap[K]>(event, (e) => handler(e.payload));
}

/** Subscribe to several events; the returned function removes them all. */
export async function onAll(
  subs: Array<Promise<UnlistenFn>>,
): Promise<() => void> {
  const settled = await Promise.allSettled(subs);
  return () => {
    for (const s of settled) if (s.status === 'fulfilled') s.value();
  };
}
