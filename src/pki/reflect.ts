// @peculiar/x509 uses tsyringe, which refuses to load without a Reflect metadata API
// (`Reflect.getMetadata` & co., normally from the "reflect-metadata" package). tsyringe only
// stores and reads constructor parameter metadata, so this small WeakMap-backed version is all it
// needs. It is installed only when no other implementation is present, and only this folder's
// x509.ts imports it (before @peculiar/x509).

type Bag = Map<unknown, unknown>;
const store = new WeakMap<object, Map<string | symbol | undefined, Bag>>();

function bag(target: object, prop: string | symbol | undefined, create: boolean): Bag | undefined {
  let byProp = store.get(target);
  if (!byProp) {
    if (!create) return undefined;
    byProp = new Map();
    store.set(target, byProp);
  }
  let b = byProp.get(prop);
  if (!b && create) {
    b = new Map();
    byProp.set(prop, b);
  }
  return b;
}

interface ReflectMetadata {
  getMetadata?: unknown;
}

const R = Reflect as unknown as Record<string, unknown> & ReflectMetadata;
if (typeof R.getMetadata !== 'function') {
  const getOwn = (key: unknown, target: object, prop?: string | symbol): unknown =>
    bag(target, prop, false)?.get(key);
  const get = (key: unknown, target: object, prop?: string | symbol): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const b = bag(t, prop, false);
      if (b?.has(key)) return b.get(key);
    }
    return undefined;
  };
  const define = (key: unknown, value: unknown, target: object, prop?: string | symbol): void => {
    bag(target, prop, true)!.set(key, value);
  };
  const ownKeys = (target: object, prop?: string | symbol): unknown[] => [
    ...(bag(target, prop, false)?.keys() ?? []),
  ];
  const keys = (target: object, prop?: string | symbol): unknown[] => {
    const all = new Set<unknown>();
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null)
      for (const k of ownKeys(t, prop)) all.add(k);
    return [...all];
  };
  // The whole API, key listing and deletion included: another copy of "reflect-metadata" loaded
  // later in the process (acme-client's @peculiar/x509 v1 brings one) adopts an existing
  // implementation as its fallback provider and calls these.
  Object.assign(R, {
    getOwnMetadataKeys: ownKeys,
    getMetadataKeys: keys,
    deleteMetadata: (key: unknown, target: object, prop?: string | symbol) =>
      bag(target, prop, false)?.delete(key) ?? false,
    getOwnMetadata: getOwn,
    getMetadata: get,
    hasOwnMetadata: (key: unknown, target: object, prop?: string | symbol) =>
      bag(target, prop, false)?.has(key) ?? false,
    hasMetadata: (key: unknown, target: object, prop?: string | symbol) =>
      get(key, target, prop) !== undefined,
    defineMetadata: define,
    metadata:
      (key: unknown, value: unknown) =>
      (target: object, prop?: string | symbol): void =>
        define(key, value, target, prop),
  });
}

export {};
