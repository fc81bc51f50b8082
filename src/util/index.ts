export { SallyportError } from './errors.ts';
export { toHex, fromHex, concatBytes, equalBytes, isZero, wipe, asBuffer } from './bytes.ts';
export { truncateText, truncatedField, wellFormedText, type Truncated } from './text.ts';
export { parseJsonc, stripJsonc, JsoncError } from './jsonc.ts';
