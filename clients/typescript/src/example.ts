/**
 * What a front end does with both Passerelles services, typed end to end by the types generated
 * from their OpenAPI documents (`make typescript-client` writes them to `./generated/`):
 * list a directory page by page, read one actor, ask the matching service whom it could work
 * with and why, load the cooperation graph into graphology, and turn a refused request into the
 * fields and reasons its problem+json names.
 *
 * The calls go through openapi-fetch: paths, parameters, bodies and answers are all checked by
 * `tsc --strict`, so an API change that breaks this code fails the test suite.
 */
import createClient from "openapi-fetch";

import type { components as Matching, paths as MatchingPaths } from "./generated/matching";
import type { components as Registry, paths as RegistryPaths } from "./generated/registry";

export type Actor = Registry["schemas"]["ActorRead"];
export type ActorKind = Registry["schemas"]["ActorKind"];
export type Problem = Registry["schemas"]["ProblemDetail"];
export type Suggestion = Matching["schemas"]["SuggestionRead"];
/** graphology's serialisation of the graph: `new Graph().import(graph)`, then Sigma.js. */
export type SigmaGraph = Matching["schemas"]["GraphologyGraph"];
export type CytoscapeGraph = Matching["schemas"]["CytoscapeGraph"];

/** A refused request: the RFC 9457 problem both services answer with. */
export class ApiProblem extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.problem = problem;
  }

  /** Each offending field and why, e.g. `country: 'XX' is not an ISO 3166-1 alpha-2 code`. */
  get fields(): string[] {
    return (this.problem.errors ?? []).map((error) => `${error.field}: ${error.reason}`);
  }

  /** Seconds to wait before retrying a 429 or a 503, when the service said. */
  get retryAfter(): number | undefined {
    const value = this.problem["retry_after"];
    return typeof value === "number" ? value : undefined;
  }
}

export interface Options {
  registryUrl?: string;
  matchingUrl?: string;
  /** An API key (`pss_…`); reading public data needs none. */
  key?: string;
}

export function connect({
  registryUrl = "http://127.0.0.1:8000",
  matchingUrl = "http://127.0.0.1:8001",
  key,
}: Options = {}) {
  const headers: Record<string, string> =
    key === undefined ? {} : { Authorization: `Bearer ${key}` };
  return {
    registry: createClient<RegistryPaths>({ baseUrl: registryUrl, headers }),
    matching: createClient<MatchingPaths>({ baseUrl: matchingUrl, headers }),
  };
}

export type Api = ReturnType<typeof connect>;

/** Every actor of these kinds working in `country`, page after page until `next_cursor` is null. */
export async function* actorsWorkingIn(
  api: Api,
  country: string,
  kinds: ActorKind[],
): AsyncGenerator<Actor> {
  let cursor: string | null | undefined;
  do {
    const { data, error } = await api.registry.GET("/v1/actors", {
      params: { query: { intervention_country: [country], kind: kinds, limit: 200, cursor } },
    });
    if (error !== undefined) throw new ApiProblem(error);
    yield* data.items;
    cursor = data.next_cursor;
  } while (cursor);
}

export async function readActor(api: Api, actorId: string): Promise<Actor> {
  const { data, error } = await api.registry.GET("/v1/actors/{actor_id}", {
    params: { path: { actor_id: actorId } },
  });
  if (error !== undefined) throw new ApiProblem(error);
  return data;
}

/** Partners the matching service suggests to `actor` on `theme`, best first. */
export async function suggestedPartners(
  api: Api,
  actor: Actor,
  theme?: string,
): Promise<Suggestion[]> {
  const { data, error } = await api.matching.GET("/v1/actors/{actor_id}/suggestions", {
    params: { path: { actor_id: actor.id }, query: { theme: theme ?? null, limit: 10 } },
  });
  if (error !== undefined) throw new ApiProblem(error);
  return data.items;
}

/** One line per suggestion: who, the score, and every reason with what it weighs. */
export function explain(suggestion: Suggestion): string {
  const weigh = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
  const reasons = suggestion.reasons
    .map((reason) => `${reason.text} (${weigh(reason.contribution)})`)
    .join("; ");
  const { name, country } = suggestion.actor;
  return `${name} (${country}) ${suggestion.score.toFixed(2)}: ${reasons}`;
}

/** The actors within two ties of `center`, as graphology's serialisation for Sigma.js. */
export async function sigmaGraph(api: Api, center: string): Promise<SigmaGraph> {
  const { data, error } = await api.matching.GET("/v1/graph", {
    params: { query: { center, depth: 2, format: "sigma" } },
  });
  if (error !== undefined) throw new ApiProblem(error);
  // The route answers GraphML text or one of three JSON shapes, the one `format` asks for;
  // `options` is graphology's alone.
  if (typeof data === "string" || !("options" in data)) {
    throw new Error("expected graphology's serialisation");
  }
  return data;
}

/** Cytoscape.js elements placed on a map: `cytoscape({elements, layout: {name: "preset"}})`. */
export async function cytoscapeElements(api: Api): Promise<CytoscapeGraph["elements"]> {
  const { data, error } = await api.matching.GET("/v1/graph", {
    params: { query: { format: "cytoscape" } },
  });
  if (error !== undefined) throw new ApiProblem(error);
  if (typeof data === "string" || !("elements" in data)) {
    throw new Error("expected Cytoscape.js elements JSON");
  }
  return data.elements;
}

/** The walk-through: Mali's associations, the first one's suggested partners, its graph. */
export async function main(api: Api = connect()): Promise<void> {
  const associations: Actor[] = [];
  for await (const actor of actorsWorkingIn(api, "ML", ["association", "migrant_organisation"])) {
    associations.push(actor);
  }
  console.log(`${associations.length} associations and migrant organisations work in Mali`);
  const first = associations[0];
  if (first === undefined) return;
  const actor = await readActor(api, first.id);
  for (const suggestion of await suggestedPartners(api, actor, actor.themes[0])) {
    console.log(explain(suggestion));
  }
  const graph = await sigmaGraph(api, actor.id);
  const labels = new Map(graph.nodes.map((node) => [node.key, node.attributes.label]));
  for (const { source, target, attributes } of graph.edges) {
    console.log(`${labels.get(source)} — ${labels.get(target)}: ${attributes.types.join(", ")}`);
  }
  try {
    await actorsWorkingIn(api, "XX", ["association"]).next();
  } catch (refused) {
    if (!(refused instanceof ApiProblem)) throw refused;
    // 422: the problem names the field (`intervention_country.0`) and why.
    console.log(refused.problem.status, refused.fields.join("\n"));
  }
}
