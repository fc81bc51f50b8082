export { SallyportError } from './errors.ts';
export { toHex, fromHex, concatBytes, equalBytes, isZero, wipe, asBuffer } from './bytes.ts';
export { parseJsonc, stripJsonc, JsoncError } from './jsonc.ts';
