// Settings validation and normalisation (pure, tested).

import type {
  AmoDesktop,
  BitrixDesktop,
  CrmSettings,
  Settings,
  VtigerDesktop,
  ZohoDesktop,
} from './bindings';
import type { MessageKey } from './i18n';

export type SettingsErrors = Partial<Record<string, MessageKey>>;

const URL_RE = /^https?:\/\/[^\s/?#]+[^\s]*$/i;
const LISTEN_RE = /^(\[[0-9a-f:.]+\]|[^\s:[\]]+):\d{1,5}$/i;
const HOTKEY_RE = /^[A-Za-z0-9]+(\s*\+\s*[A-Za-z0-9]+)*$/;

/** `local@domain.tld`, no spaces (the same rule as the Rust side). */
export function isEmail(s: string): boolean {
  return /^[^\s@]+@[^\s@.][^\s@]*\.[^\s@]*[^\s@.]$/.test(s.trim());
}

/** Zoho's data centres: their accounts servers. */
export const zohoDataCentres = [
  { id: 'us', url: 'https://accounts.zoho.com' },
  { id: 'eu', url: 'https://accounts.zoho.eu' },
  { id: 'in', url: 'https://accounts.zoho.in' },
  { id: 'au', url: 'https://accounts.zoho.com.au' },
  { id: 'jp', url: 'https://accounts.zoho.jp' },
  { id: 'ca', url: 'https://accounts.zohocloud.ca' },
] as const;

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

  const v = s.crm?.vtiger;
  if (v) {
    const vBase = v.base_url.trim();
    if (!vBase) {
      if (v.enabled) errors['settings-vtiger-base-url'] = 'valid.required';
    } else if (!isHttpUrl(vBase)) errors['settings-vtiger-base-url'] = 'valid.url';
    if (v.enabled && !v.username.trim()) errors['settings-vtiger-username'] = 'valid.required';
    const phone = (v.office_phone ?? '').trim();
    if (phone && !/^[\d\s+\-().]+$/.test(phone)) errors['settings-vtiger-office-phone'] = 'valid.phone';
  }

  const z = s.crm?.zoho;
  if (z) {
    const accounts = z.accounts_url.trim();
    if (!accounts) {
      if (z.enabled) errors['settings-zoho-accounts-url'] = 'valid.required';
    } else if (!isHttpUrl(accounts) || /[?#]/.test(accounts)) {
      errors['settings-zoho-accounts-url'] = 'valid.url';
    }
    if (z.enabled && !z.client_id.trim()) errors['settings-zoho-client-id'] = 'valid.required';
    const email = z.email.trim();
    if (!email) {
      if (z.enabled) errors['settings-zoho-email'] = 'valid.required';
    } else if (!isEmail(email)) errors['settings-zoho-email'] = 'valid.email';
  }

  const a = s.crm?.amocrm;
  if (a) {
    const amoBase = a.base_url.trim();
    if (!amoBase) {
      if (a.enabled) errors['settings-amocrm-base-url'] = 'valid.required';
    } else if (!isHttpUrl(amoBase) || /[?#]/.test(amoBase)) {
      errors['settings-amocrm-base-url'] = 'valid.url';
    }
    if (a.auth === 'oauth') {
      if (a.enabled && !(a.client_id ?? '').trim()) errors['settings-amocrm-client-id'] = 'valid.required';
      const redirect = (a.redirect_uri ?? '').trim();
      if (!redirect) {
        if (a.enabled) errors['settings-amocrm-redirect-uri'] = 'valid.required';
      } else if (!isHttpUrl(redirect)) errors['settings-amocrm-redirect-uri'] = 'valid.url';
    }
    const email = a.email.trim();
    if (!email) {
      if (a.enabled) errors['settings-amocrm-email'] = 'valid.required';
    } else if (!isEmail(email)) errors['settings-amocrm-email'] = 'valid.email';
  }

  const b = s.crm?.bitrix24;
  if (b && b.auth === 'oauth') {
    const portal = (b.portal_url ?? '').trim().replace(/\/+$/, '');
    if (!portal) {
      if (b.enabled) errors['settings-bitrix24-portal-url'] = 'valid.required';
    } else if (!isHttpUrl(portal) || /[?#]/.test(portal) || new URL(portal).pathname !== '/') {
      // the portal only: a webhook URL (…/rest/1/xxxx/) goes in the keyring
      errors['settings-bitrix24-portal-url'] = 'valid.url';
    }
    if (b.enabled && !(b.client_id ?? '').trim()) errors['settings-bitrix24-client-id'] = 'valid.required';
  }
  return errors;
}

/** The Vtiger block the form edits: the saved one, or an empty one switched off. */
export function vtigerOf(s: Settings): VtigerDesktop {
  return s.crm?.vtiger ?? { enabled: false, base_url: '', username: '', office_phone: null };
}

/** The Zoho block the form edits: the saved one, or an empty one switched off. */
export function zohoOf(s: Settings): ZohoDesktop {
  return s.crm?.zoho ?? { enabled: false, accounts_url: '', client_id: '', email: '' };
}

/** The amoCRM block the form edits: the saved one, or an empty one switched off. */
export function amocrmOf(s: Settings): AmoDesktop {
  return (
    s.crm?.amocrm ?? {
      enabled: false,
      base_url: '',
      auth: 'long_lived',
      client_id: null,
      redirect_uri: null,
      email: '',
      unknown_number: 'park',
    }
  );
}

/** The Bitrix24 block the form edits: the saved one, or an empty one switched off. */
export function bitrix24Of(s: Settings): BitrixDesktop {
  return (
    s.crm?.bitrix24 ?? {
      enabled: false,
      auth: 'oauth',
      portal_url: null,
      client_id: null,
      crm_create: true,
      plan: 'standard',
    }
  );
}

/** `settings.crm` as sent: trimmed, and an untouched switched-off CRM block as `null`. */
function normalizeCrm(c: CrmSettings | undefined): CrmSettings {
  const crm: CrmSettings = {
    vtiger: null,
    zoho: null,
    amocrm: null,
    bitrix24: null,
    demo_vtiger: false,
    ...(c ?? {}),
  };
  let vtiger: VtigerDesktop | null = null;
  const v = crm.vtiger;
  if (v) {
    vtiger = {
      ...v,
      base_url: v.base_url.trim().replace(/\/+$/, ''),
      username: v.username.trim(),
      office_phone: (v.office_phone ?? '').trim() || null,
    };
    if (!vtiger.enabled && !vtiger.base_url && !vtiger.username && !vtiger.office_phone) vtiger = null;
  }
  let zoho: ZohoDesktop | null = null;
  const z = crm.zoho;
  if (z) {
    zoho = {
      ...z,
      accounts_url: z.accounts_url.trim().replace(/\/+$/, ''),
      client_id: z.client_id.trim(),
      email: z.email.trim(),
    };
    if (!zoho.enabled && !zoho.accounts_url && !zoho.client_id && !zoho.email) zoho = null;
  }
  let amocrm: AmoDesktop | null = null;
  const a = crm.amocrm;
  if (a) {
    amocrm = {
      ...a,
      base_url: a.base_url.trim().replace(/\/+$/, ''),
      client_id: (a.client_id ?? '').trim() || null,
      // trimmed only: amo compares the redirect URI with the registered one exactly
      redirect_uri: (a.redirect_uri ?? '').trim() || null,
      email: a.email.trim(),
    };
    const untouched =
      !amocrm.enabled &&
      !amocrm.base_url &&
      !amocrm.client_id &&
      !amocrm.redirect_uri &&
      !amocrm.email &&
      amocrm.auth === 'long_lived' &&
      amocrm.unknown_number === 'park';
    if (untouched) amocrm = null;
  }
  let bitrix24: BitrixDesktop | null = null;
  const b = crm.bitrix24;
  if (b) {
    bitrix24 = {
      ...b,
      portal_url: (b.portal_url ?? '').trim().replace(/\/+$/, '') || null,
      client_id: (b.client_id ?? '').trim() || null,
    };
    const untouched =
      !bitrix24.enabled &&
      !bitrix24.portal_url &&
      !bitrix24.client_id &&
      bitrix24.auth === 'oauth' &&
      bitrix24.crm_create &&
      bitrix24.plan === 'standard';
    if (untouched) bitrix24 = null;
  }
  return { ...crm, vtiger, zoho, amocrm, bitrix24 };
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
    crm: normalizeCrm(s.crm),
  };
}

/** A deep copy, with `crm` filled in (settings from before CRMs have none). */
export function cloneSettings(s: Settings): Settings {
  const c = JSON.parse(JSON.stringify(s)) as Settings;
  const crm = (c.crm as Partial<CrmSettings> | undefined) ?? {};
  c.crm = {
    vtiger: crm.vtiger ?? null,
    zoho: crm.zoho ?? null,
    amocrm: crm.amocrm ?? null,
    bitrix24: crm.bitrix24 ?? null,
    demo_vtiger: crm.demo_vtiger ?? false,
  };
  return c;
}
