export type { Clock, TimerHandle } from './clock.ts';
export { RealClock, realClock } from './clock.ts';
export { FakeClock } from './fake.ts';
export { Timer } from './timer.ts';
