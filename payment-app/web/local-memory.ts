/**
 * The web hosts' {@link DeviceMemory}: `localStorage` of the page's origin (the app's own page,
 * or the checkout's for the VTEX IO app). A browser that refuses storage (private mode, a
 * sandboxed frame) reads as nothing remembered. @see ../src/host/device-memory.ts
 */
import type { DeviceMemory } from '../src/host/device-memory.ts';

/** `localStorage` as a DeviceMemory; never throws synchronously. */
export function localMemory(storage: () => Storage = () => window.localStorage): DeviceMemory {
  return {
    read: async (key) => storage().getItem(key),
    write: async (key, value) => storage().setItem(key, value),
  };
}
