// One JSON route of the coordinator's API, declared once: its method, its path template
// (`/api/v1/requests/:id`), the JSON schema Fastify validates with (and /openapi.json shows), and
// the TypeScript types of what it takes and answers. The server registers it (control/handle.ts),
// the client calls it (ApiClient.route): neither spells the path again.
//
//   export const requestsGet = route('GET', '/api/v1/requests/:id', { params, response })
//     .typed<{ response: RequestState }>();
//
// Path parameters are typed from the template itself; `body` absent from the types means the route
// takes none. Data and types only: the CLI imports this without Fastify.
import { ControlError } from '../errors.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The JSON schema of a route, as Fastify and @fastify/swagger read it. */
export interface RouteSchema {
  readonly body?: unknown;
  readonly params?: unknown;
  readonly querystring?: unknown;
  readonly response?: unknown;
  readonly hide?: boolean;
  readonly tags?: readonly string[];
}

/** What a route takes and answers (query values as the server sees them: strings). */
export interface RouteTypes {
  body?: unknown;
  query?: object;
  response: unknown;
}

/** The parameters a path template names: '/a/:id/b/:name' → { id: string; name: string }. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : Record<never, never>;

export interface Route<
  M extends Method = Method,
  P extends string = string,
  T extends RouteTypes = RouteTypes,
> {
  readonly method: M;
  readonly path: P;
  readonly schema: RouteSchema;
  /** Never set: carries T to the server's handler and to the client. */
  readonly types?: T;
}

export type TypesOf<R> = R extends Route<Method, string, infer T> ? T : never;
export type ParamsOf<R> = R extends Route<Method, infer P, RouteTypes> ? PathParams<P> : never;
/** The body a route takes (`undefined` when it takes none). */
export type BodyOf<R> = TypesOf<R> extends { body: infer B } ? B : undefined;
export type QueryOf<R> = TypesOf<R> extends { query: infer Q } ? Q : Record<never, never>;
export type ResponseOf<R> = TypesOf<R>['response'];

/** A query as a client may give it: where the server reads a string, a number is sent as one. */
export type QueryInput<Q> = {
  [K in keyof Q]?: Q[K] | (string extends NonNullable<Q[K]> ? number : never);
};

/** Whether `{}` is an X: every member of X optional. */
type AllOptional<X> = Record<never, never> extends X ? true : false;
type ParamsPart<R> = keyof ParamsOf<R> extends never ? { params?: undefined } : { params: ParamsOf<R> };
type BodyPart<R> = 'body' extends keyof TypesOf<R>
  ? AllOptional<BodyOf<R>> extends true
    ? { body?: BodyOf<R> }
    : { body: BodyOf<R> }
  : { body?: undefined };
type QueryPart<R> = 'query' extends keyof TypesOf<R>
  ? { query?: QueryInput<QueryOf<R>> }
  : { query?: undefined };

/** What a client gives to call a route: its path parameters, body and query, each as declared. */
export type RouteInput<R> = ParamsPart<R> & BodyPart<R> & QueryPart<R>;
/** The input argument, optional when nothing in it is required. */
export type RouteArgs<R> =
  AllOptional<RouteInput<R>> extends true ? [input?: RouteInput<R>] : [input: RouteInput<R>];

/** A route declared without its types yet: `.typed<T>()` completes it. */
export interface Untyped<M extends Method, P extends string> {
  typed<T extends RouteTypes>(): Route<M, P, T>;
}

/** Declares a route; its TypeScript types follow with `.typed<{ body?, query?, response }>()`. */
export function route<M extends Method, P extends string>(
  method: M,
  path: P,
  schema: RouteSchema,
): Untyped<M, P> {
  return { typed: () => ({ method, path, schema }) };
}

/** The path of a route with its parameters filled in, each one percent-encoded. */
export function pathOf(path: string, params: Readonly<Record<string, string>> = {}): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    const v = params[name];
    if (typeof v !== 'string')
      throw new ControlError('ROUTE_PARAMS', `${path}: parameter ${name} is missing`);
    return encodeURIComponent(v);
  });
}

/** `?a=1&b=x` from the defined members of `query`, or '' when none is. */
export function queryOf(query: Readonly<Record<string, string | number | boolean | undefined>> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.append(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The parameter names of a path template, in order. */
export const paramNames = (path: string): string[] =>
  [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
