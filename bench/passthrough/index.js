// A bare pass-through worker: what a user would write instead of ours. A
// benchmark fixture of `cargo xtask bench` (bench/README.md), not a product.
// It copies method, path + query, body and Content-Type to UPSTREAM_URL
// (the API base ending in /api; the request's own /api prefix is dropped)
// and adds the token (in the header named by TOKEN_HEADER). No checks, no
// limits.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    // TOKEN_HEADER: the API's token header, passed in by `cargo xtask bench`.
    const headers = { [env.TOKEN_HEADER]: env.CLAW_TOKEN };
    const type = request.headers.get("Content-Type");
    if (type) headers["Content-Type"] = type;
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    return fetch(env.UPSTREAM_URL + url.pathname.replace(/^\/api/, "") + url.search, {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
    });
  },
};
