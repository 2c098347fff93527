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

function backend(states: () => CrmState[] = () => [vtigerState()]) {
  const stored: Record<string, boolean> = {
    'pbx-api-key': false,
    'webhook-secret': false,
    'hub-token': false,
    'vtiger-access-key': false,
    'vtiger-gateway-secret': true,
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
    expect(normalizeSettings(old).crm).toEqual({ vtiger: null, demo_vtiger: false });
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
