// Settings validation and normalisation (pure, tested).

import type { Settings } from './bindings';
import type { MessageKey } from './i18n';

export type SettingsErrors = Partial<Record<string, MessageKey>>;

const URL_RE = /^https?:\/\/[^\s/?#]+[^\s]*$/i;
const LISTEN_RE = /^(\[[0-9a-f:.]+\]|[^\s:[\]]+):\d{1,5}$/i;
const HOTKEY_RE = /^[A-Za-z0-9]+(\s*\+\s*[A-Za-z0-9]+)*$/;

export function isHttpUrl(s: string): boolean {
  if (!URL_RE.test(s.trim())) return false;
  try {
    const u = new URL(s.trim());
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Field id → the message explaining what is wrong; empty when all is well. */
export function validateSettings(s: Settings): SettingsErrors {
  const errors: SettingsErrors = {};
  const embedded = s.mode === 'embedded';
  const p = s.pbx;
  const base = p.base_url.trim();
  if (!base) {
    if (embedded) errors['settings-pbx-base-url'] = 'valid.required';
  } else if (!isHttpUrl(base)) errors['settings-pbx-base-url'] = 'valid.url';

  const ext = p.extension.trim();
  if (!ext) {
    if (embedded) errors['settings-pbx-extension'] = 'valid.required';
  } else if (!/^\d{1,10}$/.test(ext)) errors['settings-pbx-extension'] = 'valid.digits';

  if (!/^[A-Za-z]{2}$/.test(p.region.trim())) errors['settings-pbx-region'] = 'valid.region';
  if (!/^\d*$/.test(p.outside_line_prefix.trim())) errors['settings-pbx-prefix'] = 'valid.prefix';

  const listen = p.webhook_listen.trim();
  if (!listen) {
    if (embedded) errors['settings-pbx-webhook-listen'] = 'valid.required';
  } else if (!LISTEN_RE.test(listen)) errors['settings-pbx-webhook-listen'] = 'valid.listen';

  const pub = (p.public_url ?? '').trim();
  if (pub && !isHttpUrl(pub)) errors['settings-pbx-public-url'] = 'valid.url';

  const hub = s.hub.url.trim();
  if (!hub) {
    if (s.mode === 'hub') errors['settings-hub-url'] = 'valid.required';
  } else if (!isHttpUrl(hub)) errors['settings-hub-url'] = 'valid.url';

  const hk = (s.hotkey ?? '').trim();
  if (hk && !HOTKEY_RE.test(hk)) errors['settings-hotkey'] = 'valid.hotkey';
  return errors;
}

/** What is sent to `save_settings`: trimmed, empty optionals as `null`. */
export function normalizeSettings(s: Settings): Settings {
  const hotkey = (s.hotkey ?? '').trim().replace(/\s*\+\s*/g, '+');
  const pub = (s.pbx.public_url ?? '').trim();
  return {
    ...s,
    pbx: {
      ...s.pbx,
      base_url: s.pbx.base_url.trim(),
      agent_name: s.pbx.agent_name.trim(),
      extension: s.pbx.extension.trim(),
      region: s.pbx.region.trim().toUpperCase(),
      outside_line_prefix: s.pbx.outside_line_prefix.trim(),
      webhook_listen: s.pbx.webhook_listen.trim(),
      public_url: pub || null,
    },
    hub: { ...s.hub, url: s.hub.url.trim() },
    hotkey: hotkey || null,
  };
}

export function cloneSettings(s: Settings): Settings {
  return JSON.parse(JSON.stringify(s)) as Settings;
}
