import { describe, expect, it } from 'vitest';
import * as ipc from '../src/lib/ipc';
import { handle, invoked, emit } from './fake-tauri';

describe('ipc', () => {
  it('passes arguments under the contract names', async () => {
    handle('hang_up', null);
    handle('transfer', null);
    handle('save_notes', (a: Record<string, unknown>) => ({ id: a.callId }));
    handle('choose_contact', null);
    handle('search_contacts', []);
    await ipc.hangUp('c1');
    await ipc.transfer('c1', '301');
    await ipc.saveNotes('c1', 'hi', null);
    await ipc.chooseContact('c1', 1);
    await ipc.searchContacts('luc', 20);
    expect(invoked('hang_up')).toEqual([{ callId: 'c1' }]);
    expect(invoked('transfer')).toEqual([{ callId: 'c1', destination: '301' }]);
    expect(invoked('save_notes')).toEqual([{ callId: 'c1', notes: 'hi', disposition: null }]);
    expect(invoked('choose_contact')).toEqual([{ callId: 'c1', index: 1 }]);
    expect(invoked('search_contacts')).toEqual([{ query: 'luc', limit: 20 }]);
  });

  it('normalises every error to { code, message }', async () => {
    handle('set_secret', () => {
      throw { code: 'keyring_unavailable', message: 'no secret service' };
    });
    handle('dial', () => {
      throw 'plain string';
    });
    handle('lookup', () => {
      throw new Error('boom');
    });
    await expect(ipc.setSecret('hub-token', 'x')).rejects.toMatchObject({
      code: 'keyring_unavailable',
      message: 'no secret service',
    });
    await expect(ipc.dial('1')).rejects.toMatchObject({ code: 'internal', message: 'plain string' });
    await expect(ipc.lookup('1')).rejects.toMatchObject({ code: 'internal', message: 'boom' });
    expect(ipc.normalizeError({ KeyringUnavailable: 'x' })).toMatchObject({
      code: 'keyring_unavailable',
      message: 'x',
    });
  });

  it('refuses non-http links before asking Rust', async () => {
    await expect(ipc.openExternal('file:///etc/passwd')).rejects.toMatchObject({ code: 'invalid' });
    expect(invoked('open_external')).toEqual([]);
  });

  it('delivers event payloads and unsubscribes', async () => {
    const got: number[] = [];
    const stop = await ipc.on('missed', (n) => got.push(n));
    emit('missed', 3);
    stop();
    emit('missed', 4);
    expect(got).toEqual([3]);
  });

  it('leaves unset query fields out', () => {
    expect(ipc.callQuery({ outcome: 'missed', search: '', before: null, limit: 50 })).toEqual({
      outcome: 'missed',
      limit: 50,
    });
  });
});
