import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, fireEvent, waitFor, within } from '@testing-library/svelte';
import SettingsView from '../src/lib/components/Settings.svelte';
import CrmPanel from '../src/lib/components/CrmPanel.svelte';
import { handle, invoked } from './fake-tauri';
import * as f from './fixtures';
import { normalizeSettings, validateSettings } from '../src/lib/settings';
import type { CrmState, Settings } from '../src/lib/bindings';

const byId = (id: string) => screen.getByTestId(id) as HTMLInputElement;

function vtigerState(over: Partial<CrmState> = {}): CrmState {
  return {
    id: 'vtiger',
    kind: 'vtiger',
    capabilities: ['lookup_contact', 'open_deals', 'live_call_events', 'log_at_end'],
    pending: 3,
    parked: 2,
    delivered: 41,
    paused_until: null,
    last_error: { code: 'unauthorized', message: 'Vtiger refused the access key (401).' },
    parked_ops: [
      {
        id: 17,
        call_id: '7f3c2a9e-1b2c-4d5e-9f00-aabbccddeeff',
        op: 'ended',
        code: 'invalid',
        reason: 'Vtiger refused the call record: missing mandatory field.',
        attempts: 3,
        created_at: '2026-11-20T10:00:00Z',
      },
      {
        id: 12,
        call_id: 'call-12',
        op: 'ring',
        code: null,
        reason: null,
        attempts: 1,
        created_at: '2026-11-20T09:00:00Z',
      },
    ],
    ...over,
  };
}

/** The fake backend; returns the keyring's "stored" flags (tests may flip them). */
function backend(states: () => CrmState[] = () => [vtigerState()]): Record<string, boolean> {
  const stored: Record<string, boolean> = {
    'pbx-api-key': false,
    'webhook-secret': false,
    'hub-token': false,
    'vtiger-access-key': false,
    'vtiger-gateway-secret': true,
    'zoho-client-secret': false,
    'zoho-refresh-token': false,
    'amocrm-token': false,
    'amocrm-client-secret': false,
    'amocrm-refresh-token': false,
    'bitrix24-webhook-url': false,
    'bitrix24-client-secret': false,
    'bitrix24-refresh-token': false,
  };
  handle('save_settings', (a: Record<string, unknown>) => a.settings);
  handle('secret_status', () => ({
    secrets: Object.entries(stored).map(([name, s]) => ({ name, stored: s })),
    keyring: { available: true, message: null },
  }));
  handle('set_secret', (a: Record<string, unknown>) => {
    stored[a.name as string] = true;
    return null;
  });
  handle('crm_states', () => states());
  handle('crm_retry', (a: Record<string, unknown>) => ({ retried: a.opId == null ? 2 : 1 }));
  return stored;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('settings: CRM section', () => {
  it('edits, validates and saves the Vtiger settings without secrets', async () => {
    backend();
    const saved: Settings[] = [];
    render(SettingsView, {
      settings: f.settings({ mode: 'embedded' }),
      onsaved: (s: Settings) => saved.push(s),
    });
    // the demo-only checkbox is hidden outside demo mode
    expect(screen.queryByTestId('settings-demo-vtiger')).toBeNull();
    expect(byId('settings-vtiger-enabled').checked).toBe(false);
    await fireEvent.click(byId('settings-vtiger-enabled'));
    await fireEvent.click(byId('settings-save'));
    // switched on, it needs an address and a user
    expect(invoked('save_settings')).toHaveLength(0);
    await waitFor(() =>
      expect(byId('settings-vtiger-base-url').getAttribute('aria-invalid')).toBe('true'),
    );
    expect(byId('settings-vtiger-username').getAttribute('aria-invalid')).toBe('true');

    await fireEvent.input(byId('settings-vtiger-base-url'), {
      target: { value: ' https://acme.od2.vtiger.com/ ' },
    });
    await fireEvent.input(byId('settings-vtiger-username'), { target: { value: 'admin@acme.com ' } });
    await fireEvent.input(byId('settings-vtiger-office-phone'), { target: { value: ' ' } });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    const sent = invoked('save_settings')[0].settings as Settings;
    expect(sent.crm).toEqual({
      vtiger: {
        enabled: true,
        base_url: 'https://acme.od2.vtiger.com',
        username: 'admin@acme.com',
        office_phone: null,
      },
      zoho: null,
      amocrm: null,
      bitrix24: null,
      demo_vtiger: false,
    });
    expect(JSON.stringify(sent)).not.toMatch(/access_key|secret/i);
    await waitFor(() => expect(saved).toHaveLength(1));
  });

  it('stores the access key and the gateway secret in the keyring', async () => {
    backend();
    render(SettingsView, { settings: f.settings() });
    await waitFor(() => expect(byId('settings-vtiger-secret-stored').dataset.stored).toBe('true'));
    expect(byId('settings-vtiger-access-key-stored').dataset.stored).toBe('false');
    expect(byId('settings-vtiger-access-key').type).toBe('password');
    expect(byId('settings-vtiger-secret').type).toBe('password');

    await fireEvent.input(byId('settings-vtiger-access-key'), { target: { value: 'k3y-0f-vt' } });
    await fireEvent.click(byId('settings-vtiger-access-key-save'));
    await fireEvent.input(byId('settings-vtiger-secret'), { target: { value: 'gw-s3cret' } });
    await fireEvent.click(byId('settings-vtiger-secret-save'));
    expect(invoked('set_secret')).toEqual([
      { name: 'vtiger-access-key', value: 'k3y-0f-vt' },
      { name: 'vtiger-gateway-secret', value: 'gw-s3cret' },
    ]);
    await waitFor(() =>
      expect(byId('settings-vtiger-access-key-stored').dataset.stored).toBe('true'),
    );
    expect(byId('settings-vtiger-access-key').value).toBe('');
    expect(document.body.innerHTML).not.toContain('k3y-0f-vt');
    expect(invoked('save_settings')).toHaveLength(0);
  });

  it('turns the demo Vtiger on in demo mode and tests Vtiger', async () => {
    backend();
    handle('test_connection', (a: Record<string, unknown>) =>
      a.target === 'vtiger'
        ? { ok: true, message: 'Connected to vtiger as admin@acme.com: Vtiger 8.1' }
        : { ok: false, message: 'no' },
    );
    render(SettingsView, { settings: f.settings() });
    expect(byId('settings-demo-vtiger').checked).toBe(false);
    await fireEvent.click(byId('settings-demo-vtiger'));
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    expect((invoked('save_settings')[0].settings as Settings).crm).toEqual({
      vtiger: null,
      zoho: null,
      amocrm: null,
      bitrix24: null,
      demo_vtiger: true,
    });

    await fireEvent.click(byId('settings-test-vtiger'));
    await waitFor(() => expect(byId('settings-test-result').dataset.ok).toBe('true'));
    expect(byId('settings-test-result').dataset.target).toBe('vtiger');
    expect(byId('settings-test-result').textContent).toContain('admin@acme.com');
    expect(invoked('test_connection')).toEqual([{ target: 'vtiger' }]);
  });

  it('validates and normalises the CRM block', () => {
    const s = f.settings();
    s.crm.vtiger = { enabled: true, base_url: 'acme', username: '', office_phone: 'call me' };
    expect(validateSettings(s)).toEqual({
      'settings-vtiger-base-url': 'valid.url',
      'settings-vtiger-username': 'valid.required',
      'settings-vtiger-office-phone': 'valid.phone',
    });
    // an untouched, switched-off block is sent as null
    s.crm.vtiger = { enabled: false, base_url: ' ', username: '', office_phone: '' };
    expect(validateSettings(s)).toEqual({});
    expect(normalizeSettings(s).crm.vtiger).toBeNull();
    // settings from before CRMs get the defaults
    const old = f.settings();
    delete (old as Partial<Settings>).crm;
    expect(normalizeSettings(old).crm).toEqual({
      vtiger: null,
      zoho: null,
      amocrm: null,
      bitrix24: null,
      demo_vtiger: false,
    });
  });
});

describe('settings: Zoho', () => {
  it('edits, validates and saves the Zoho settings, data centre from the list', async () => {
    backend();
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    expect(byId('settings-zoho-enabled').checked).toBe(false);
    await fireEvent.click(byId('settings-zoho-enabled'));
    await fireEvent.click(byId('settings-save'));
    // switched on, it needs a data centre, a client id and an e-mail
    expect(invoked('save_settings')).toHaveLength(0);
    await waitFor(() =>
      expect(byId('settings-zoho-accounts-url').getAttribute('aria-invalid')).toBe('true'),
    );
    expect(byId('settings-zoho-client-id').getAttribute('aria-invalid')).toBe('true');
    expect(byId('settings-zoho-email').getAttribute('aria-invalid')).toBe('true');

    const dc = screen.getByTestId('settings-zoho-dc') as HTMLSelectElement;
    await fireEvent.change(dc, { target: { value: 'eu' } });
    expect(byId('settings-zoho-accounts-url').value).toBe('https://accounts.zoho.eu');
    await fireEvent.input(byId('settings-zoho-client-id'), { target: { value: ' 1000.ABC ' } });
    await fireEvent.input(byId('settings-zoho-email'), { target: { value: 'tony at acme' } });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() =>
      expect(byId('settings-zoho-email-error').textContent).toBe(
        'An e-mail address, e.g. tony@acme.com.',
      ),
    );
    expect(invoked('save_settings')).toHaveLength(0);

    await fireEvent.input(byId('settings-zoho-email'), { target: { value: ' tony@acme.com ' } });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    const sent = invoked('save_settings')[0].settings as Settings;
    expect(sent.crm.zoho).toEqual({
      enabled: true,
      accounts_url: 'https://accounts.zoho.eu',
      client_id: '1000.ABC',
      email: 'tony@acme.com',
    });
    expect(JSON.stringify(sent)).not.toMatch(/client_secret|refresh/i);
  });

  it('takes a typed accounts server (another data centre)', async () => {
    backend();
    const s = f.settings();
    s.crm.zoho = { enabled: true, accounts_url: 'https://accounts.zoho.com', client_id: 'c', email: 'a@b.co' };
    render(SettingsView, { settings: s });
    const dc = screen.getByTestId('settings-zoho-dc') as HTMLSelectElement;
    expect(dc.value).toBe('us');
    await fireEvent.change(dc, { target: { value: 'other' } });
    expect(byId('settings-zoho-accounts-url').value).toBe('');
    await fireEvent.input(byId('settings-zoho-accounts-url'), {
      target: { value: 'https://accounts.zoho.sa/' },
    });
    expect(dc.value).toBe('other');
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    expect((invoked('save_settings')[0].settings as Settings).crm.zoho?.accounts_url).toBe(
      'https://accounts.zoho.sa',
    );
  });

  it('stores the client secret, connects in the browser and shows it connected', async () => {
    const stored = backend();
    handle('zoho_connect', () => {
      stored['zoho-refresh-token'] = true;
      return { ok: true, message: 'Connected to Zoho (data centre eu, APIs at https://www.zohoapis.eu)' };
    });
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await waitFor(() => expect(byId('settings-zoho-connected').dataset.connected).toBe('false'));
    expect(byId('settings-zoho-connected').textContent).toContain('Not connected to Zoho');
    expect((byId('settings-zoho-disconnect') as unknown as HTMLButtonElement).disabled).toBe(true);

    expect(byId('settings-zoho-secret').type).toBe('password');
    await fireEvent.input(byId('settings-zoho-secret'), { target: { value: 'z0ho-s3cret' } });
    await fireEvent.click(byId('settings-zoho-secret-save'));
    expect(invoked('set_secret')).toEqual([{ name: 'zoho-client-secret', value: 'z0ho-s3cret' }]);
    await waitFor(() => expect(byId('settings-zoho-secret-stored').dataset.stored).toBe('true'));
    expect(document.body.innerHTML).not.toContain('z0ho-s3cret');

    await fireEvent.click(byId('settings-zoho-connect'));
    await waitFor(() => expect(byId('settings-zoho-result').dataset.ok).toBe('true'));
    expect(invoked('zoho_connect')).toEqual([{}]);
    expect(byId('settings-zoho-result').textContent).toContain('data centre eu');
    await waitFor(() => expect(byId('settings-zoho-connected').dataset.connected).toBe('true'));
    expect(byId('settings-zoho-connected').textContent).toContain('Connected to Zoho');
    // the refresh token is never typed or sent by the UI
    expect(invoked('set_secret').map((a) => a.name)).not.toContain('zoho-refresh-token');
  });

  it('shows why Connect failed', async () => {
    backend();
    handle('zoho_connect', () => ({
      ok: false,
      message: 'the sign-in redirect does not carry the state Ringside sent',
    }));
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await fireEvent.click(byId('settings-zoho-connect'));
    await waitFor(() => expect(byId('settings-zoho-result').dataset.ok).toBe('false'));
    expect(byId('settings-zoho-result').textContent).toContain('does not carry the state');
    expect(byId('settings-zoho-result').getAttribute('role')).toBe('alert');
  });

  it('disconnects', async () => {
    const stored = backend();
    stored['zoho-refresh-token'] = true;
    handle('zoho_disconnect', () => {
      stored['zoho-refresh-token'] = false;
      return null;
    });
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await waitFor(() => expect(byId('settings-zoho-connected').dataset.connected).toBe('true'));
    await fireEvent.click(byId('settings-zoho-disconnect'));
    await waitFor(() => expect(byId('settings-zoho-connected').dataset.connected).toBe('false'));
    expect(invoked('zoho_disconnect')).toEqual([{}]);
    expect(byId('settings-zoho-result').textContent).toContain('Disconnected from Zoho.');
  });

  it('tests Zoho', async () => {
    backend();
    handle('test_connection', () => ({ ok: true, message: 'Connected to zoho as 3 PhoneBridge users' }));
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await fireEvent.click(byId('settings-test-zoho'));
    await waitFor(() => expect(byId('settings-test-result').dataset.ok).toBe('true'));
    expect(byId('settings-test-result').dataset.target).toBe('zoho');
    expect(invoked('test_connection')).toEqual([{ target: 'zoho' }]);
  });

  it('validates and normalises the Zoho block', () => {
    const s = f.settings();
    s.crm.zoho = { enabled: true, accounts_url: 'accounts.zoho.eu', client_id: ' ', email: 'tony@acme' };
    expect(validateSettings(s)).toEqual({
      'settings-zoho-accounts-url': 'valid.url',
      'settings-zoho-client-id': 'valid.required',
      'settings-zoho-email': 'valid.email',
    });
    s.crm.zoho = { enabled: false, accounts_url: ' ', client_id: '', email: '' };
    expect(validateSettings(s)).toEqual({});
    expect(normalizeSettings(s).crm.zoho).toBeNull();
    s.crm.zoho = {
      enabled: true,
      accounts_url: ' https://accounts.zoho.in/ ',
      client_id: ' 1000.X ',
      email: ' a@b.in ',
    };
    expect(validateSettings(s)).toEqual({});
    expect(normalizeSettings(s).crm.zoho).toEqual({
      enabled: true,
      accounts_url: 'https://accounts.zoho.in',
      client_id: '1000.X',
      email: 'a@b.in',
    });
  });
});

describe('settings: amoCRM', () => {
  const select = (id: string) => screen.getByTestId(id) as HTMLSelectElement;

  it('switches between the long-lived token and the OAuth fields', async () => {
    backend();
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    expect(byId('settings-amocrm-enabled').checked).toBe(false);
    // long-lived by default: the token field, no OAuth fields
    expect(select('settings-amocrm-auth').value).toBe('long_lived');
    expect(byId('settings-amocrm-token').type).toBe('password');
    expect(screen.getByTestId('settings-amocrm-token-save')).toBeTruthy();
    for (const id of [
      'settings-amocrm-client-id',
      'settings-amocrm-redirect-uri',
      'settings-amocrm-client-secret',
      'settings-amocrm-refresh-token',
    ]) {
      expect(screen.queryByTestId(id), id).toBeNull();
    }

    await fireEvent.change(select('settings-amocrm-auth'), { target: { value: 'oauth' } });
    expect(screen.queryByTestId('settings-amocrm-token')).toBeNull();
    expect(byId('settings-amocrm-client-id')).toBeTruthy();
    expect(byId('settings-amocrm-redirect-uri')).toBeTruthy();
    expect(byId('settings-amocrm-client-secret').type).toBe('password');
    expect(byId('settings-amocrm-refresh-token').type).toBe('password');
    expect(screen.getByTestId('settings-amocrm-client-secret-save')).toBeTruthy();
    expect(screen.getByTestId('settings-amocrm-refresh-token-save')).toBeTruthy();

    await fireEvent.change(select('settings-amocrm-auth'), { target: { value: 'long_lived' } });
    expect(byId('settings-amocrm-token')).toBeTruthy();
    expect(screen.queryByTestId('settings-amocrm-client-id')).toBeNull();
  });

  it('validates, then saves the long-lived settings without the token', async () => {
    backend();
    const saved: Settings[] = [];
    render(SettingsView, {
      settings: f.settings({ mode: 'embedded' }),
      onsaved: (s: Settings) => saved.push(s),
    });
    await fireEvent.click(byId('settings-amocrm-enabled'));
    await fireEvent.click(byId('settings-save'));
    // switched on, it needs an address and an e-mail
    expect(invoked('save_settings')).toHaveLength(0);
    await waitFor(() =>
      expect(byId('settings-amocrm-base-url').getAttribute('aria-invalid')).toBe('true'),
    );
    expect(byId('settings-amocrm-email').getAttribute('aria-invalid')).toBe('true');

    await fireEvent.input(byId('settings-amocrm-base-url'), {
      target: { value: ' https://acme.amocrm.ru/ ' },
    });
    await fireEvent.input(byId('settings-amocrm-email'), { target: { value: 'tony at acme' } });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() =>
      expect(byId('settings-amocrm-email-error').textContent).toBe(
        'An e-mail address, e.g. tony@acme.com.',
      ),
    );
    expect(invoked('save_settings')).toHaveLength(0);

    await fireEvent.input(byId('settings-amocrm-email'), { target: { value: ' tony@acme.com ' } });
    await fireEvent.change(select('settings-amocrm-unknown-number'), {
      target: { value: 'create_contact' },
    });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    const sent = invoked('save_settings')[0].settings as Settings;
    expect(sent.crm.amocrm).toEqual({
      enabled: true,
      base_url: 'https://acme.amocrm.ru',
      auth: 'long_lived',
      client_id: null,
      redirect_uri: null,
      email: 'tony@acme.com',
      unknown_number: 'create_contact',
    });
    expect(JSON.stringify(sent)).not.toMatch(/secret|refresh_token|"token/i);
    await waitFor(() => expect(saved).toHaveLength(1));
  });

  it('needs the integration id and redirect URI for OAuth, then saves them', async () => {
    backend();
    const s = f.settings({ mode: 'embedded' });
    s.crm.amocrm = {
      enabled: true,
      base_url: 'https://acme.kommo.com',
      auth: 'long_lived',
      client_id: null,
      redirect_uri: null,
      email: 'tony@acme.com',
      unknown_number: 'park',
    };
    render(SettingsView, { settings: s });
    await fireEvent.change(select('settings-amocrm-auth'), { target: { value: 'oauth' } });
    await fireEvent.click(byId('settings-save'));
    expect(invoked('save_settings')).toHaveLength(0);
    await waitFor(() =>
      expect(byId('settings-amocrm-client-id').getAttribute('aria-invalid')).toBe('true'),
    );
    expect(byId('settings-amocrm-redirect-uri').getAttribute('aria-invalid')).toBe('true');

    await fireEvent.input(byId('settings-amocrm-client-id'), { target: { value: ' 3f1c2b9e ' } });
    await fireEvent.input(byId('settings-amocrm-redirect-uri'), {
      target: { value: 'ringside.test/oauth' },
    });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() =>
      expect(byId('settings-amocrm-redirect-uri').getAttribute('aria-invalid')).toBe('true'),
    );
    expect(byId('settings-amocrm-client-id').getAttribute('aria-invalid')).toBeNull();
    expect(invoked('save_settings')).toHaveLength(0);

    await fireEvent.input(byId('settings-amocrm-redirect-uri'), {
      target: { value: ' https://ringside.test/oauth/amocrm/ ' },
    });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    expect((invoked('save_settings')[0].settings as Settings).crm.amocrm).toEqual({
      enabled: true,
      base_url: 'https://acme.kommo.com',
      auth: 'oauth',
      client_id: '3f1c2b9e',
      // exactly as registered: only the spaces go
      redirect_uri: 'https://ringside.test/oauth/amocrm/',
      email: 'tony@acme.com',
      unknown_number: 'park',
    });
  });

  it('stores the token, the client secret and the refresh token in the keyring', async () => {
    backend();
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await waitFor(() => expect(byId('settings-amocrm-token-stored').dataset.stored).toBe('false'));
    await fireEvent.input(byId('settings-amocrm-token'), { target: { value: 'amo-l0ng-lived' } });
    await fireEvent.click(byId('settings-amocrm-token-save'));
    await waitFor(() => expect(byId('settings-amocrm-token-stored').dataset.stored).toBe('true'));
    expect(byId('settings-amocrm-token').value).toBe('');

    await fireEvent.change(select('settings-amocrm-auth'), { target: { value: 'oauth' } });
    await fireEvent.input(byId('settings-amocrm-client-secret'), { target: { value: 'amo-s3cret' } });
    await fireEvent.click(byId('settings-amocrm-client-secret-save'));
    await fireEvent.input(byId('settings-amocrm-refresh-token'), { target: { value: 'def50200-refresh' } });
    await fireEvent.click(byId('settings-amocrm-refresh-token-save'));
    expect(invoked('set_secret')).toEqual([
      { name: 'amocrm-token', value: 'amo-l0ng-lived' },
      { name: 'amocrm-client-secret', value: 'amo-s3cret' },
      { name: 'amocrm-refresh-token', value: 'def50200-refresh' },
    ]);
    await waitFor(() =>
      expect(byId('settings-amocrm-refresh-token-stored').dataset.stored).toBe('true'),
    );
    expect(byId('settings-amocrm-client-secret-stored').dataset.stored).toBe('true');
    for (const v of ['amo-l0ng-lived', 'amo-s3cret', 'def50200-refresh']) {
      expect(document.body.innerHTML).not.toContain(v);
    }
    expect(invoked('save_settings')).toHaveLength(0);
  });

  it('explains what happens to calls from unknown numbers', async () => {
    backend();
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    const help = screen.getByTestId('settings-amocrm-unknown-number-help');
    expect(select('settings-amocrm-unknown-number').value).toBe('park');
    expect(help.textContent).toContain('waits in the CRM outbox');
    await fireEvent.change(select('settings-amocrm-unknown-number'), {
      target: { value: 'create_contact' },
    });
    expect(screen.getByTestId('settings-amocrm-unknown-number-help').textContent).toContain(
      'gets a new contact named after the number',
    );
  });

  it('tests amoCRM', async () => {
    backend();
    handle('test_connection', (a: Record<string, unknown>) =>
      a.target === 'amocrm'
        ? { ok: true, message: 'Connected to amocrm as Ringside (ringside)' }
        : { ok: false, message: 'no' },
    );
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await fireEvent.click(byId('settings-test-amocrm'));
    await waitFor(() => expect(byId('settings-test-result').dataset.ok).toBe('true'));
    expect(byId('settings-test-result').dataset.target).toBe('amocrm');
    expect(byId('settings-test-result').textContent).toContain('Connected to amocrm');
    expect(invoked('test_connection')).toEqual([{ target: 'amocrm' }]);
  });

  it('validates and normalises the amoCRM block', () => {
    const s = f.settings();
    s.crm.amocrm = {
      enabled: true,
      base_url: 'acme.amocrm.ru',
      auth: 'oauth',
      client_id: ' ',
      redirect_uri: null,
      email: 'tony@acme',
      unknown_number: 'park',
    };
    expect(validateSettings(s)).toEqual({
      'settings-amocrm-base-url': 'valid.url',
      'settings-amocrm-client-id': 'valid.required',
      'settings-amocrm-redirect-uri': 'valid.required',
      'settings-amocrm-email': 'valid.email',
    });
    // long-lived: the OAuth fields do not matter
    s.crm.amocrm = { ...s.crm.amocrm, base_url: 'https://acme.amocrm.ru', email: 'a@b.ru', auth: 'long_lived' };
    expect(validateSettings(s)).toEqual({});
    expect(normalizeSettings(s).crm.amocrm?.client_id).toBeNull();
    // an untouched, switched-off block is sent as null
    s.crm.amocrm = {
      enabled: false,
      base_url: ' ',
      auth: 'long_lived',
      client_id: '',
      redirect_uri: ' ',
      email: '',
      unknown_number: 'park',
    };
    expect(validateSettings(s)).toEqual({});
    expect(normalizeSettings(s).crm.amocrm).toBeNull();
  });
});

describe('settings: Bitrix24', () => {
  const select = (id: string) => screen.getByTestId(id) as HTMLSelectElement;
  const oauthIds = [
    'settings-bitrix24-portal-url',
    'settings-bitrix24-client-id',
    'settings-bitrix24-client-secret',
    'settings-bitrix24-refresh-token',
  ];

  it('switches between the local application (OAuth) and the webhook fields', async () => {
    backend();
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    expect(byId('settings-bitrix24-enabled').checked).toBe(false);
    // OAuth by default: portal, client id, secret and refresh token; no webhook
    expect(select('settings-bitrix24-auth').value).toBe('oauth');
    for (const id of oauthIds) expect(byId(id), id).toBeTruthy();
    expect(byId('settings-bitrix24-client-secret').type).toBe('password');
    expect(byId('settings-bitrix24-refresh-token').type).toBe('password');
    expect(screen.getByTestId('settings-bitrix24-client-secret-save')).toBeTruthy();
    expect(screen.getByTestId('settings-bitrix24-refresh-token-save')).toBeTruthy();
    expect(screen.queryByTestId('settings-bitrix24-webhook-url')).toBeNull();

    await fireEvent.change(select('settings-bitrix24-auth'), { target: { value: 'webhook' } });
    expect(byId('settings-bitrix24-webhook-url').type).toBe('password');
    expect(screen.getByTestId('settings-bitrix24-webhook-url-save')).toBeTruthy();
    for (const id of oauthIds) expect(screen.queryByTestId(id), id).toBeNull();
    // the webhook cannot log calls: the help says so
    expect(screen.getByTestId('settings-bitrix24-auth-help').textContent).toContain(
      'calls cannot be logged',
    );

    await fireEvent.change(select('settings-bitrix24-auth'), { target: { value: 'oauth' } });
    expect(byId('settings-bitrix24-portal-url')).toBeTruthy();
    expect(screen.queryByTestId('settings-bitrix24-webhook-url')).toBeNull();
  });

  it('validates, then saves the OAuth settings, the plan and CRM_CREATE without secrets', async () => {
    backend();
    const saved: Settings[] = [];
    render(SettingsView, {
      settings: f.settings({ mode: 'embedded' }),
      onsaved: (s: Settings) => saved.push(s),
    });
    await fireEvent.click(byId('settings-bitrix24-enabled'));
    await fireEvent.click(byId('settings-save'));
    // switched on with OAuth, it needs the portal and the application id
    expect(invoked('save_settings')).toHaveLength(0);
    await waitFor(() =>
      expect(byId('settings-bitrix24-portal-url').getAttribute('aria-invalid')).toBe('true'),
    );
    expect(byId('settings-bitrix24-client-id').getAttribute('aria-invalid')).toBe('true');

    // a webhook URL is not the portal
    await fireEvent.input(byId('settings-bitrix24-portal-url'), {
      target: { value: 'https://acme.bitrix24.es/rest/1/abc123/' },
    });
    await fireEvent.input(byId('settings-bitrix24-client-id'), { target: { value: ' local.6789abc ' } });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() =>
      expect(byId('settings-bitrix24-portal-url-error').textContent).not.toBe(''),
    );
    expect(byId('settings-bitrix24-client-id').getAttribute('aria-invalid')).toBeNull();
    expect(invoked('save_settings')).toHaveLength(0);

    await fireEvent.input(byId('settings-bitrix24-portal-url'), {
      target: { value: ' https://acme.bitrix24.es/ ' },
    });
    expect(byId('settings-bitrix24-crm-create').checked).toBe(true);
    await fireEvent.click(byId('settings-bitrix24-crm-create'));
    expect(select('settings-bitrix24-plan').value).toBe('standard');
    await fireEvent.change(select('settings-bitrix24-plan'), { target: { value: 'enterprise' } });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    const sent = invoked('save_settings')[0].settings as Settings;
    expect(sent.crm.bitrix24).toEqual({
      enabled: true,
      auth: 'oauth',
      portal_url: 'https://acme.bitrix24.es',
      client_id: 'local.6789abc',
      crm_create: false,
      plan: 'enterprise',
    });
    expect(JSON.stringify(sent)).not.toMatch(/secret|refresh_token|webhook_url/i);
    await waitFor(() => expect(saved).toHaveLength(1));
  });

  it('saves the webhook mode without a portal or an application id', async () => {
    backend();
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await fireEvent.click(byId('settings-bitrix24-enabled'));
    await fireEvent.change(select('settings-bitrix24-auth'), { target: { value: 'webhook' } });
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    expect((invoked('save_settings')[0].settings as Settings).crm.bitrix24).toEqual({
      enabled: true,
      auth: 'webhook',
      portal_url: null,
      client_id: null,
      crm_create: true,
      plan: 'standard',
    });
  });

  it('stores the webhook URL, the client secret and the refresh token in the keyring', async () => {
    backend();
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await waitFor(() =>
      expect(byId('settings-bitrix24-client-secret-stored').dataset.stored).toBe('false'),
    );
    await fireEvent.input(byId('settings-bitrix24-client-secret'), { target: { value: 'b24-s3cret' } });
    await fireEvent.click(byId('settings-bitrix24-client-secret-save'));
    await fireEvent.input(byId('settings-bitrix24-refresh-token'), { target: { value: 'b24-refresh-1' } });
    await fireEvent.click(byId('settings-bitrix24-refresh-token-save'));
    await waitFor(() =>
      expect(byId('settings-bitrix24-refresh-token-stored').dataset.stored).toBe('true'),
    );
    expect(byId('settings-bitrix24-client-secret-stored').dataset.stored).toBe('true');
    expect(byId('settings-bitrix24-refresh-token').value).toBe('');

    await fireEvent.change(select('settings-bitrix24-auth'), { target: { value: 'webhook' } });
    const hook = 'https://acme.bitrix24.es/rest/1/abc123xyz/';
    await fireEvent.input(byId('settings-bitrix24-webhook-url'), { target: { value: hook } });
    await fireEvent.click(byId('settings-bitrix24-webhook-url-save'));
    await waitFor(() =>
      expect(byId('settings-bitrix24-webhook-url-stored').dataset.stored).toBe('true'),
    );
    expect(byId('settings-bitrix24-webhook-url').value).toBe('');
    expect(invoked('set_secret')).toEqual([
      { name: 'bitrix24-client-secret', value: 'b24-s3cret' },
      { name: 'bitrix24-refresh-token', value: 'b24-refresh-1' },
      { name: 'bitrix24-webhook-url', value: hook },
    ]);
    for (const v of ['b24-s3cret', 'b24-refresh-1', 'abc123xyz']) {
      expect(document.body.innerHTML).not.toContain(v);
    }
    expect(invoked('save_settings')).toHaveLength(0);
  });

  it('tests Bitrix24', async () => {
    backend();
    handle('test_connection', (a: Record<string, unknown>) =>
      a.target === 'bitrix24'
        ? { ok: true, message: 'Connected to bitrix24 as Tony Manero' }
        : { ok: false, message: 'no' },
    );
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await fireEvent.click(byId('settings-test-bitrix24'));
    await waitFor(() => expect(byId('settings-test-result').dataset.ok).toBe('true'));
    expect(byId('settings-test-result').dataset.target).toBe('bitrix24');
    expect(byId('settings-test-result').textContent).toContain('Connected to bitrix24');
    expect(invoked('test_connection')).toEqual([{ target: 'bitrix24' }]);
  });

  it('validates and normalises the Bitrix24 block', () => {
    const s = f.settings();
    s.crm.bitrix24 = {
      enabled: true,
      auth: 'oauth',
      portal_url: 'acme.bitrix24.es',
      client_id: ' ',
      crm_create: true,
      plan: 'standard',
    };
    expect(validateSettings(s)).toEqual({
      'settings-bitrix24-portal-url': 'valid.url',
      'settings-bitrix24-client-id': 'valid.required',
    });
    s.crm.bitrix24 = { ...s.crm.bitrix24, portal_url: 'https://acme.bitrix24.es?x=1' };
    expect(validateSettings(s)['settings-bitrix24-portal-url']).toBe('valid.url');
    // webhook: the OAuth fields do not matter
    s.crm.bitrix24 = { ...s.crm.bitrix24, auth: 'webhook' };
    expect(validateSettings(s)).toEqual({});
    expect(normalizeSettings(s).crm.bitrix24?.client_id).toBeNull();
    // an untouched, switched-off block is sent as null
    s.crm.bitrix24 = {
      enabled: false,
      auth: 'oauth',
      portal_url: ' ',
      client_id: '',
      crm_create: true,
      plan: 'standard',
    };
    expect(validateSettings(s)).toEqual({});
    expect(normalizeSettings(s).crm.bitrix24).toBeNull();
  });
});

describe('CRM panel', () => {
  it('shows counts, capabilities, the last error and the parked operations', async () => {
    backend(() => [vtigerState({ paused_until: '2026-11-20T10:05:00Z' })]);
    render(CrmPanel, {});
    await waitFor(() => expect(screen.getAllByTestId('crm-state')).toHaveLength(1));
    const state = byId('crm-state');
    expect(state.dataset.crm).toBe('vtiger');
    expect(state.dataset.pending).toBe('3');
    expect(state.dataset.parked).toBe('2');
    expect(within(state).getByTestId('crm-delivered').textContent).toBe('41');
    expect(within(state).getByText('Vtiger')).toBeTruthy();
    expect(
      within(state)
        .getAllByTestId('crm-capability')
        .map((c) => c.dataset.capability),
    ).toContain('live_call_events');
    expect(byId('crm-paused').textContent).toContain('Deliveries paused until');
    expect(byId('crm-error').textContent).toContain('Vtiger refused the access key (401).');

    const ops = screen.getAllByTestId('crm-parked-op');
    expect(ops.map((o) => o.dataset.opId)).toEqual(['17', '12']);
    const first = f.norm(ops[0].textContent);
    expect(first).toContain('ended');
    expect(first).toContain('Vtiger refused the call record: missing mandatory field.');
    expect(first).toContain('call 7f3c2a9e…');
    expect(first).toContain('3 attempts');
    expect(f.norm(ops[1].textContent)).toContain('No reason given.');
  });

  it('retries one parked operation, or all of them', async () => {
    backend();
    render(CrmPanel, {});
    await waitFor(() => expect(screen.getAllByTestId('crm-parked-op')).toHaveLength(2));
    const op = screen.getAllByTestId('crm-parked-op')[1];
    await fireEvent.click(within(op).getByTestId('crm-retry-op'));
    await waitFor(() => expect(invoked('crm_retry')).toEqual([{ crmId: 'vtiger', opId: 12 }]));
    await waitFor(() => expect(byId('crm-message').textContent).toContain('1 operations queued again.'));
    await fireEvent.click(byId('crm-retry-all'));
    await waitFor(() => expect(invoked('crm_retry')[1]).toEqual({ crmId: 'vtiger', opId: null }));
    // the states are read again after each retry
    await waitFor(() => expect(invoked('crm_states').length).toBeGreaterThanOrEqual(3));
  });

  it('says when no CRM is enabled, and explains a failure', async () => {
    backend(() => []);
    render(CrmPanel, {});
    await waitFor(() => expect(byId('crm-none')).toBeTruthy());
    expect(screen.queryByTestId('crm-state')).toBeNull();
  });

  it('explains why the states cannot be read', async () => {
    handle('crm_states', () => {
      throw { code: 'unavailable', message: 'not connected yet' };
    });
    render(CrmPanel, {});
    await waitFor(() =>
      expect(screen.getByTestId('crm-panel').textContent).toContain('not connected yet'),
    );
  });

  it('polls every 5 s only while active', async () => {
    vi.useFakeTimers();
    backend();
    const view = render(CrmPanel, { active: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(invoked('crm_states')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(invoked('crm_states')).toHaveLength(2);
    await view.rerender({ active: false });
    await vi.advanceTimersByTimeAsync(15000);
    expect(invoked('crm_states')).toHaveLength(2);
    await view.rerender({ active: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(invoked('crm_states')).toHaveLength(3);
  });
});
