import { describe, expect, it } from 'vitest';
import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import SettingsView from '../src/lib/components/Settings.svelte';
import { handle, invoked } from './fake-tauri';
import * as f from './fixtures';
import { validateSettings, normalizeSettings } from '../src/lib/settings';
import { locale, setLanguage } from '../src/lib/locale.svelte';
import type { Settings } from '../src/lib/bindings';

const byId = (id: string) => screen.getByTestId(id) as HTMLInputElement;

function backend(keyringAvailable = true) {
  let stored = { 'pbx-api-key': false, 'webhook-secret': false, 'hub-token': true };
  handle('save_settings', (a: Record<string, unknown>) => a.settings);
  handle('secret_status', () => ({
    secrets: Object.entries(stored).map(([name, s]) => ({ name, stored: s })),
    keyring: keyringAvailable
      ? { available: true, message: null }
      : { available: false, message: 'org.freedesktop.secrets was not provided by any .service files' },
  }));
  handle('set_secret', (a: Record<string, unknown>) => {
    if (!keyringAvailable) throw { code: 'keyring_unavailable', message: 'no Secret Service' };
    stored = { ...stored, [a.name as string]: true };
    return null;
  });
}

describe('settings', () => {
  it('edits and saves every setting', async () => {
    backend();
    const saved: Settings[] = [];
    render(SettingsView, { settings: f.settings(), onsaved: (s: Settings) => saved.push(s) });
    await fireEvent.change(byId('settings-mode'), { target: { value: 'embedded' } });
    await fireEvent.input(byId('settings-pbx-base-url'), { target: { value: ' https://pbx.example/api ' } });
    await fireEvent.input(byId('settings-pbx-extension'), { target: { value: '301' } });
    await fireEvent.input(byId('settings-pbx-region'), { target: { value: 'pt' } });
    await fireEvent.change(byId('settings-match-policy'), { target: { value: 'most_recent' } });
    await fireEvent.click(byId('settings-autostart'));
    await fireEvent.input(byId('settings-hotkey'), { target: { value: '' } });
    await fireEvent.input(byId('settings-hub-url'), { target: { value: 'https://hub.example' } });
    expect(screen.getByText('Unsaved changes')).toBeTruthy();
    await fireEvent.click(byId('settings-save'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(1));
    const sent = invoked('save_settings')[0].settings as Settings;
    expect(sent).toEqual({
      ...f.settings(),
      mode: 'embedded',
      pbx: { ...f.settings().pbx, base_url: 'https://pbx.example/api', extension: '301', region: 'PT' },
      hub: { url: 'https://hub.example' },
      match_policy: 'most_recent',
      autostart: true,
      hotkey: null,
    });
    // No secret ever travels with the settings.
    expect(JSON.stringify(sent)).not.toMatch(/api_key|"token|secret/i);
    await waitFor(() => expect(screen.getByText('Settings saved.')).toBeTruthy());
    expect(saved).toHaveLength(1);
    expect(screen.queryByText('Unsaved changes')).toBeNull();
  });

  it('validates before saving', async () => {
    backend();
    render(SettingsView, { settings: f.settings({ mode: 'embedded' }) });
    await fireEvent.input(byId('settings-pbx-base-url'), { target: { value: 'ftp://nope' } });
    await fireEvent.input(byId('settings-pbx-extension'), { target: { value: '20x' } });
    await fireEvent.click(byId('settings-save'));
    expect(invoked('save_settings')).toHaveLength(0);
    await waitFor(() => expect(screen.getByText('Some fields need fixing.')).toBeTruthy());
    expect(byId('settings-pbx-base-url').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('Enter an http:// or https:// address.')).toBeTruthy();
    expect(screen.getByText('Digits only, e.g. 203.')).toBeTruthy();
    expect(document.activeElement).toBe(byId('settings-pbx-base-url'));
  });

  it('saves a secret to the keyring and forgets it', async () => {
    backend();
    render(SettingsView, { settings: f.settings() });
    await waitFor(() => expect(byId('keyring-status').dataset.available).toBe('true'));
    expect(byId('settings-pbx-key-stored').dataset.stored).toBe('false');
    expect(byId('settings-hub-token-stored').dataset.stored).toBe('true');
    expect(byId('settings-pbx-key').type).toBe('password');

    await fireEvent.click(byId('settings-pbx-key-save'));
    expect(screen.getByText('Type the secret first.')).toBeTruthy();
    expect(invoked('set_secret')).toHaveLength(0);

    await fireEvent.input(byId('settings-pbx-key'), { target: { value: 's3cr3t-key' } });
    await fireEvent.click(byId('settings-pbx-key-save'));
    expect(invoked('set_secret')).toEqual([{ name: 'pbx-api-key', value: 's3cr3t-key' }]);
    expect(byId('settings-pbx-key').value).toBe('');
    await waitFor(() => expect(byId('settings-pbx-key-stored').dataset.stored).toBe('true'));
    expect(screen.getByText('Saved to the OS keyring.')).toBeTruthy();
    expect(document.body.innerHTML).not.toContain('s3cr3t-key');

    await fireEvent.input(byId('settings-hub-token'), { target: { value: 'tok' } });
    await fireEvent.keyDown(byId('settings-hub-token'), { key: 'Enter' });
    expect(invoked('set_secret')[1]).toEqual({ name: 'hub-token', value: 'tok' });
    expect(invoked('save_settings')).toHaveLength(0);
  });

  it('explains a missing keyring by its code', async () => {
    backend(false);
    render(SettingsView, { settings: f.settings() });
    await waitFor(() => expect(byId('keyring-status').dataset.available).toBe('false'));
    expect(byId('keyring-status').textContent).toContain('No OS keyring is available');
    await fireEvent.input(byId('settings-hub-token'), { target: { value: 'tok' } });
    await fireEvent.click(byId('settings-hub-token-save'));
    await waitFor(() =>
      expect(byId('settings-hub-token-message').textContent).toContain(
        'the secret was not saved. Ringside never stores secrets anywhere else',
      ),
    );
    expect(byId('settings-hub-token').value).toBe('');
  });

  it('tests a connection and shows what is wrong', async () => {
    backend();
    handle('test_connection', (a: Record<string, unknown>) =>
      a.target === 'pbx'
        ? { ok: false, message: 'The PBX refused the API key (401). Check the key in Settings.' }
        : { ok: true, message: 'Hub 0.4.0 answered in 12 ms as agent 203.' },
    );
    render(SettingsView, { settings: f.settings() });
    await fireEvent.click(byId('settings-test-pbx'));
    await waitFor(() => expect(byId('settings-test-result').dataset.ok).toBe('false'));
    expect(byId('settings-test-result').textContent).toContain('The PBX refused the API key (401).');
    await fireEvent.click(byId('settings-test-hub'));
    await waitFor(() => expect(byId('settings-test-result').dataset.ok).toBe('true'));
    expect(byId('settings-test-result').textContent).toContain('Hub 0.4.0 answered');
    expect(invoked('test_connection')).toEqual([{ target: 'pbx' }, { target: 'hub' }]);
  });

  it('applies theme and language at once', async () => {
    backend();
    setLanguage('en');
    render(SettingsView, { settings: f.settings() });
    await fireEvent.change(byId('settings-theme'), { target: { value: 'dark' } });
    expect(document.documentElement.dataset.theme).toBe('dark');
    await fireEvent.change(byId('settings-language'), { target: { value: 'es' } });
    expect(locale.lang).toBe('es');
    expect(document.documentElement.lang).toBe('es');
    await waitFor(() => expect(byId('settings-save').textContent?.trim()).toBe('Guardar ajustes'));
    await waitFor(() => expect(invoked('save_settings')).toHaveLength(2));
    expect((invoked('save_settings')[1].settings as Settings).language).toBe('es');
    expect((invoked('save_settings')[1].settings as Settings).theme).toBe('dark');
    setLanguage('en');
  });
});

describe('settings validation', () => {
  it('requires what the mode needs', () => {
    const s = f.settings({ mode: 'hub', hub: { url: '' } });
    expect(validateSettings(s)).toEqual({ 'settings-hub-url': 'valid.required' });
    const e = f.settings({ mode: 'embedded' });
    e.pbx.webhook_listen = 'localhost';
    e.pbx.outside_line_prefix = 'x';
    e.pbx.public_url = 'nope';
    e.hotkey = 'Ctrl++';
    expect(validateSettings(e)).toEqual({
      'settings-pbx-webhook-listen': 'valid.listen',
      'settings-pbx-prefix': 'valid.prefix',
      'settings-pbx-public-url': 'valid.url',
      'settings-hotkey': 'valid.hotkey',
    });
    expect(validateSettings(f.settings())).toEqual({});
  });

  it('normalises optional fields to null', () => {
    const s = f.settings({ hotkey: ' CmdOrCtrl + Shift + D ' });
    s.pbx.public_url = '  ';
    const n = normalizeSettings(s);
    expect(n.hotkey).toBe('CmdOrCtrl+Shift+D');
    expect(n.pbx.public_url).toBeNull();
  });
});
