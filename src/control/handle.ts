// Registers a declared route (routes/route.ts) on the coordinator's Fastify instance: method, path
// and schema come from the declaration, and the handler's request (body, path parameters, query)
// and return value are typed from it. Fastify has validated body, params and query against the
// schema before the handler runs, so the types hold.
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
  RouteShorthandOptions,
} from 'fastify';
import type { BodyOf, ParamsOf, QueryOf, ResponseOf, Route } from './routes/route.ts';

/** The request a route's handler gets. */
export type RouteRequest<R> = FastifyRequest<{
  Body: BodyOf<R>;
  Params: ParamsOf<R>;
  Querystring: QueryOf<R>;
}>;

/** A route's handler: the declared response, or the reply it has sent (a refusal, a stream). */
export type RouteHandler<R> = (
  req: RouteRequest<R>,
  reply: FastifyReply,
) => ResponseOf<R> | FastifyReply | Promise<ResponseOf<R> | FastifyReply>;

/** The hooks and limits a route may add (never its method, path or schema). */
export type HandleOptions = Pick<
  RouteShorthandOptions,
  'preHandler' | 'preValidation' | 'onRequest' | 'bodyLimit' | 'attachValidation'
>;

export function handle<R extends Route>(
  app: FastifyInstance,
  r: R,
  opts: HandleOptions,
  handler: RouteHandler<R>,
): void {
  app.route({
    method: r.method,
    url: r.path,
    schema: r.schema,
    ...opts,
    handler: handler as unknown as RouteHandlerMethod,
  });
}

/** A preValidation hook: a route whose body has only optional fields takes an absent body as `{}`. */
export const emptyBody = async (req: { body: unknown }): Promise<void> => {
  if (req.body === undefined || req.body === null) req.body = {};
};
