import type {
  AppSnapshot,
  Call,
  Contact,
  ContactMatch,
  Deal,
  NumberInfo,
  PopState,
  Settings,
} from '../src/lib/bindings';

export function settings(over: Partial<Settings> = {}): Settings {
  return {
    mode: 'demo',
    pbx: {
      base_url: 'https://config.work.oigaa.com/vtcrm/api',
      agent_name: 'Tony Manero',
      extension: '203',
      region: 'ES',
      outside_line_prefix: '0',
      webhook_listen: '127.0.0.1:8701',
      public_url: null,
      configure_on_start: true,
    },
    hub: { url: 'http://127.0.0.1:8700' },
    match_policy: 'ask',
    autostart: false,
    hotkey: 'CmdOrCtrl+Shift+D',
    theme: 'system',
    language: 'en',
    crm: { vtiger: null, zoho: null, amocrm: null, bitrix24: null, demo_vtiger: false },
    ...over,
  };
}

let n = 0;
export function call(over: Partial<Call> = {}): Call {
  n += 1;
  return {
    id: `call-${n}`,
    provider: 'gamma',
    provider_call_id: `p-${n}`,
    external_call_id: null,
    direction: 'inbound',
    remote_number: '+34647460197',
    remote_raw: '0647460197',
    remote_label: null,
    extension: '203',
    legs: [],
    status: 'ringing',
    started_at: '2026-11-20T10:00:00Z',
    answered_at: null,
    ended_at: null,
    talk_seconds: 0,
    outcome: null,
    recording: false,
    recording_url: null,
    transcript: null,
    app_data: [],
    notes: null,
    disposition: null,
    reconciled: false,
    last_event_at: '2026-11-20T10:00:00Z',
    ...over,
  };
}

export function contact(name: string, company: string | null, phone: string, over: Partial<Contact> = {}): Contact {
  return {
    source: { system: 'local', id: name.toLowerCase().replace(/\W+/g, '-'), url: null },
    name,
    company: company ? { source: { system: 'local', id: company, url: null }, name: company } : null,
    phones: [{ label: 'mobile', raw: phone, e164: phone.replace(/\s+/g, '') }],
    email: null,
    notes: null,
    updated_at: null,
    ...over,
  };
}

export function deal(name: string, stage: string, amount: string, currency: string, close: string, open = true): Deal {
  return {
    source: { system: 'local', id: name, url: null },
    name,
    stage,
    amount,
    currency,
    close_date: close,
    open,
  };
}

export const lucia: ContactMatch = {
  contact: contact('Lucía Fernández', 'Mar Azul Hoteles S.L.', '+34 647 460 197'),
  deals: [
    deal('Renovación centralita 2027', 'Negotiation', '12500.00', 'EUR', '2026-12-15'),
    deal('Ampliación 20 extensiones', 'Proposal', '4800.00', 'EUR', '2027-01-31'),
    deal('Piloto 2025', 'Closed Won', '900.00', 'EUR', '2025-06-30', false),
  ],
};

export function info(matches: ContactMatch[], chosen: number | null, recent: Call[] = []): NumberInfo {
  return {
    lookup: { number: { kind: 'e164', value: '+34647460197' }, matches, chosen },
    recent_calls: recent,
  };
}

export function pop(c: Call, i: NumberInfo | null, loading = i == null): PopState {
  return { call: c, info: i, loading, lookup_error: null };
}

export function snapshot(over: Partial<AppSnapshot> = {}): AppSnapshot {
  return {
    mode: 'demo',
    agent: { name: 'Tony Manero', extension: '203', missed_calls: 0 },
    status: { state: 'connected', message: null },
    missed: 0,
    pop: null,
    settings: settings(),
    ...over,
  };
}

/** Text with every kind of space folded to one plain space. */
export function norm(s: string | null | undefined): string {
  return (s ?? '').replace(/[\s\u00a0\u202f]+/g, ' ').trim();
}
