// invoke calls a bound Go service method by name. Wails injects window.go in
// the window; backend/web's shim defines the same object in a browser. The
// generated wailsjs/go modules do exactly this; calling through one function
// keeps services whose bindings are not generated yet (Device, Install,
// Library, Report) usable, and gives tests one thing to fake.
type Fn = (...args: unknown[]) => Promise<unknown>;

declare global {
  interface Window {
    go?: Record<string, Record<string, Record<string, Fn>>>;
    WailsInvoke?: unknown;
  }
}

export function invoke<T>(service: string, method: string, ...args: unknown[]): Promise<T> {
  const fn = window.go?.services?.[service]?.[method];
  if (typeof fn !== 'function') {
    return Promise.reject({ code: 'unknown_method', message: `${service}.${method} is not available` });
  }
  return fn(...args) as Promise<T>;
}

/** isDesktop is true inside the Wails window (file drops come with paths there). */
export function isDesktop(): boolean {
  return typeof window !== 'undefined' && typeof window.WailsInvoke === 'function';
}
