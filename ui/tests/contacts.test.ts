import { describe, expect, it } from 'vitest';
import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import Contacts from '../src/lib/components/Contacts.svelte';
import { handle, invoked } from './fake-tauri';
import * as f from './fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const people = [
  f.contact('Lucía Fernández', 'Mar Azul Hoteles S.L.', '+34 647 460 197'),
  {
    ...f.contact('Dra. Marta Puig', 'Clínica Diagonal', '+34 933 456 789'),
    phones: [
      { label: 'work', raw: '+34 933 456 789', e164: '+34933456789' },
      { label: 'mobile', raw: '+34 699 888 777', e164: '+34699888777' },
    ],
  },
  { ...f.contact('Javier Ortega', null, '91 123 45 67'), phones: [{ label: 'work', raw: '91 123 45 67', e164: null }] },
];

describe('contacts', () => {
  it('searches as you type, debounced', async () => {
    handle('search_contacts', (a: Record<string, unknown>) =>
      people.filter((p) => p.name.toLowerCase().includes(String(a.query).toLowerCase())),
    );
    render(Contacts);
    await waitFor(() => expect(screen.getAllByTestId('contact-row')).toHaveLength(3));
    expect(invoked('search_contacts')).toEqual([{ query: '', limit: 50 }]);

    const input = screen.getByTestId('contact-search');
    for (const q of ['l', 'lu', 'luc']) await fireEvent.input(input, { target: { value: q } });
    await sleep(30);
    expect(invoked('search_contacts')).toHaveLength(1); // still waiting
    await waitFor(() => expect(invoked('search_contacts')).toHaveLength(2));
    expect(invoked('search_contacts')[1]).toEqual({ query: 'luc', limit: 50 });
    await waitFor(() => expect(screen.getAllByTestId('contact-row')).toHaveLength(1));
    expect(screen.getByTestId('contact-name').textContent).toBe('Lucía Fernández');
    await sleep(120);
    expect(invoked('search_contacts')).toHaveLength(2);
  });

  it('shows every number with a call button that dials it', async () => {
    handle('search_contacts', people);
    handle('dial', f.call({ direction: 'outbound', status: 'dialing' }));
    render(Contacts);
    await waitFor(() => expect(screen.getAllByTestId('contact-call')).toHaveLength(4));
    const buttons = screen.getAllByTestId('contact-call');
    expect(buttons.map((b) => b.dataset.number)).toEqual([
      '+34647460197',
      '+34933456789',
      '+34699888777',
      '91 123 45 67',
    ]);
    expect(f.norm(buttons[0].textContent)).toContain('+34 647 46 01 97');
    await fireEvent.click(buttons[2]);
    expect(invoked('dial')).toEqual([{ number: '+34699888777' }]);
  });

  it('moves with the arrow keys and calls the first number with Enter', async () => {
    handle('search_contacts', people);
    handle('dial', f.call());
    render(Contacts);
    await waitFor(() => expect(screen.getAllByTestId('contact-row')).toHaveLength(3));
    const input = screen.getByTestId('contact-search');
    await fireEvent.keyDown(input, { key: 'ArrowDown' });
    await fireEvent.keyDown(input, { key: 'Enter' });
    expect(invoked('dial')).toEqual([{ number: '+34933456789' }]);
    await fireEvent.keyDown(input, { key: 'ArrowUp' });
    await fireEvent.keyDown(input, { key: 'Enter' });
    expect(invoked('dial')[1]).toEqual({ number: '+34647460197' });
  });

  it('says when nothing matches', async () => {
    handle('search_contacts', []);
    render(Contacts);
    const input = screen.getByTestId('contact-search');
    await fireEvent.input(input, { target: { value: 'zzz' } });
    await waitFor(() => expect(screen.getByText('No contact matches “zzz”.')).toBeTruthy());
  });
});
