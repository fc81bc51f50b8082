// Every JSON route of the coordinator, declared once (route.ts): the server registers each of these
// and nothing else under /api/v1 (a test checks), and clients call them by declaration:
//
//   const r = await api.route(routes.requestsCreate, { body: { deployment, services, reason, duration } });
//   await api.route(routes.requestsApprove, { params: { id: r.id } });
//
// Not here: /metrics (text), /openapi.json, the console's page and assets, and the browser
// redirects of the identity provider's sign-in (/console/sso/*).
import * as access from './access.ts';
import * as alerts from './alerts.ts';
import * as audit from './audit.ts';
import * as catalog from './catalog.ts';
import * as consoleRoutes from './console.ts';
import * as customers from './customers.ts';
import * as enrollment from './enrollment.ts';
import * as grants from './grants.ts';
import * as identity from './identity.ts';
import * as session from './session.ts';
import type { Route } from './route.ts';

export const routes = {
  // session.ts: who the coordinator is, who is calling
  info: session.info,
  health: session.health,
  login: session.login,
  logout: session.logout,
  whoami: session.whoami,
  authMethods: session.authMethods,
  authRefresh: session.authRefresh,
  authDevice: session.authDevice,
  authDevicePoll: session.authDevicePoll,
  // catalog.ts: deployments, services, management paths
  deploymentsList: catalog.deploymentsList,
  deploymentsCreate: catalog.deploymentsCreate,
  deploymentsDelete: catalog.deploymentsDelete,
  servicesList: catalog.servicesList,
  servicesPut: catalog.servicesPut,
  servicesBind: catalog.servicesBind,
  servicesDelete: catalog.servicesDelete,
  managementGet: catalog.managementGet,
  managementPut: catalog.managementPut,
  breakGlass: catalog.breakGlass,
  // enrollment.ts: pre-auth keys, device login, nodes
  preauthKeysList: enrollment.preauthKeysList,
  preauthKeysCreate: enrollment.preauthKeysCreate,
  preauthKeysRevoke: enrollment.preauthKeysRevoke,
  nodesList: enrollment.nodesList,
  nodesRevoke: enrollment.nodesRevoke,
  deviceChallenge: enrollment.deviceChallenge,
  deviceStart: enrollment.deviceStart,
  deviceApprove: enrollment.deviceApprove,
  devicePoll: enrollment.devicePoll,
  // identity.ts: users and groups
  usersList: identity.usersList,
  usersCreate: identity.usersCreate,
  usersDisable: identity.usersDisable,
  usersEnable: identity.usersEnable,
  groupsList: identity.groupsList,
  groupsCreate: identity.groupsCreate,
  groupsDelete: identity.groupsDelete,
  groupMembersAdd: identity.groupMembersAdd,
  groupMembersRemove: identity.groupMembersRemove,
  // grants.ts: standing grants
  grantsList: grants.grantsList,
  grantsCreate: grants.grantsCreate,
  grantsRevoke: grants.grantsRevoke,
  // audit.ts
  auditList: audit.auditList,
  auditCheckpoints: audit.auditCheckpoints,
  // access.ts: policy, requests, access grants, extensions, certificates
  policyGet: access.policyGet,
  policyPut: access.policyPut,
  requestsCreate: access.requestsCreate,
  requestsList: access.requestsList,
  requestsGet: access.requestsGet,
  requestsWait: access.requestsWait,
  requestsApprove: access.requestsApprove,
  requestsCancel: access.requestsCancel,
  requestsDeny: access.requestsDeny,
  events: access.events,
  accessGrantsList: access.accessGrantsList,
  accessGrantsGet: access.accessGrantsGet,
  accessGrantsRevoke: access.accessGrantsRevoke,
  accessGrantsExtend: access.accessGrantsExtend,
  accessGrantsCertificate: access.accessGrantsCertificate,
  extensionsList: access.extensionsList,
  extensionsApprove: access.extensionsApprove,
  extensionsCancel: access.extensionsCancel,
  extensionsDeny: access.extensionsDeny,
  // customers.ts: the customer portal
  customersCreate: customers.customersCreate,
  customersList: customers.customersList,
  customerInvitesCreate: customers.customerInvitesCreate,
  customerGet: customers.customerGet,
  activity: customers.activity,
  controlsGet: customers.controlsGet,
  controlsPut: customers.controlsPut,
  // alerts.ts
  alertmanagerWebhook: alerts.alertmanagerWebhook,
  incidentsList: alerts.incidentsList,
  alertTokensCreate: alerts.alertTokensCreate,
  alertTokensList: alerts.alertTokensList,
  alertTokensRevoke: alerts.alertTokensRevoke,
  // console.ts: the console's session and audit check
  consoleSessionGet: consoleRoutes.consoleSessionGet,
  consoleSessionCreate: consoleRoutes.consoleSessionCreate,
  consoleSessionDelete: consoleRoutes.consoleSessionDelete,
  consoleInvite: consoleRoutes.consoleInvite,
  consoleAudit: consoleRoutes.consoleAudit,
  consoleAuditExport: consoleRoutes.consoleAuditExport,
} as const satisfies Record<string, Route>;

export type RouteName = keyof typeof routes;

export {
  route,
  pathOf,
  queryOf,
  paramNames,
  type Method,
  type PathParams,
  type Route,
  type RouteArgs,
  type RouteInput,
  type RouteSchema,
  type RouteTypes,
  type BodyOf,
  type ParamsOf,
  type QueryOf,
  type ResponseOf,
} from './route.ts';
export type { Ok } from './parts.ts';
export type { Info, Health, LoginResult, Whoami, SignIn, AuthMethods, RefreshedToken } from './session.ts';
export type { DeviceSignInStart, DeviceSignInResult } from './session.ts';
export type {
  Deployment,
  Service,
  ServiceSpec,
  ServiceKind,
  TlsMode,
  Management,
  ManagementMode,
  BreakGlass,
} from './catalog.ts';
export type { PreauthKey, NewPreauthKey, Node, PeerPath, DeviceStart } from './enrollment.ts';
export type { User, Group, NewUser } from './identity.ts';
export type { StandingGrant, NewStandingGrant, SubjectType } from './grants.ts';
export type { Checkpoints } from './audit.ts';
export type { AccessStatus, StoredPolicy, NewAccessRequest, GrantCertificate } from './access.ts';
export type { Customer, CustomerSwitch, DeploymentControls, Hours, Invite, Activity } from './customers.ts';
export type { Incident, AlertToken, AlertmanagerAlert, AlertmanagerBody } from './alerts.ts';
export type { ConsoleSession, AuditCheck } from './console.ts';
