import { describe, expect, it } from 'vitest';
import { render, screen, fireEvent, waitFor, within } from '@testing-library/svelte';
import Pop from '../src/Pop.svelte';
import { emit, handle, invoked, listening } from './fake-tauri';
import * as f from './fixtures';
import type { PopState } from '../src/lib/bindings';

async function mountPop(lang: 'en' | 'es' | 'ru' = 'en', initial: PopState | null = null) {
  handle('app_state', f.snapshot({ settings: f.settings({ language: lang }), pop: initial }));
  render(Pop);
  await waitFor(() => expect(listening('pop')).toBe(1));
  await waitFor(() => expect(invoked('app_state').length).toBeGreaterThan(0));
}

const byId = (id: string) => screen.getByTestId(id);
const allById = (id: string) => screen.queryAllByTestId(id);

describe('screen pop', () => {
  it('shows the number at once, then the contact and open deals', async () => {
    await mountPop();
    const c = f.call();
    emit('pop', f.pop(c, null, true));
    await waitFor(() => expect(f.norm(byId('pop-number').textContent)).toBe('+34 647 46 01 97'));
    expect(screen.queryByTestId('pop-name')).toBeNull();
    expect(document.querySelector('.skeleton')).not.toBeNull();
    expect(byId('pop-status').dataset.status).toBe('ringing');
    expect(f.norm(byId('pop-status').textContent)).toMatch(/^Ringing/);

    emit('pop', f.pop(c, f.info([f.lucia], 0), false));
    await waitFor(() => expect(byId('pop-name').textContent).toBe('Lucía Fernández'));
    expect(byId('pop-company').textContent).toBe('Mar Azul Hoteles S.L.');
    expect(f.norm(byId('pop-source').textContent)).toBe('Local');
    expect(document.querySelector('.skeleton')).toBeNull();
    const deals = allById('pop-deal');
    expect(deals).toHaveLength(2); // the closed deal is not shown
    const first = f.norm(deals[0].textContent);
    expect(first).toContain('Renovación centralita 2027');
    expect(first).toContain('Negotiation');
    expect(first).toContain('EUR 12,500.00');
    expect(first).toContain('15 Dec 2026');
    expect(deals[0].dataset.currency).toBe('EUR');
  });

  it('formats deals in the chosen language', async () => {
    await mountPop('es');
    emit('pop', f.pop(f.call(), f.info([f.lucia], 0), false));
    await waitFor(() => expect(allById('pop-deal')).toHaveLength(2));
    const es = f.norm(allById('pop-deal')[0].textContent);
    expect(es).toContain('12.500,00 EUR');
    expect(es).toContain('cierre 15 dic 2026');
    expect(screen.getByText('Oportunidades abiertas')).toBeTruthy();
  });

  it('formats deals in Russian', async () => {
    await mountPop('ru');
    emit('pop', f.pop(f.call(), f.info([f.lucia], 0), false));
    await waitFor(() => expect(allById('pop-deal')).toHaveLength(2));
    expect(f.norm(allById('pop-deal')[1].textContent)).toContain('4 800,00 EUR');
    expect(f.norm(byId('pop-hangup').textContent)).toBe('Положить трубку');
  });

  it('lists the last calls with the number, not the current one', async () => {
    await mountPop();
    const c = f.call();
    const older = f.call({
      status: 'ended',
      outcome: 'missed',
      started_at: '2026-11-01T09:00:00Z',
    });
    emit('pop', f.pop(c, f.info([f.lucia], 0, [c, older]), false));
    await waitFor(() => expect(allById('pop-recent-call')).toHaveLength(1));
    expect(allById('pop-recent-call')[0].dataset.callId).toBe(older.id);
    expect(allById('pop-recent-call')[0].textContent).toContain('Missed');
  });

  it('asks which contact when several match, and calls choose_contact', async () => {
    await mountPop();
    const c = f.call({ remote_number: '+34933456789' });
    const reception = { contact: f.contact('Recepción Clínica Diagonal', 'Clínica Diagonal', '+34 933 456 789'), deals: [] };
    const marta = {
      contact: f.contact('Dra. Marta Puig', 'Clínica Diagonal', '+34 933 456 789'),
      deals: [f.deal('Centralita clínica', 'Proposal', '15800.00', 'EUR', '2026-11-30')],
    };
    emit('pop', f.pop(c, f.info([reception, marta], null), false));
    await waitFor(() => expect(byId('pop-chooser')).toBeTruthy());
    const choices = allById('pop-choice');
    expect(choices.map((b) => f.norm(b.textContent))).toEqual([
      'Recepción Clínica Diagonal Clínica Diagonal',
      'Dra. Marta Puig Clínica Diagonal 1',
    ]);
    handle('choose_contact', f.pop(c, f.info([reception, marta], 1), false));
    await fireEvent.click(choices[1]);
    expect(invoked('choose_contact')).toEqual([{ callId: c.id, index: 1 }]);
    await waitFor(() => expect(byId('pop-name').textContent).toBe('Dra. Marta Puig'));
    expect(screen.queryByTestId('pop-chooser')).toBeNull();
    expect(allById('pop-deal')).toHaveLength(1);
  });

  it('transfers to the picked extension', async () => {
    await mountPop();
    const c = f.call({ status: 'talking', answered_at: '2026-11-20T10:00:05Z' });
    emit('pop', f.pop(c, f.info([f.lucia], 0), false));
    handle('extensions', [
      { extension: '203', name: 'Tony Manero' },
      { extension: '301', name: 'Ana Ruiz' },
      { extension: '302', name: null },
    ]);
    handle('transfer', null);
    await waitFor(() => expect(byId('pop-transfer-open')).toBeTruthy());
    await fireEvent.click(byId('pop-transfer-open'));
    await waitFor(() => expect(allById('pop-transfer-ext')).toHaveLength(2)); // not our own 203
    const ext301 = allById('pop-transfer-ext').find((b) => b.dataset.extension === '301')!;
    await fireEvent.click(ext301);
    expect(ext301.getAttribute('aria-pressed')).toBe('true');
    expect((byId('pop-transfer-input') as HTMLInputElement).value).toBe('301');
    await fireEvent.click(byId('pop-transfer-go'));
    await waitFor(() => expect(invoked('transfer')).toEqual([{ callId: c.id, destination: '301' }]));
    await waitFor(() => expect(screen.getByText('Transferred to 301')).toBeTruthy());
  });

  it('transfers to a typed number with Enter', async () => {
    await mountPop();
    const c = f.call({ status: 'talking' });
    emit('pop', f.pop(c, f.info([f.lucia], 0), false));
    handle('extensions', []);
    handle('transfer', null);
    await waitFor(() => byId('pop-transfer-open'));
    await fireEvent.click(byId('pop-transfer-open'));
    const input = byId('pop-transfer-input') as HTMLInputElement;
    await fireEvent.input(input, { target: { value: '+34 600 111 222' } });
    await fireEvent.submit(input.form!);
    await waitFor(() =>
      expect(invoked('transfer')).toEqual([{ callId: c.id, destination: '+34 600 111 222' }]),
    );
  });

  it('saves notes with the button and with Ctrl+Enter', async () => {
    await mountPop();
    const c = f.call({ status: 'talking' });
    emit('pop', f.pop(c, f.info([f.lucia], 0), false));
    handle('save_notes', (a: Record<string, unknown>) => ({ ...c, notes: a.notes }));
    await waitFor(() => byId('pop-notes'));
    const notes = byId('pop-notes') as HTMLTextAreaElement;
    await fireEvent.input(notes, { target: { value: 'Wants 20 more extensions' } });
    await fireEvent.keyDown(notes, { key: 'Enter', ctrlKey: true });
    await waitFor(() =>
      expect(invoked('save_notes')).toEqual([
        { callId: c.id, notes: 'Wants 20 more extensions', disposition: null },
      ]),
    );
    await waitFor(() => expect(screen.getByText(/Notes saved/)).toBeTruthy());
    await fireEvent.input(notes, { target: { value: 'Call back Monday' } });
    await fireEvent.click(byId('pop-save-notes'));
    await waitFor(() => expect(invoked('save_notes')).toHaveLength(2));
    expect(invoked('save_notes')[1].notes).toBe('Call back Monday');
  });

  it('keeps typed notes when the same call updates', async () => {
    await mountPop();
    const c = f.call();
    emit('pop', f.pop(c, null, true));
    await waitFor(() => byId('pop-notes'));
    await fireEvent.input(byId('pop-notes'), { target: { value: 'typing…' } });
    emit('pop', f.pop({ ...c, status: 'talking' }, f.info([f.lucia], 0), false));
    await waitFor(() => expect(byId('pop-status').dataset.status).toBe('talking'));
    expect((byId('pop-notes') as HTMLTextAreaElement).value).toBe('typing…');
  });

  it('hangs up, opens the CRM record, dismisses with Esc', async () => {
    await mountPop();
    const c = f.call({ status: 'talking' });
    const crm = {
      ...f.lucia,
      contact: {
        ...f.lucia.contact,
        source: { system: 'vtiger', id: '12x34', url: 'https://crm.example/index.php?record=34' },
      },
    };
    emit('pop', f.pop(c, f.info([crm], 0), false));
    handle('hang_up', null);
    handle('open_external', null);
    handle('dismiss_pop', null);
    await waitFor(() => expect(f.norm(byId('pop-source').textContent)).toBe('Vtiger'));
    await fireEvent.click(byId('pop-open-crm'));
    expect(invoked('open_external')).toEqual([{ url: 'https://crm.example/index.php?record=34' }]);
    await fireEvent.click(byId('pop-hangup'));
    expect(invoked('hang_up')).toEqual([{ callId: c.id }]);
    await fireEvent.keyDown(window, { key: 'Escape' });
    expect(invoked('dismiss_pop')).toHaveLength(1);
  });

  it('opens a CRM search for a caller without a record link', async () => {
    await mountPop();
    handle('crm_links', (a: Record<string, unknown>) => [
      { crm: 'vtiger', url: `https://acme.od2.vtiger.com/index.php?module=Home&action=Search.php&number=${a.number}` },
    ]);
    handle('open_external', null);
    // an unknown caller
    const c = f.call({ remote_number: '+34600111222' });
    emit('pop', f.pop(c, { ...f.info([], null), lookup: { number: { kind: 'e164', value: '+34600111222' }, matches: [], chosen: null } }, false));
    await waitFor(() => expect(byId('pop-open-crm').dataset.kind).toBe('search'));
    expect(f.norm(byId('pop-open-crm').textContent)).toContain('Find in Vtiger');
    expect(invoked('crm_links')).toEqual([{ number: '+34600111222' }]);
    await fireEvent.click(byId('pop-open-crm'));
    expect(invoked('open_external')).toEqual([
      { url: 'https://acme.od2.vtiger.com/index.php?module=Home&action=Search.php&number=+34600111222' },
    ]);

    // a local contact without a link: the search link too
    const d = f.call();
    emit('pop', f.pop(d, f.info([f.lucia], 0), false));
    await waitFor(() => expect(byId('pop-name').textContent).toBe('Lucía Fernández'));
    await waitFor(() => expect(invoked('crm_links')).toHaveLength(2));
    await waitFor(() => expect(byId('pop-open-crm').dataset.kind).toBe('search'));
  });

  it('prefers the record link and hides the button when there is no link at all', async () => {
    await mountPop();
    handle('crm_links', []);
    // the plain demo: no CRM, so no button
    emit('pop', f.pop(f.call(), f.info([f.lucia], 0), false));
    await waitFor(() => expect(byId('pop-name').textContent).toBe('Lucía Fernández'));
    await waitFor(() => expect(invoked('crm_links')).toHaveLength(1));
    expect(screen.queryByTestId('pop-open-crm')).toBeNull();

    // a CRM contact with its record link: no need to ask for links
    const crm = {
      ...f.lucia,
      contact: {
        ...f.lucia.contact,
        source: { system: 'vtiger', id: '12x34', url: 'https://crm.example/index.php?record=34' },
      },
    };
    emit('pop', f.pop(f.call(), f.info([crm], 0), false));
    await waitFor(() => expect(byId('pop-open-crm').dataset.kind).toBe('record'));
    expect(invoked('crm_links')).toHaveLength(1);

    // an older hub without the endpoint: no button, no error
    handle('crm_links', () => {
      throw { code: 'not_found', message: 'no such route' };
    });
    const unknown = f.call({ remote_number: '+34600999888' });
    emit('pop', f.pop(unknown, { ...f.info([], null), lookup: { number: { kind: 'e164', value: '+34600999888' }, matches: [], chosen: null } }, false));
    await waitFor(() => expect(invoked('crm_links')).toHaveLength(2));
    await waitFor(() => byId('pop-create-contact'));
    expect(screen.queryByTestId('pop-open-crm')).toBeNull();
  });

  it('offers to create a contact for an unknown caller', async () => {
    await mountPop();
    const c = f.call({ remote_number: '+34600111222' });
    emit('pop', f.pop(c, { ...f.info([], null), lookup: { number: { kind: 'e164', value: '+34600111222' }, matches: [], chosen: null } }, false));
    await waitFor(() => byId('pop-create-contact'));
    expect(screen.getByText('Unknown caller')).toBeTruthy();
    const created = f.contact('Pedro Gil', 'Gil & Hijos', '+34600111222');
    handle('create_contact', created);
    handle('lookup', f.info([{ contact: created, deals: [] }], 0));
    await fireEvent.click(byId('pop-create-contact'));
    expect(screen.getByText('A name is needed.')).toBeTruthy();
    expect(invoked('create_contact')).toHaveLength(0);
    await fireEvent.input(byId('pop-create-name'), { target: { value: 'Pedro Gil' } });
    await fireEvent.input(byId('pop-create-company'), { target: { value: 'Gil & Hijos' } });
    await fireEvent.click(byId('pop-create-contact'));
    await waitFor(() =>
      expect(invoked('create_contact')).toEqual([
        {
          contact: {
            name: 'Pedro Gil',
            company: 'Gil & Hijos',
            phones: [{ label: null, number: '+34600111222' }],
            email: null,
            notes: null,
          },
        },
      ]),
    );
    await waitFor(() => expect(byId('pop-name').textContent).toBe('Pedro Gil'));
  });

  it('makes a missed call plain, and ended calls cannot be hung up', async () => {
    await mountPop();
    const c = f.call({ status: 'ended', outcome: 'missed', ended_at: '2026-11-20T10:00:30Z' });
    emit('pop', f.pop(c, f.info([f.lucia], 0), false));
    await waitFor(() => expect(byId('pop-status').dataset.outcome).toBe('missed'));
    expect(f.norm(byId('pop-status').textContent)).toBe('Missed');
    expect((byId('pop-hangup') as HTMLButtonElement).disabled).toBe(true);
    expect((byId('pop-transfer-open') as HTMLButtonElement).disabled).toBe(true);
  });

  it('ticks the talk time and follows call-update events', async () => {
    await mountPop();
    const started = new Date(Date.now() - 65_000).toISOString();
    const c = f.call({ status: 'talking', started_at: started, answered_at: started });
    emit('pop', f.pop(c, f.info([f.lucia], 0), false));
    await waitFor(() => expect(f.norm(byId('pop-status').textContent)).toMatch(/^Talking 1:0[5-9]$/));
    emit('call-update', { seq: 9, call: { ...c, status: 'ended', outcome: 'answered', talk_seconds: 80 } });
    await waitFor(() => expect(f.norm(byId('pop-status').textContent)).toBe('Ended 1:20'));
  });

  it('explains a failed lookup by its code and still shows the number', async () => {
    await mountPop();
    emit('pop', { ...f.pop(f.call(), null, false), lookup_error: { code: 'timeout', message: 'vtiger did not answer within 2s' } });
    await waitFor(() => expect(screen.getByText(/Could not look up the caller: No answer in time\. vtiger did not answer within 2s/)).toBeTruthy());
    expect(f.norm(byId('pop-number').textContent)).toBe('+34 647 46 01 97');
  });

  it('picks up a pop that was already showing when it loaded', async () => {
    const c = f.call();
    await mountPop('en', f.pop(c, null, true));
    await waitFor(() => expect(f.norm(byId('pop-number').textContent)).toBe('+34 647 46 01 97'));
    within(byId('pop')).getByText('Incoming call');
  });
});
