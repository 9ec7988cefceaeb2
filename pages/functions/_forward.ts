// The one thing the Pages Functions do: hand the request, unchanged (method, headers, cookies, body),
// to the Worker behind the API service binding and return its answer as is.
export interface PagesEnv {
  API: Fetcher;
}

export const forward: PagesFunction<PagesEnv> = (ctx) => ctx.env.API.fetch(ctx.request);
