export { ReplayWindow, WINDOW_SIZE, RING_BLOCKS, BLOCK_BITS, MAX_COUNTER } from './window.ts';
