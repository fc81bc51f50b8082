// Users and groups (administrators).
import { body, list, obj, ok, params, R, time, userName, type Ok } from './parts.ts';
import { route } from './route.ts';

export interface User {
  id: string;
  name: string;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: number;
}

export interface Group {
  id: string;
  name: string;
  /** Member user names. */
  members: string[];
  createdAt: number;
}

export interface NewUser {
  name: string;
  password: string;
  admin?: boolean;
  /** A customer's person: the customer's name. */
  customer?: string;
}

export const user = obj({
  id: { type: 'string' },
  name: { type: 'string' },
  isAdmin: { type: 'boolean' },
  disabled: { type: 'boolean' },
  createdAt: time,
});
const group = obj({
  id: { type: 'string' },
  name: { type: 'string' },
  members: list({ type: 'string' }),
  createdAt: time,
});
const userAction = { params: params({ name: userName }), response: R(user) };
const memberParams = { params: params({ name: userName, user: userName }), response: R(ok) };

export const usersList = route('GET', '/api/v1/users', { response: R(list(user)) }).typed<{
  response: User[];
}>();

export const usersCreate = route('POST', '/api/v1/users', {
  body: body(
    {
      name: userName,
      password: { type: 'string', minLength: 8, maxLength: 1024 },
      admin: { type: 'boolean' },
      customer: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
    },
    ['name', 'password'],
  ),
  response: R(user, 201),
}).typed<{ body: NewUser; response: User }>();

/** Disables a user: their nodes leave every netmap. */
export const usersDisable = route('POST', '/api/v1/users/:name/disable', userAction).typed<{
  response: User;
}>();

export const usersEnable = route('POST', '/api/v1/users/:name/enable', userAction).typed<{
  response: User;
}>();

export const groupsList = route('GET', '/api/v1/groups', { response: R(list(group)) }).typed<{
  response: Group[];
}>();

export const groupsCreate = route('POST', '/api/v1/groups', {
  body: body({ name: userName }, ['name']),
  response: R(group, 201),
}).typed<{ body: { name: string }; response: Group }>();

export const groupsDelete = route('DELETE', '/api/v1/groups/:name', {
  params: params({ name: userName }),
  response: R(ok),
}).typed<{ response: Ok }>();

export const groupMembersAdd = route('PUT', '/api/v1/groups/:name/members/:user', memberParams).typed<{
  response: Ok;
}>();

export const groupMembersRemove = route('DELETE', '/api/v1/groups/:name/members/:user', memberParams).typed<{
  response: Ok;
}>();
