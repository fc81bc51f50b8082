// The customer's ingress gateway for database traffic (DESIGN.md §7): TLS termination, SNI
// routing, an IP allow list, PROXY protocol v2 from a load balancer, ACME certificates.
export { IngressError } from './errors.ts';
export { AllowList, parseAllowList } from './allow-list.ts';
export { parseCidr, parseIp, formatIp, cidrContains, isPrivateIp, type Cidr } from './address.ts';
export { parseClientHello, type ClientHello } from './client-hello.ts';
export { parseProxyV2, encodeProxyV2, type ProxyHeader } from './proxy-v2.ts';
export { Routes, parseRoute, parseHostPort, type Route } from './routes.ts';
export { IngressMetrics, type Refusal } from './metrics.ts';
export { IngressServer, type IngressOptions } from './server.ts';
