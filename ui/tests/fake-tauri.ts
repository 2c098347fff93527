// A fake Tauri backend for component tests: `@tauri-apps/api/core` and
// `@tauri-apps/api/event` are mocked with these (see setup.ts). The real
// window is tested end to end elsewhere.

type Handler = (args: Record<string, unknown>) => unknown;
type Listener = (e: { event: string; id: number; payload: unknown }) => void;

export const invocations: Array<{ cmd: string; args: Record<string, unknown> }> = [];
const handlers = new Map<string, Handler>();
const listeners = new Map<string, Set<Listener>>();

export function reset(): void {
  invocations.length = 0;
  handlers.clear();
  listeners.clear();
}

/** Answer `cmd` with `h` (a value, or a function of the args; throw to reject). */
export function handle(cmd: string, h: Handler | unknown): void {
  handlers.set(cmd, typeof h === 'function' ? (h as Handler) : () => structuredClone(h));
}

export function invoked(cmd: string): Array<Record<string, unknown>> {
  return invocations.filter((c) => c.cmd === cmd).map((c) => c.args);
}

export async function invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown> {
  const a = args ?? {};
  invocations.push({ cmd, args: a });
  const h = handlers.get(cmd);
  if (!h) throw { code: 'internal', message: `no fake handler for ${cmd}` };
  return await h(a);
}

export async function listen(event: string, cb: Listener): Promise<() => void> {
  let set = listeners.get(event);
  if (!set) listeners.set(event, (set = new Set()));
  set.add(cb);
  return () => set.delete(cb);
}

export function listening(event: string): number {
  return listeners.get(event)?.size ?? 0;
}

/** Emit an event to every listener, as Rust's `emit` would. */
export function emit(event: string, payload: unknown): void {
  for (const cb of listeners.get(event) ?? []) cb({ event, id: 0, payload: structuredClone(payload) });
}
