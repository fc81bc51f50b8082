// The prometheus target: the read API only, through the router (DESIGN.md §6).
export {
  createPrometheusTarget,
  parsePrometheusOptions,
  prometheusError,
  type PrometheusOptions,
} from './target.ts';
export { decidePrometheus } from './policy.ts';
