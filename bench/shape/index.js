// The shape of our worker with none of its work: a benchmark fixture of
// `cargo xtask bench` (bench/README.md), not a product. Like ours, the
// client's files are served as assets in front of the worker, and every API
// call makes one round trip to a Durable Object of its agent, which adds the
// token and calls the upstream. No checks, no budget, no ledger, no
// learning: what the runtime charges for the shape itself.
export class Agent {
  constructor(state, env) {
    this.env = env;
  }

  async fetch(request) {
    const url = new URL(request.url);
    // TOKEN_HEADER: the API's token header, passed in by `cargo xtask bench`.
    const headers = { [this.env.TOKEN_HEADER]: this.env.CLAW_TOKEN };
    const type = request.headers.get("Content-Type");
    if (type) headers["Content-Type"] = type;
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    return fetch(this.env.UPSTREAM_URL + url.pathname.replace(/^\/api/, "") + url.search, {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
    });
  }
}

export default {
  async fetch(request, env) {
    return env.AGENT.get(env.AGENT.idFromName("default")).fetch(request);
  },
};
