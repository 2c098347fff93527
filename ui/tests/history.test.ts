import { describe, expect, it } from 'vitest';
import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import History from '../src/lib/components/History.svelte';
import App from '../src/App.svelte';
import { emit, handle, invoked, listening } from './fake-tauri';
import * as f from './fixtures';

const rows = () => screen.queryAllByTestId('history-row');

function seed() {
  const answered = f.call({
    id: 'a',
    status: 'ended',
    outcome: 'answered',
    started_at: '2026-11-20T09:00:00Z',
    answered_at: '2026-11-20T09:00:04Z',
    talk_seconds: 192,
    remote_label: 'Lucía',
  });
  const missed = f.call({
    id: 'b',
    status: 'ended',
    outcome: 'missed',
    started_at: '2026-11-20T08:00:00Z',
    remote_number: '+34600111222',
  });
  return { answered, missed };
}

describe('history', () => {
  it('names each caller from a lookup, once per number, and shows the number once otherwise', async () => {
    const a = f.call({ id: 'a', status: 'ended', outcome: 'answered', remote_number: '+34647460197', remote_label: '647460197' });
    const b = f.call({ id: 'b', status: 'ended', outcome: 'missed', remote_number: '+34647460197', remote_label: '647460197', started_at: '2026-11-20T08:00:00Z' });
    const c = f.call({ id: 'c', status: 'ended', outcome: 'missed', remote_number: '+34600111222', remote_label: '600111222', started_at: '2026-11-20T07:00:00Z' });
    handle('list_calls', { calls: [a, b, c], next: null });
    handle('lookup', ({ number }: { number: string }) =>
      number === '+34647460197' ? f.info([f.lucia], 0) : f.info([], null),
    );
    render(History);
    await waitFor(() => expect(rows()).toHaveLength(3));
    await waitFor(() => expect(f.norm(rows()[0].textContent)).toContain(f.lucia.contact.name));
    expect(f.norm(rows()[1].textContent)).toContain(f.lucia.contact.name);
    expect(f.norm(rows()[0].textContent)).toContain('+34 647 46 01 97');
    // Unknown: the number once, not the PBX's digits-only label as well.
    const unknown = f.norm(rows()[2].textContent);
    expect(unknown).toContain('+34 600 11 12 22');
    expect(unknown).not.toContain('600111222');
    expect(invoked('lookup').map((x) => x.number).sort()).toEqual(['+34600111222', '+34647460197']);
  });

  it('lists calls newest first, highlights missed, inserts and updates live', async () => {
    const { answered, missed } = seed();
    handle('list_calls', { calls: [missed, answered], next: null });
    render(History);
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(rows().map((r) => r.dataset.callId)).toEqual(['a', 'b']);
    expect(rows()[1].dataset.outcome).toBe('missed');
    expect(rows()[1].classList.contains('missed')).toBe(true);
    expect(rows()[0].dataset.direction).toBe('inbound');
    expect(f.norm(rows()[0].textContent)).toContain('3:12');
    expect(f.norm(rows()[1].textContent)).toContain('+34 600 11 12 22');
    await waitFor(() => expect(listening('call-update')).toBe(1));

    // A new ringing call goes on top.
    const live = f.call({ id: 'c', started_at: '2026-11-20T10:00:00Z', remote_number: '+34911234567' });
    emit('call-update', { seq: 10, call: live });
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(rows()[0].dataset.callId).toBe('c');
    expect(rows()[0].dataset.outcome).toBe('');
    expect(screen.getByText(/New call: Incoming \+34 911 23 45 67/)).toBeTruthy();

    // It ends unanswered: the same row turns missed.
    emit('call-update', { seq: 11, call: { ...live, status: 'ended', outcome: 'missed' } });
    await waitFor(() => expect(rows()[0].dataset.outcome).toBe('missed'));
    expect(rows()).toHaveLength(3);
    // A stale update is ignored.
    emit('call-update', { seq: 10, call: live });
    await new Promise((r) => setTimeout(r, 20));
    expect(rows()[0].dataset.outcome).toBe('missed');
  });

  it('filters by outcome and search, and live updates respect the filter', async () => {
    const { answered, missed } = seed();
    handle('list_calls', (a: Record<string, unknown>) => {
      const q = a.query as { outcome?: string; search?: string };
      const all = [answered, missed];
      return {
        calls: all.filter(
          (c) => (!q.outcome || c.outcome === q.outcome) && (!q.search || c.remote_number.includes(q.search)),
        ),
        next: null,
      };
    });
    render(History);
    await waitFor(() => expect(rows()).toHaveLength(2));
    await fireEvent.change(screen.getByTestId('history-filter-outcome'), { target: { value: 'missed' } });
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(invoked('list_calls').at(-1)).toMatchObject({ query: { outcome: 'missed', limit: 100 } });
    emit('call-update', { seq: 1, call: f.call({ id: 'n', status: 'ringing' }) });
    await new Promise((r) => setTimeout(r, 20));
    expect(rows()).toHaveLength(1);
    emit('call-update', { seq: 2, call: f.call({ id: 'n', status: 'ended', outcome: 'missed', started_at: '2026-11-21T00:00:00Z' }) });
    await waitFor(() => expect(rows()).toHaveLength(2));

    await fireEvent.change(screen.getByTestId('history-filter-outcome'), { target: { value: '' } });
    await fireEvent.input(screen.getByTestId('history-search'), { target: { value: '600111' } });
    await waitFor(() => expect(invoked('list_calls').at(-1)).toEqual({ query: { search: '600111', limit: 100 } }));
    await waitFor(() => expect(rows().map((r) => r.dataset.callId)).toEqual(['b']));
  });

  it('opens a detail panel with recording, transcript, notes and raw events', async () => {
    const { answered } = seed();
    const full = {
      ...answered,
      recording: true,
      recording_url: 'https://rec.example/a.mp3',
      transcript: { segments: [{ text: 'Hola, buenos días', confidence: 0.9, end_seconds: 2 }] },
      notes: 'old',
    };
    handle('list_calls', { calls: [full], next: null });
    handle('call_detail', { call: full, events: [{}, {}, {}] });
    handle('open_external', null);
    handle('save_notes', (a: Record<string, unknown>) => ({ ...full, notes: a.notes, disposition: a.disposition }));
    render(History);
    await waitFor(() => expect(rows()).toHaveLength(1));
    await fireEvent.click(rows()[0]);
    await waitFor(() => expect(screen.getByTestId('call-detail')).toBeTruthy());
    expect(invoked('call_detail')).toEqual([{ callId: 'a' }]);
    await waitFor(() => expect(screen.getByText('Raw PBX events: 3')).toBeTruthy());
    expect(screen.getByText('Hola, buenos días')).toBeTruthy();
    await fireEvent.click(screen.getByTestId('call-recording'));
    expect(invoked('open_external')).toEqual([{ url: 'https://rec.example/a.mp3' }]);
    const notes = screen.getByTestId('call-detail-notes') as HTMLTextAreaElement;
    expect(notes.value).toBe('old');
    await fireEvent.input(notes, { target: { value: 'Sent the offer' } });
    await fireEvent.input(screen.getByTestId('call-detail-disposition'), { target: { value: 'interested' } });
    await fireEvent.click(screen.getByTestId('call-detail-save'));
    await waitFor(() =>
      expect(invoked('save_notes')).toEqual([{ callId: 'a', notes: 'Sent the offer', disposition: 'interested' }]),
    );
    await fireEvent.keyDown(window, { key: 'Escape' });
    await waitFor(() => expect(screen.queryByTestId('call-detail')).toBeNull());
  });
});

describe('main window', () => {
  function backend(missed = 2) {
    const { answered, missed: m } = seed();
    handle('app_state', f.snapshot({ missed }));
    handle('search_contacts', []);
    handle('list_calls', (a: Record<string, unknown>) => {
      const q = a.query as { outcome?: string };
      return { calls: [answered, m].filter((c) => !q.outcome || c.outcome === q.outcome), next: null };
    });
    handle('secret_status', { secrets: [], keyring: { available: true, message: null } });
    handle('dial', f.call());
  }

  it('shows the status and missed counter; the counter opens missed calls', async () => {
    backend(2);
    render(App);
    await waitFor(() => expect(screen.getByTestId('missed-counter').dataset.count).toBe('2'));
    expect(screen.getByTestId('status-badge').dataset.state).toBe('connected');
    await waitFor(() => expect(listening('missed')).toBe(1));
    emit('missed', 3);
    emit('status', { state: 'pbx_unreachable', message: 'connect refused' });
    await waitFor(() => expect(f.norm(screen.getByTestId('missed-counter').textContent)).toBe('Missed 3'));
    expect(screen.getByTestId('status-badge').dataset.state).toBe('pbx_unreachable');
    expect(f.norm(screen.getByTestId('status-badge').textContent)).toBe('PBX unreachable');

    await fireEvent.click(screen.getByTestId('missed-counter'));
    expect(screen.getByTestId('nav-history').getAttribute('aria-current')).toBe('page');
    expect((screen.getByTestId('history-filter-outcome') as HTMLSelectElement).value).toBe('missed');
    await waitFor(() => expect(invoked('list_calls').at(-1)).toMatchObject({ query: { outcome: 'missed' } }));
    await waitFor(() => expect(rows().map((r) => r.dataset.callId)).toEqual(['b']));
  });

  it('quick dial with Enter, Ctrl+1/2/3, / focuses search, navigate event', async () => {
    backend();
    render(App);
    await waitFor(() => expect(invoked('app_state')).toHaveLength(1));
    const dial = screen.getByTestId('dial-input') as HTMLInputElement;
    await fireEvent.input(dial, { target: { value: '647 460 197' } });
    await fireEvent.submit(dial.form!);
    await waitFor(() => expect(invoked('dial')).toEqual([{ number: '647 460 197' }]));
    await waitFor(() => expect(dial.value).toBe(''));

    await fireEvent.keyDown(window, { key: '3', ctrlKey: true });
    expect(screen.getByTestId('nav-settings').getAttribute('aria-current')).toBe('page');
    await fireEvent.keyDown(window, { key: '2', ctrlKey: true });
    expect(screen.getByTestId('nav-history').getAttribute('aria-current')).toBe('page');
    await fireEvent.keyDown(document.body, { key: '/' });
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('history-search')));
    await fireEvent.keyDown(window, { key: '1', ctrlKey: true });
    await fireEvent.keyDown(document.body, { key: '/' });
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('contact-search')));

    handle('call_detail', { call: seed().missed, events: [] });
    await waitFor(() => expect(listening('navigate')).toBe(1));
    emit('navigate', { view: 'history', call_id: 'b', focus_dial: false });
    await waitFor(() => expect(screen.getByTestId('call-detail').dataset.callId).toBe('b'));
    expect(screen.getByTestId('nav-history').getAttribute('aria-current')).toBe('page');
    emit('navigate', { view: 'contacts', call_id: null, focus_dial: true });
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('dial-input')));
  });
});
