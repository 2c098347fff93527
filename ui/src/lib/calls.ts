// Pure helpers for call lists: filtering, ordering, live upserts.

import type { Call, Outcome } from './bindings';

export type CallFilterUi = { outcome: Outcome | ''; search: string };

/** Whether a call belongs in a list shown with `filter` (mirrors the journal's filter). */
export function matchesFilter(call: Call, filter: CallFilterUi): boolean {
  if (filter.outcome && call.outcome !== filter.outcome) return false;
  const q = filter.search.trim().toLowerCase();
  if (!q) return true;
  return [call.remote_number, call.remote_raw, call.remote_label, call.notes].some(
    (f) => f != null && f.toLowerCase().includes(q),
  );
}

/** Newest first; ties by id (time-ordered UUIDv7), newest first. */
export function newestFirst(a: Call, b: Call): number {
  const d = Date.parse(b.started_at) - Date.parse(a.started_at);
  if (d !== 0 && !Number.isNaN(d)) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Apply one live update to a list: replace the row with the same id, insert a
 * new one in order, or drop it when it no longer matches the filter.
 * Returns the new list and whether the call was new to it.
 */
export function upsertCall(
  list: Call[],
  call: Call,
  filter: CallFilterUi,
): { list: Call[]; inserted: boolean } {
  const i = list.findIndex((c) => c.id === call.id);
  const keep = matchesFilter(call, filter);
  if (i >= 0) {
    const copy = list.slice();
    if (keep) copy[i] = call;
    else copy.splice(i, 1);
    if (keep && copy[i].started_at !== list[i].started_at) copy.sort(newestFirst);
    return { list: copy, inserted: false };
  }
  if (!keep) return { list, inserted: false };
  const copy = [...list, call];
  copy.sort(newestFirst);
  return { list: copy, inserted: true };
}

/** Every extension that took part, in order of first appearance (Call::extensions). */
export function callExtensions(call: Call): string[] {
  const firstAt = (states: { at: string }[]) =>
    states.reduce((m, s) => Math.min(m, Date.parse(s.at)), Number.POSITIVE_INFINITY);
  const legs = [...call.legs].sort((a, b) => firstAt(a.states) - firstAt(b.states));
  const out: string[] = [];
  for (const l of legs) if (l.extension && !out.includes(l.extension)) out.push(l.extension);
  if (out.length === 0 && call.extension) out.push(call.extension);
  return out;
}
